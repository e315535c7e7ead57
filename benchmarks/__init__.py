"""Benchmarks that print their figures: `python -m benchmarks` (or `make bench`)."""
