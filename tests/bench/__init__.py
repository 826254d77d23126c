"""`make bench`: what CQRS buys, measured side by side with what a plain CRUD app would do.

Run with `python -m config.devservices throwaway -- python -m tests.bench [--scale small|full]`.
Nothing here is a pytest test (no test_*.py files).
"""
