"""Synthetic census data for the demo, tests and benchmarks (not on the production path)."""
