"""The NLU benchmark's parts; bench/nlu_bench.py runs them."""
