"""Django's PostgreSQL backend, with a health check that costs no round trip and timestamps
parsed in C (see base.py)."""
