"""Scenario 2: projection throughput over a backlog, against a naive projector, and the fixed
cost of a pass."""

from __future__ import annotations

import statistics
import time

from tests.bench.common import ms, pct, truncate_summaries


def _backlog_start(count):
    from django.db import connection

    from core.eventlog import ORIGIN, Position

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.txid::text, e.id FROM readmodels_domainevent e "
            "ORDER BY e.txid DESC, e.id DESC OFFSET %s LIMIT 1",
            [count],
        )
        row = cursor.fetchone()
    return ORIGIN if row is None else Position(int(row[0]), row[1])


def _set_checkpoints(position):
    from readmodels import checkpoints, engine
    from readmodels.models import ProjectionCheckpoint

    checkpoints.ensure(p.name for p in engine.get_projections())
    ProjectionCheckpoint.objects.filter(name__in=[p.name for p in engine.get_projections()]).update(
        txid=position.txid, event_id=position.event_id
    )


def naive_drift(projection) -> int:
    """Rows the naive projector wrote that differ from a fresh set-based recompute.
    (rebuild.verify would also count the rows its slice of events never reached.)"""
    from django.db import connection, transaction

    (key,) = projection.keys
    compared = projection.compared_columns
    scratch = f"bench_naive_{projection.name}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {scratch} (LIKE {projection.table} INCLUDING INDEXES) "
            "ON COMMIT DROP"
        )
        projection.recompute(into=scratch)
        cursor.execute(
            f"""SELECT COUNT(*) FROM {projection.table} live
            LEFT JOIN {scratch} fresh ON fresh.{key} = live.{key}
            WHERE ({", ".join(f"live.{c}" for c in compared)})
                  IS DISTINCT FROM ({", ".join(f"fresh.{c}" for c in compared)})"""
        )
        return cursor.fetchone()[0]


def scenario_projection(results, backlog, naive_count, check_naive):
    from readmodels import engine
    from readmodels.log import positions_after
    from readmodels.models import DomainEvent
    from tests.bench import baseline

    backlog = min(backlog, DomainEvent.objects.count())
    start_position = _backlog_start(backlog)
    truncate_summaries()
    _set_checkpoints(start_position)
    start = time.perf_counter()
    applied = engine.run_all()
    seconds = time.perf_counter() - start
    rate = backlog / seconds
    if any(count != backlog for count in applied.values()):
        results.problem(f"projected {applied}, expected {backlog} each")

    truncate_summaries()
    ids = [p.event_id for p in positions_after(start_position, limit=naive_count)]
    events = list(DomainEvent.objects.filter(pk__in=ids).order_by("txid", "id"))
    start = time.perf_counter()
    for event in events:
        baseline.naive_apply(event)
    naive_seconds = time.perf_counter() - start
    naive_rate = len(events) / naive_seconds
    if check_naive:  # the naive rows must equal the real projector's (missing rows aside)
        for projection in engine.get_projections():
            if projection.trigger_uri not in baseline.NAIVE_TRIGGERS:
                continue  # a table the naive projector does not keep
            wrong = naive_drift(projection)
            if wrong:
                results.problem(f"naive projector drift in {projection.name}: {wrong}")
    ratio = rate / naive_rate
    results.add(
        "2 projection",
        "backlog through all projections, one worker",
        rate,
        "events/s",
        naive_rate,
        ratio=round(ratio, 1),
        target="≥ 5,000 events/s and ≥ 10× naive",
        met=rate >= 5000 and ratio >= 10,
        details={
            "events": backlog,
            "seconds": seconds,
            "naive_events": len(events),
            "naive_seconds": naive_seconds,
        },
    )
    engine.run_all()
    names = [p.name for p in engine.get_projections()]
    passes, naive_passes = [], []
    for _ in range(200):  # in turn, so drift on a shared machine hits both sides
        start = time.perf_counter()
        engine.run_all()
        passes.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline.naive_pass(names)
        naive_passes.append(time.perf_counter() - start)
    fixed, naive_fixed = statistics.median(passes), statistics.median(naive_passes)
    results.add(
        "2 projection",
        "fixed cost of a pass over every projection, p50",
        ms(fixed),
        "ms",
        ms(naive_fixed),
        ratio=round(naive_fixed / fixed, 1),
        target="≥ 5× cheaper than a poll per projection",
        met=naive_fixed / fixed >= 5,
        details={"p99_ms": ms(pct(passes, 0.99)), "passes": len(passes)},
    )
