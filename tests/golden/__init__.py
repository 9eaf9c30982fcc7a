"""Hand-typed official numbers that the tests hold the shipped standards files against."""
