"""Reference data as tables: code lists, the county registry, standards and alert rules."""
