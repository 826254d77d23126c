"""The read side's metrics.

Counters of what the projection runners did (events, batches, batch time, failures) are kept by
the worker processes that run them, through the two hooks the engine calls: `apply_batch` and
`event_failed`. How far behind each projection is, its dead letters, its heartbeat and the
transaction holding the horizon are facts of the database: `readmodels.gauges` reads them when
/metrics is scraped, so they are true whichever process answers and however many workers run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import connection
from prometheus_client import Counter, Histogram

from core.eventlog import Position
from readmodels.models import DomainEvent

log = logging.getLogger("shop.projections")

# A backlog batch holds thousands of events: its log line names the correlation ids of the
# first ones only.
LOGGED_EVENTS = 100

EVENTS_APPLIED = Counter(
    "shop_projection_events_applied_total",
    "Events a projection got past: applied, or dead-lettered after their last attempt.",
    ["projection"],
)
BATCHES = Counter("shop_projection_batches_total", "Batches a projection ran.", ["projection"])
BATCH_SECONDS = Histogram(
    "shop_projection_batch_duration_seconds",
    "How long a projection took to apply one batch (failed parts and retries included).",
    ["projection"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
FAILURES = Counter(
    "shop_projection_failures_total",
    "Times a projector failed to apply an event (each attempt counts).",
    ["projection"],
)


def apply_batch(
    projection, batch: list[Position], *, apply: Callable
) -> tuple[list[Position], Exception | None]:
    """Run `apply(projection, batch)` (which returns the handled positions and the failure, if
    any), count and time it, and log which requests' events it applied."""
    started = time.perf_counter()
    handled, failure = apply(projection, batch)
    batches_applied({projection.name: handled}, time.perf_counter() - started)
    return handled, failure


def batches_applied(handled: dict[str, list[Position]], seconds: float) -> None:
    """Count and log the batches that projections applied in `seconds`. Batches applied
    together, in one statement, are each timed with the whole of it."""
    logged = log.isEnabledFor(logging.INFO)
    correlation_ids = (
        _correlation_ids({p for events in handled.values() for p in events[:LOGGED_EVENTS]})
        if logged
        else {}
    )
    for name, events in handled.items():
        EVENTS_APPLIED.labels(name).inc(len(events))
        BATCHES.labels(name).inc()
        BATCH_SECONDS.labels(name).observe(seconds)
        if not (events and logged):
            continue
        first = events[:LOGGED_EVENTS]
        ids = sorted({correlation_ids[p.event_id] for p in first if p.event_id in correlation_ids})
        log.info(
            "%s applied %s events up to %s in %.1f ms; correlation ids: %s%s",
            name,
            len(events),
            events[-1],
            seconds * 1000,
            ", ".join(ids),
            f" (of the first {LOGGED_EVENTS} events)" if len(events) > LOGGED_EVENTS else "",
            extra={
                "projection": name,
                "events": len(events),
                "position": str(events[-1]),
                "duration_ms": round(seconds * 1000, 2),
                "correlation_ids": ids,
            },
        )


def _correlation_ids(positions: set[Position]) -> dict[int, str]:
    """The correlation id of each of these events that has one, by event id."""
    if not positions:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, metadata->>'correlation_id' FROM {DomainEvent._meta.db_table}
            WHERE id = ANY(%s) AND metadata->>'correlation_id' IS NOT NULL
            """,
            [[position.event_id for position in positions]],
        )
        return dict(cursor.fetchall())


def event_failed(projection_name: str) -> None:
    FAILURES.labels(projection_name).inc()
