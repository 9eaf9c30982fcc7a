"""junheng: census extracts to county balance coefficients (Dagster + DuckDB)."""
