"""Scenario 3: projecting new orders incrementally, against a REFRESH of materialized views."""

from __future__ import annotations

import time

from tests.bench.common import ms, purge_queue
from tests.bench.pool import timed_client


def scenario_incremental(results, pool, count):
    from django.db import connection

    from readmodels import engine
    from tests.bench import baseline

    engine.run_all()
    baseline.create_materialized_views()
    start = time.time() + 0.5
    placed = sum(
        len(orders)
        for orders in pool.map(timed_client, [(i, 8, 1e9, count, start, 100 + i) for i in range(8)])
    )
    purge_queue()
    t0 = time.perf_counter()
    for name in ("order_summary", "product_summary"):
        engine.run_projection(engine.get_projections([name])[0])
    incremental = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for name in baseline.MATERIALIZED_VIEWS:
            cursor.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}")
    full = time.perf_counter() - t0
    drift = baseline.materialized_view_drift()
    if drift:
        results.problem(f"materialized views differ from the summary tables in {drift} rows")
    ratio = full / incremental
    results.add(
        "3 incremental",
        f"project {placed} new orders (order+product summaries)",
        ms(incremental),
        "ms",
        ms(full),
        ratio=round(ratio, 1),
        target="≥ 20× cheaper than REFRESH … CONCURRENTLY",
        met=ratio >= 20,
        details={"new_orders": placed, "mv_drift_rows": drift},
    )
    engine.run_all()
