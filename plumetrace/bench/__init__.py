"""Benchmarks shipped with the package (``plumetrace bench``)."""
