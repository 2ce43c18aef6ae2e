"""Benchmarks, run by hand (`make bench`); results are quoted in the README."""
