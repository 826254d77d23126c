"""What every scenario of the bench shares: Django set-up, the results table, percentiles, and
resetting the read side, the queue, the worker and the server between scenarios."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


SETTINGS = "tests.bench.settings"


def setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def ms(seconds):
    return round(seconds * 1000, 3)


class Results:
    def __init__(self, scale, size):
        self.rows, self.scale, self.size, self.problems = [], scale, size, []

    def add(
        self,
        scenario,
        figure,
        value,
        unit,
        baseline=None,
        *,
        ratio=None,
        target=None,
        met=None,
        details=None,
    ):
        self.rows.append(
            {
                "scenario": scenario,
                "figure": figure,
                "value": value,
                "unit": unit,
                "baseline": baseline,
                "ratio": ratio,
                "target": target,
                "met": met,
                "data_size": self.size,
                "details": details or {},
            }
        )
        against = "" if baseline is None else f" (baseline {fmt(baseline)}, {ratio}×)"
        verdict = "" if met is None else (" met" if met else f" MISSED {target}")
        print(f"  {scenario} · {figure}: {fmt(value)} {unit}{against}{verdict}", flush=True)

    def problem(self, text):
        self.problems.append(text)
        print(f"  PROBLEM: {text}", flush=True)


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def summary_rows() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        total = 0
        for table in (
            "productsummary",
            "ordersummary",
            "customersummary",
            "dailysales",
            "categorysummary",
        ):
            cursor.execute(f"SELECT COUNT(*) FROM readmodels_{table}")
            total += cursor.fetchone()[0]
    return total


def truncate_summaries() -> None:
    import pgtrigger
    from django.db import connection

    from readmodels.models import TRUNCATE_GUARDS

    with pgtrigger.ignore(*TRUNCATE_GUARDS), connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE readmodels_productsummary, readmodels_productsearchdocument, "
            "readmodels_ordersummary, readmodels_customersummary, readmodels_dailysales, "
            "readmodels_categorysummary"
        )


def purge_queue() -> None:
    import redis
    from django.conf import settings

    from core.failopen import redis_client_url

    redis.Redis.from_url(redis_client_url(settings.CELERY_BROKER_URL, db=0)).delete("celery")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def start_worker(env):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    wait_for_worker(process)
    return process


def wait_for_worker(worker: subprocess.Popen) -> None:
    """Until the worker has run projections once: nothing may be timed before it does."""
    from readmodels.models import ProjectionCheckpoint
    from readmodels.tasks import run_projections

    before = ProjectionCheckpoint.objects.get(name="order_summary").last_run_at
    run_projections.delay()
    deadline = time.time() + 60
    while ProjectionCheckpoint.objects.get(name="order_summary").last_run_at == before:
        if time.time() > deadline or worker.poll() is not None:
            raise RuntimeError("the Celery worker did not start")
        time.sleep(0.1)
