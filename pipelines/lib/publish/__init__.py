"""The read-only snapshot for analysts, its Parquet export and the data-quality suites."""
