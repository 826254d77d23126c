"""Scenario 5 (and 8's hot product): commit → visible on the read side under load, with a real
Celery worker."""

from __future__ import annotations

import threading
import time

from tests.bench.common import ms, pct, purge_queue, start_worker
from tests.bench.pool import timed_client


def scenario_lag(results, pool, env, seconds, *, hot=None, rates=((50, 0.3), (200, None))):
    from django.db import connection

    from readmodels import engine
    from readmodels.models import ProjectionCheckpoint

    engine.run_all()
    purge_queue()
    worker = start_worker(env)
    scenario, extra = ("5 lag", ()) if hot is None else ("8 growth", (hot,))
    try:
        for rate, target in rates:
            count = int(rate * seconds)
            samples, stop = [], threading.Event()

            def poll(samples=samples, stop=stop):
                while not stop.is_set():
                    row = ProjectionCheckpoint.objects.filter(name="order_summary").values_list(
                        "txid", "event_id"
                    )[0]
                    samples.append((time.time(), (int(row[0]), row[1])))
                    time.sleep(0.005)
                connection.close()

            poller = threading.Thread(target=poll)
            poller.start()
            start = time.time() + 1.0
            orders = [
                o
                for part in pool.map(
                    timed_client,
                    [(i, 8, rate, count, start, rate + i, *extra) for i in range(8)],
                )
                for o in part
            ]
            end = time.time()
            deadline = end + 60
            while samples[-1][1] < max(o[2] for o in orders) and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.05)
            stop.set()
            poller.join()
            lags = []
            for _, committed, token in orders:
                seen = next((t for t, position in samples if position >= token), None)
                if seen is not None:
                    lags.append(max(0.0, seen - committed))
            achieved = len(orders) / max(1e-9, max(o[1] for o in orders) - start)
            p99 = pct(lags, 0.99)
            label = "" if hot is None else ", the hot product in each (grown history)"
            results.add(
                scenario,
                f"commit → OrderSummary visible at {rate} orders/s{label}, p99",
                ms(p99),
                "ms",
                target="≤ 300 ms p99" if target else None,
                met=(p99 <= target) if target else None,
                details={
                    "p50_ms": ms(pct(lags, 0.5)),
                    "p95_ms": ms(pct(lags, 0.95)),
                    "p99_ms": ms(p99),
                    "orders": len(orders),
                    "never_seen": len(orders) - len(lags),
                    "achieved_rate": round(achieved, 1),
                    "seconds": seconds,
                    "poll_ms": 5,
                },
            )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
