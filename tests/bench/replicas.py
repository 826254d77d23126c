"""Read replicas (issue 14): the HTTP catalog read under 8 concurrent clients against the
primary only, then against primary + 1 streaming replica, both on this machine, each served by
gunicorn as in scenario 7. The figure to watch is the share of the summary-table reads the
replica took (≥ 95%). Then the latency a token-waiting read (`?after=TOKEN&wait=`) adds on a
replica with 0 lag over the same read on the primary (≤ 2 ms p50).

The share is counted by Postgres itself: scans of the product summary table on each server
(pg_stat_user_tables; a hot standby counts the reads it serves), read once gunicorn has
stopped and its sessions have flushed their counters.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from tests.bench.common import BASE_DIR, free_port, http_get

CONCURRENCY = 8
SCANS = """
    SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables
    WHERE relname = 'readmodels_productsummary'
"""


def _connect(url: str) -> psycopg.Connection:
    import dj_database_url

    config = dj_database_url.parse(url)
    return psycopg.connect(
        host=config["HOST"], port=config["PORT"] or None, user=config["USER"],
        password=config["PASSWORD"] or None, dbname=config["NAME"], autocommit=True,
    )  # fmt: skip


def _scans(url: str) -> int:
    with _connect(url) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute(SCANS).fetchone()[0]


def _caught_up(primary_url: str, replica_url: str, timeout: float = 120) -> None:
    with _connect(primary_url) as primary:
        written = primary.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
    deadline = time.time() + timeout
    with _connect(replica_url) as replica:
        while not replica.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [written]
        ).fetchone()[0]:
            if time.time() > deadline:
                raise RuntimeError("the replica did not catch up")
            time.sleep(0.05)


def _serve(env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--log-level", "warning"],
        cwd=BASE_DIR, env=env,
    )  # fmt: skip
    deadline = time.time() + 60
    while True:
        try:
            http_get(port, "/healthz/live")
            return server, port
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.2)


def _load(env: dict, port: int, requests: int, concurrency: int, paths: list[str]) -> dict:
    http_get(port, paths[0])  # each process's first request pays its imports, not the figures
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.loadgen", str(port), str(requests), str(concurrency),
         *paths],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def _run(env: dict, requests: int, catalog: list[str], waiting: list[str]) -> dict:
    """The catalog load, then the token-waiting reads one at a time, on one gunicorn."""
    server, port = _serve(env)
    try:
        load = _load(env, port, requests, CONCURRENCY, catalog)
        token = _load(env, port, requests, 1, waiting)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"load": load, "token": token}


def scenario_replicas(results, env: dict, *, requests: int) -> None:
    from catalog.models import Category
    from config.devservices import embedded_replica
    from core.eventlog import position_of
    from readmodels.models import DomainEvent, ProductSummary

    slugs = list(Category.objects.values_list("slug", flat=True))
    skus = list(ProductSummary.objects.order_by("product_id").values_list("sku", flat=True)[:20])
    # A token every projection has passed: the replica, caught up, has passed it too.
    token = position_of(DomainEvent.objects.order_by("-txid", "-id").first())
    catalog = [f"/api/products/?category={s}&ordering=-units_sold" for s in slugs]
    waiting = [f"/api/products/{sku}/?after={token}&wait=1000" for sku in skus]
    primary_url = env["DATABASE_URL"]
    folder = Path(tempfile.mkdtemp(prefix="bench-replica-", dir="/tmp"))  # short: a socket
    with embedded_replica(primary_url, folder) as replica:
        _caught_up(primary_url, replica.url)
        runs, shares = {}, {}
        for name, extra in (("primary", {}), ("replica", {"DATABASE_REPLICA_URLS": replica.url})):
            before = _scans(primary_url), _scans(replica.url)
            runs[name] = _run({**env, **extra}, requests, catalog, waiting)
            on_primary = _scans(primary_url) - before[0]
            on_replica = _scans(replica.url) - before[1]
            shares[name] = on_replica / max(1, on_primary + on_replica)
            for part in ("load", "token"):
                if set(runs[name][part]["statuses"]) != {"200"}:
                    results.problem(f"replicas {name} {part}: {runs[name][part]['statuses']}")
    shutil.rmtree(folder, ignore_errors=True)
    primary, replicated = runs["primary"]["load"], runs["replica"]["load"]
    label = f"GET /api/products/?category, {CONCURRENCY} clients"
    results.add("10 replicas", f"{label}, primary only, req/s", round(primary["rps"], 1), "req/s",
                details={"p99_ms": round(primary["p99_ms"], 2),
                         "p50_ms": round(primary["p50_ms"], 2), "requests": requests})  # fmt: skip
    results.add("10 replicas", f"{label}, primary + 1 replica, req/s",
                round(replicated["rps"], 1), "req/s", round(primary["rps"], 1),
                ratio=round(replicated["rps"] / primary["rps"], 2),
                details={"p99_ms": round(replicated["p99_ms"], 2),
                         "p50_ms": round(replicated["p50_ms"], 2),
                         "primary_only_p99_ms": round(primary["p99_ms"], 2),
                         "requests": requests})  # fmt: skip
    results.add("10 replicas", f"{label}, primary only, p99", round(primary["p99_ms"], 2), "ms")
    results.add("10 replicas", f"{label}, primary + 1 replica, p99",
                round(replicated["p99_ms"], 2), "ms", round(primary["p99_ms"], 2))  # fmt: skip
    share = shares["replica"]
    results.add("10 replicas", "share of the catalog's summary reads served by the replica",
                round(share * 100, 1), "%", target="≥ 95%", met=share >= 0.95,
                details={"primary_only_run_share": round(shares["primary"] * 100, 1)})  # fmt: skip
    on_primary, on_replica = runs["primary"]["token"], runs["replica"]["token"]
    added = on_replica["p50_ms"] - on_primary["p50_ms"]
    results.add("10 replicas", "token-waiting read (?after=&wait=), replica at 0 lag, added p50",
                round(added, 3), "ms", target="≤ 2 ms p50", met=added <= 2,
                details={"replica_p50_ms": round(on_replica["p50_ms"], 3),
                         "primary_p50_ms": round(on_primary["p50_ms"], 3),
                         "replica_p99_ms": round(on_replica["p99_ms"], 3),
                         "primary_p99_ms": round(on_primary["p99_ms"], 3),
                         "requests": requests})  # fmt: skip
