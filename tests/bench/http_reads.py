"""Scenario 7: reads over HTTP (the API and the catalog page) against the baseline view, served
by gunicorn."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.bench.common import BASE_DIR, free_port, http_get


def scenario_http(results, env, requests):
    from catalog.models import Category

    slugs = list(Category.objects.values_list("slug", flat=True))
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                http_get(port, "/api/products/")
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        api = [f"/api/products/?category={s}&ordering=-units_sold" for s in slugs]
        base = [f"/bench/baseline/products/?category={s}" for s in slugs]
        page = [f"/?category={s}" for s in slugs]
        for a, b in zip(api[:10], base[:10], strict=True):
            status_a, body_a = http_get(port, a)
            status_b, body_b = http_get(port, b)
            expected = json.loads(body_b)
            served = [
                {k: row.get(k) for k in (expected[0] if expected else {})}
                for row in json.loads(body_a)["results"]
            ]
            if status_a != 200 or status_b != 200 or served != expected:
                results.problem(f"API {a} differs from the baseline view {b}")
                break
        runs = {}
        for name, paths in (("baseline", base), ("api", api), ("page", page)):
            http_get(port, paths[0])
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.bench.loadgen",
                    str(port),
                    str(requests),
                    "8",
                    *paths,
                ],
                cwd=BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[name] = json.loads(out.stdout)
            if set(runs[name]["statuses"]) != {"200"}:
                results.problem(f"HTTP {name}: statuses {runs[name]['statuses']}")
        b = runs["baseline"]
        for name, label in (
            ("api", "GET /api/products/?category&ordering=-units_sold"),
            ("page", "GET /?category (catalog page)"),
        ):
            r = runs[name]
            results.add(
                "7 http",
                f"{label} req/s",
                round(r["rps"], 1),
                "req/s",
                round(b["rps"], 1),
                ratio=round(r["rps"] / b["rps"], 1),
                details={
                    "p99_ms": round(r["p99_ms"], 2),
                    "baseline_p99_ms": round(b["p99_ms"], 2),
                    "p50_ms": round(r["p50_ms"], 2),
                    "baseline_p50_ms": round(b["p50_ms"], 2),
                    "requests": requests,
                    "concurrency": 8,
                    "gunicorn_workers": 2,
                },
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
