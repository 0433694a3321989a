"""What `make run`, the tests and the benchmarks share to run memberdesk's own processes.

Standard library and httpx only, so that both virtual environments can import it.
"""
