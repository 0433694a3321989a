"""The serving benchmark's parts; bench/serving_bench.py runs them."""
