"""The read side's gauges, read from the database when /metrics is scraped: how far behind each
projection is, its dead letters, its heartbeat, the transaction holding the horizon, and whether
Redis answers. (The runners' own counters are readmodels.metrics, which the engine calls.)"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from readmodels import tasks
from readmodels.models import DeadLetter
from readmodels.status import projection_status

log = logging.getLogger("shop.projections")


class ReadSideCollector:
    @staticmethod
    def _redis_up() -> GaugeMetricFamily:
        # Requests and commands go on without Redis (throttles and wake-ups fail open), so an
        # outage would go unseen without this: projections then wait for the beat sweep.
        redis_up = GaugeMetricFamily(
            "shop_redis_up", "Does the Redis of the wake-ups and rate limits answer?"
        )
        try:
            tasks._redis().ping()
        except Exception:
            redis_up.add_metric([], 0)
        else:
            redis_up.add_metric([], 1)
        return redis_up

    """Gauges read from the database at scrape time. With the database down it says so
    (shop_database_up 0) instead of failing the scrape."""

    def collect(self):
        up = GaugeMetricFamily("shop_database_up", "Could /metrics read the database?")
        try:
            statuses, holders = projection_status()
            letters = self._dead_letters()
        except DatabaseError:
            log.exception("metrics: the database could not be read")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield self._redis_up()
        yield from self._projections(statuses, letters)
        holder = GaugeMetricFamily(
            "shop_horizon_holder_age_seconds",
            "Age of the oldest open transaction holding the projections' horizon back (0: none).",
        )
        holder.add_metric([], max((h.seconds for h in holders), default=0.0))
        yield holder

    @staticmethod
    def _dead_letters() -> dict[tuple[str, str], int]:
        rows = DeadLetter.objects.values_list("projection", "status").annotate(n=Count("id"))
        return {(projection, status): n for projection, status, n in rows.order_by()}

    @staticmethod
    def _projections(statuses, letters):
        behind = GaugeMetricFamily(
            "shop_projection_events_behind",
            "Committed events a projection has not applied yet.",
            labels=["projection"],
        )
        seconds = GaugeMetricFamily(
            "shop_projection_seconds_behind",
            "Age of the oldest event a projection has not applied yet (0 when caught up).",
            labels=["projection"],
        )
        heartbeat = GaugeMetricFamily(
            "shop_projection_seconds_since_last_run",
            "Seconds since a runner last looked at this projection (+Inf: never).",
            labels=["projection"],
        )
        dead = GaugeMetricFamily(
            "shop_projection_dead_letters",
            "Dead letters by projection and status (retrying, dead, resolved).",
            labels=["projection", "status"],
        )
        now = timezone.now()
        for status in statuses:
            behind.add_metric([status.name], status.events_behind)
            seconds.add_metric([status.name], status.seconds_behind)
            last_run = status.last_run_at
            heartbeat.add_metric(
                [status.name],
                float("inf") if last_run is None else (now - last_run).total_seconds(),
            )
            for letter_status in DeadLetter.Status.values:
                dead.add_metric(
                    [status.name, letter_status], letters.get((status.name, letter_status), 0)
                )
        yield from (behind, seconds, heartbeat, dead)
