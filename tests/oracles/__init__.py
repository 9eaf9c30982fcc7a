"""Plain-Python statements of what the SQL computes, for the tests to check it against."""
