"""Benchmarks: each writes its results to docs/ (bench/report.py gathers them)."""
