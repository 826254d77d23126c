"""The bench runner: seed, run the scenarios (one module each), print the table, write
bench-results.json."""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import platform
import random
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.common import BASE_DIR, SETTINGS, Results, fmt, purge_queue, setup
from tests.bench.growth import scenario_growth
from tests.bench.http_reads import scenario_http
from tests.bench.http_writes import scenario_http_writes
from tests.bench.incremental import scenario_incremental
from tests.bench.lag import scenario_lag
from tests.bench.pool import pool_candidates, pool_init
from tests.bench.projection import scenario_projection
from tests.bench.reads import scenario_reads
from tests.bench.rebuild import scenario_rebuild
from tests.bench.replicas import scenario_replicas
from tests.bench.write_overhead import drop_orders_without_events, scenario_write

SCALES = {
    # reads: timed calls per read and side; backlog/naive: events; increment: new orders;
    # write/lag seconds per phase; http: requests per endpoint.
    "full": dict(
        reads=200,
        backlog=100_000,
        naive=10_000,
        increment=1000,
        write_s=10,
        lag_s=30,
        http=2000,
        growth=(0, 100_000, 1_000_000),
        growth_orders=300,
        writes_s=5,
        writes_rounds=3,
    ),
    "small": dict(
        reads=30,
        backlog=100_000,
        naive=300,
        increment=100,
        write_s=2,
        lag_s=3,
        http=100,
        growth=(0, 2_000, 20_000),
        growth_orders=100,
        writes_s=1,
        writes_rounds=1,
    ),
}


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "free_g": free.strip(),
        "python": platform.python_version(),
    }


def print_table(results) -> None:
    header = ("scenario", "figure", "value", "baseline", "ratio", "target", "met?")
    rows = [
        (
            r["scenario"],
            r["figure"],
            f"{fmt(r['value'])} {r['unit']}",
            "-" if r["baseline"] is None else fmt(r["baseline"]),
            "-" if r["ratio"] is None else f"{r['ratio']}×",
            r["target"] or "-",
            "-" if r["met"] is None else ("met" if r["met"] else "MISSED"),
        )
        for r in results.rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--scale", choices=list(SCALES), default="full")
    parser.add_argument(
        "--output",
        default=str(BASE_DIR / "bench-results.json"),
        help="where to write the results; empty to write nothing (make test's small run)",
    )
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    setup()
    from django.core.management import call_command
    from django.db import connections

    from tests.bench import seed

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    rng = random.Random(42)
    began = time.perf_counter()
    print(f"bench at scale {args.scale}: migrate, check the seeder, seed", flush=True)
    call_command("migrate", verbosity=0)
    checked = seed.check_against_commands()
    purge_queue()
    plan = seed.scale_plan(args.scale)
    t0 = time.perf_counter()
    counts = seed.seed(plan)
    seed_seconds = time.perf_counter() - t0
    size = {
        **counts,
        "products": len(plan.products),
        "categories": len(plan.categories),
        "customers": len(plan.customers),
    }
    print(f"seeded {size} in {seed_seconds:.1f} s", flush=True)
    results = Results(args.scale, size)
    scenario_rebuild(results)
    scenario_reads(results, scale["reads"], rng)
    scenario_projection(results, scale["backlog"], scale["naive"], args.scale == "small")
    call_command("rebuild_projections", stdout=io.StringIO(), stderr=io.StringIO())
    connections.close_all()
    with multiprocessing.get_context("spawn").Pool(8, initializer=pool_init) as pool:
        scenario_incremental(results, pool, scale["increment"])
        scenario_write(results, pool, scale["write_s"])
        scenario_lag(results, pool, env, scale["lag_s"])
    # The write scenario's baseline placed orders without events: rows only the tables have,
    # which no fold of the log can see. Drop them, and rebuild for the stock they took.
    drop_orders_without_events()
    call_command("rebuild_projections", stdout=io.StringIO(), stderr=io.StringIO())
    scenario_http(results, env, scale["http"])
    scenario_replicas(results, env, requests=scale["http"])
    skus, _ = pool_candidates()
    hot = scenario_growth(
        results, levels=scale["growth"], new_orders=scale["growth_orders"], others=skus
    )
    connections.close_all()
    with multiprocessing.get_context("spawn").Pool(8, initializer=pool_init) as pool:
        scenario_lag(results, pool, env, scale["lag_s"], hot=hot, rates=((50, 0.3),))
    scenario_http_writes(results, env, seconds=scale["writes_s"], rounds=scale["writes_rounds"])
    drop_orders_without_events()  # the plain side's orders, which have no events
    print()
    print_table(results)
    for problem in results.problems:
        print(f"PROBLEM: {problem}")
    output = {
        "scale": args.scale,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "data_size": size,
        "seed_seconds": round(seed_seconds, 2),
        "seeder_check_rows": checked,
        "total_seconds": round(time.perf_counter() - began, 1),
        "problems": results.problems,
        "scenarios": results.rows,
    }
    if args.output:
        Path(args.output).write_text(json.dumps(output, indent=2, default=str))
        print(f"\nwrote {args.output} ({output['total_seconds']} s)")
    return 1 if results.problems else 0
