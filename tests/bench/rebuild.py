"""Scenario 4: rebuild every summary table from the event log."""

from __future__ import annotations

import io
import time

from tests.bench.common import summary_rows


def scenario_rebuild(results):
    from django.core.management import call_command

    start = time.perf_counter()
    call_command("rebuild_projections", stdout=io.StringIO(), stderr=io.StringIO())
    seconds = time.perf_counter() - start
    rows = summary_rows()
    results.add(
        "4 rebuild",
        "rebuild_projections, all tables",
        seconds,
        "s",
        target="≤ 30 s",
        met=seconds <= 30,
        details={"rows": rows},
    )
    results.add("4 rebuild", "rebuild rate", rows / seconds, "rows/s")
