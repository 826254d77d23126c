"""How the web is served everywhere: `make run`, the Dockerfile and docker-compose.yml.

Threaded workers (gthread): a request waiting on Postgres, or on `?wait=` (at most WAIT_SLOTS
per process), holds a thread, not a whole process, so the rest keep being served. Sizing in
docs/operations.md ("Serving").
"""

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
# Keep-alive connections wait in the worker's event loop, not in a thread.
keepalive = 5
timeout = 30
graceful_timeout = 10
accesslog = "-"
# gunicorn's control socket has one default path per user: two servers on a machine (or the
# tests' own) would fight over it, and nothing here uses it.
control_socket_disable = True
reload = os.environ.get("WEB_RELOAD", "").strip().lower() in {"1", "true", "yes", "on"}

if int(os.environ.get("WAIT_SLOTS", "4")) >= threads:
    raise SystemExit(
        "WAIT_SLOTS must stay below WEB_THREADS, or waiting requests can take every thread."
    )
