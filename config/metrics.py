"""Prometheus metrics of the web and worker processes, and the /metrics endpoint.

gunicorn and Celery run several processes, and each one counts only what it did. With
PROMETHEUS_MULTIPROC_DIR set (the dev services set it; a deployment sets it to a directory that
every process of the host shares), prometheus_client keeps each process's counters in files
there and /metrics adds them up, so the totals are true whichever process answers the scrape.
Without it, /metrics shows the answering process's own counters.

Gauges about the read side (lag, dead letters, heartbeat, horizon) are not kept by any process:
they are read from the database when /metrics is scraped (readmodels.gauges).
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from core.metrics import LATENCY_BUCKETS
from readmodels.gauges import ReadSideCollector

REQUESTS = Counter(
    "shop_http_requests_total",
    "HTTP requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "shop_http_request_duration_seconds",
    "HTTP request latency by route pattern and method (GETs of queries, POSTs of commands).",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)


def request_answered(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def _process_registry():
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition() -> bytes:
    """Every metric in Prometheus's text format: the processes' counters and histograms, then
    the read side's gauges, read from the database now."""
    database = CollectorRegistry()
    database.register(ReadSideCollector())
    return generate_latest(_process_registry()) + generate_latest(database)


# --- who may scrape ---


def scrape_allowed(request) -> bool:
    """A scraper is let in by the bearer token METRICS_TOKEN, or by its address being in
    METRICS_ALLOWED_IPS (addresses or networks)."""
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_IPS
    )


def metrics_view(request):
    if not scrape_allowed(request):
        return HttpResponse(
            "Metrics need METRICS_TOKEN as a bearer token, or an address in METRICS_ALLOWED_IPS.\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
