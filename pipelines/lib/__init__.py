"""Plain-Python business logic. Nothing here imports Dagster."""
