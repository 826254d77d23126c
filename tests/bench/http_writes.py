"""HTTP writes: the whole cost of an order, end to end, with the read side running.

gunicorn is started as `make run` starts it (config/gunicorn.conf.py), with the Celery worker
and beat running as in `make run`. Clients, each its own customer with its own token, post
orders of two lines to `POST /api/orders/` (the shop: command, event, idempotency when keyed,
projections) and to a plain DRF create of the same rows (order, lines, stock taken under row
locks) in the same server. Rounds of each are interleaved, so a neighbour's burst on this shared
machine lands on both sides. CPU per order adds up the web, Postgres and worker processes' CPU
times over the rounds. The projection lag is measured in the same rounds, from the answer's
consistency token to the order summary's checkpoint passing it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import psutil

from tests.bench.common import BASE_DIR, free_port, ms, pct, purge_queue, wait_for_worker

CLIENT_PASSWORD = "writes-Passphrase-2026"


def _customers_and_skus(count: int) -> tuple[list[dict], list[str]]:
    """`count` customers with API tokens, and products with room for every order."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from catalog import commands as catalog
    from catalog.models import Category
    from orders import commands as orders

    staff = get_user_model().objects.filter(is_superuser=True).first()
    category = Category.objects.order_by("id").first()
    skus = [f"HTTP-W-{i:02d}" for i in range(16)]
    for sku in skus:
        catalog.create_product(
            actor=staff,
            sku=sku,
            name=f"Write bench {sku}",
            category=category.slug,
            price="4.20",
            stock=100_000_000,
        )
    clients = []
    for i in range(count):
        name = f"writer{i}"
        orders.register_customer(
            username=name,
            email=f"{name}@example.com",
            password=CLIENT_PASSWORD,
            display_name=name.title(),
        )
        user = get_user_model().objects.get(username=name)
        token, _ = Token.objects.get_or_create(user=user)
        clients.append({"token": token.key, "skus": skus[i % 8 :: 8] + skus[(i + 1) % 8 :: 8]})
    return clients, skus


def _postgres_process() -> psutil.Process | None:
    """The embedded Postgres's postmaster (None for a server this bench did not start)."""
    from django.conf import settings

    host = settings.DATABASES["default"].get("HOST", "")
    pid_file = Path(unquote(host)) / "postmaster.pid" if host.startswith("/") else None
    if pid_file is None or not pid_file.exists():
        return None
    return psutil.Process(int(pid_file.read_text().split()[0]))


def _cpu(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    """CPU seconds used so far by each group of processes, their children included (live
    ones, and those that exited and were waited for)."""
    used = {}
    for group, roots in processes.items():
        total = 0.0
        for root in roots:
            try:
                times = root.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
                for child in root.children(recursive=True):
                    try:
                        child_times = child.cpu_times()
                        total += child_times.user + child_times.system
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                pass
        used[group] = total
    return used


def _checkpoint_samples(stop: threading.Event, samples: list) -> None:
    from django.db import connection

    from core.eventlog import Position
    from readmodels.models import ProjectionCheckpoint

    while not stop.is_set():
        txid, event_id = ProjectionCheckpoint.objects.filter(name="order_summary").values_list(
            "txid", "event_id"
        )[0]
        samples.append((time.time(), Position(int(txid), event_id)))
        time.sleep(0.005)
    connection.close()


def _round(port: int, path: str, clients: list[dict], seconds: float, keyed: bool, env) -> dict:
    from tests.helpers import ADDRESS_JSON

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as plan:
        json.dump(
            {
                "port": port,
                "path": path,
                "seconds": seconds,
                "keyed": keyed,
                "clients": clients,
                "shipping_address": ADDRESS_JSON,
            },
            plan,
        )
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.writegen", plan.name],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    Path(plan.name).unlink()
    return json.loads(out.stdout)


def _wait_for_http(port: int, server: subprocess.Popen) -> None:
    import http.client

    deadline = time.time() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz/live")
            conn.getresponse().read()
            return
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.2)


def statements_per_request(client_spec: dict) -> dict[str, int]:
    """SQL statements (BEGIN and COMMIT included) each kind of request runs, in process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from tests.helpers import ADDRESS_JSON

    api = APIClient(HTTP_HOST="127.0.0.1")
    api.credentials(HTTP_AUTHORIZATION=f"Token {client_spec['token']}")
    body = {
        "lines": [{"sku": sku, "quantity": 1} for sku in client_spec["skus"][:2]],
        "shipping_address": ADDRESS_JSON,
    }
    counts = {}

    def count(name, call):
        with CaptureQueriesContext(connection) as queries:
            response = call()
        counts[name] = len(queries.captured_queries)
        return response

    placed = count("POST /api/orders/", lambda: api.post("/api/orders/", body, format="json"))
    count(
        "POST /api/orders/ with Idempotency-Key",
        lambda: api.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="stmt-1"),
    )
    order = placed.json()
    count(
        "POST /api/orders/{id}/pay/",
        lambda: api.post(
            f"/api/orders/{order['id']}/pay/",
            {"amount": order["total"], "payment_reference": "STMT-1"},
            format="json",
        ),
    )
    count("GET /api/products/", lambda: api.get("/api/products/"))
    count("GET /api/orders/{id}/", lambda: api.get(f"/api/orders/{order['id']}/"))
    return counts


def scenario_http_writes(results, env, *, seconds: float, rounds: int) -> None:
    from core.eventlog import Position
    from readmodels import engine

    clients, _ = _customers_and_skus(8)
    engine.run_all()
    purge_queue()
    port = free_port()
    web_env = {**env, "DEBUG": "0", "WEB_BIND": f"127.0.0.1:{port}"}
    from config.devservices import web_command

    beat_schedule = Path(tempfile.mkdtemp()) / "celerybeat-schedule"
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    processes = {
        "web": subprocess.Popen(
            web_command(bind=f"127.0.0.1:{port}"),
            cwd=BASE_DIR,
            env=web_env,
            stdout=subprocess.DEVNULL,
        ),
        "worker": subprocess.Popen(
            [*celery, "worker", "--loglevel=WARNING", "--concurrency=2"], cwd=BASE_DIR, env=env
        ),
        "beat": subprocess.Popen(
            [*celery, "beat", "--loglevel=WARNING", "--schedule", str(beat_schedule)],
            cwd=BASE_DIR,
            env=env,
        ),
    }
    try:
        _wait_for_http(port, processes["web"])
        wait_for_worker(processes["worker"])
        groups = {
            "web": [psutil.Process(processes["web"].pid)],
            "worker": [psutil.Process(processes[name].pid) for name in ("worker", "beat")],
        }
        postgres = _postgres_process()
        if postgres is not None:
            groups["postgres"] = [postgres]
        sides = {
            "shop": ("/api/orders/", False),
            "keyed": ("/api/orders/", True),
            "plain": ("/bench/baseline/orders/", False),
        }
        plans = [(8, ("shop", "plain", "keyed")), (1, ("shop", "plain"))]
        _round(port, "/api/orders/", clients[:2], 1, False, env)  # warm up both sides
        _round(port, "/bench/baseline/orders/", clients[:2], 1, False, env)
        samples, stop = [], threading.Event()
        poller = threading.Thread(target=_checkpoint_samples, args=(stop, samples))
        poller.start()
        totals: dict = {}
        try:
            for count, order in plans:
                for _ in range(rounds):
                    for side in order:
                        path, keyed = sides[side]
                        before = _cpu(groups)
                        run = _round(port, path, clients[:count], seconds, keyed, env)
                        after = _cpu(groups)
                        total = totals.setdefault(
                            (count, side),
                            {
                                "requests": 0,
                                "seconds": 0.0,
                                "latencies": [],
                                "cpu": {},
                                "placed": [],
                                "statuses": {},
                            },
                        )
                        total["requests"] += run["requests"]
                        total["seconds"] += seconds
                        total["latencies"] += [run["p50_ms"], run["p99_ms"]]
                        total["placed"] += run["placed"]
                        for status, n in run["statuses"].items():
                            total["statuses"][status] = total["statuses"].get(status, 0) + n
                        for group in groups:
                            total["cpu"][group] = total["cpu"].get(group, 0.0) + (
                                after[group] - before[group]
                            )
            # Let the read side finish before the last lags are read.
            last = max(Position.parse(t) for _, t in totals[(8, "shop")]["placed"])
            deadline = time.time() + 30
            while samples[-1][1] < last and time.time() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            poller.join()
        _report(results, totals, samples, rounds=rounds, seconds=seconds)
        results.add(
            "9 http writes",
            "statements per request",
            None,
            "",
            details=statements_per_request(clients[0]),
        )
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)


def _lags(samples: list, placed: list) -> list[float]:
    from core.eventlog import Position

    lags = []
    for answered, token in placed:
        position = Position.parse(token)
        seen = next((t for t, reached in samples if reached >= position), None)
        if seen is not None:
            lags.append(max(0.0, seen - answered))
    return lags


def _report(results, totals: dict, samples: list, *, rounds: int, seconds: float) -> None:
    for (count, side), total in totals.items():
        bad = {s: n for s, n in total["statuses"].items() if s not in {"200", "201"}}
        if bad:
            results.problem(f"HTTP writes {side} × {count}: statuses {total['statuses']}")
    for count in (8, 1):
        shop, plain = totals[(count, "shop")], totals[(count, "plain")]
        rate = {
            side: t["requests"] / t["seconds"]
            for side, t in ((s, totals[(count, s)]) for s in ("shop", "plain"))
        }
        ratio = rate["shop"] / rate["plain"]
        lags = _lags(samples, shop["placed"] + totals.get((count, "keyed"), {}).get("placed", []))
        lag_p99 = pct(lags, 0.99)
        results.add(
            "9 http writes",
            f"POST /api/orders/, {count} client{'s' * (count > 1)}",
            round(rate["shop"], 1),
            "orders/s",
            round(rate["plain"], 1),
            ratio=round(ratio, 2),
            target="≥ 0.7× plain" + (", projection lag p99 ≤ 300 ms" if count > 1 else ""),
            met=ratio >= 0.7 and (count == 1 or lag_p99 <= 0.3),
            details={
                "lag_p50_ms": ms(pct(lags, 0.5)),
                "lag_p99_ms": ms(lag_p99),
                "orders_seen": len(lags),
                "rounds": rounds,
                "seconds_per_round": seconds,
                "shop_p50_p99_ms": shop["latencies"][:2],
                "plain_p50_p99_ms": plain["latencies"][:2],
            },
        )
        if count == 8:
            cpu = {
                side: {
                    g: v / max(1, totals[(8, side)]["requests"]) * 1000
                    for g, v in totals[(8, side)]["cpu"].items()
                }
                for side in ("shop", "plain")
            }
            shop_cpu, plain_cpu = sum(cpu["shop"].values()), sum(cpu["plain"].values())
            results.add(
                "9 http writes",
                "CPU per order, 8 clients (web + Postgres + worker)",
                round(shop_cpu, 2),
                "ms",
                round(plain_cpu, 2),
                ratio=round(shop_cpu / plain_cpu, 2),
                target="≤ 2× plain",
                met=shop_cpu <= 2 * plain_cpu,
                details={side: {g: round(v, 2) for g, v in by.items()} for side, by in cpu.items()},
            )
            keyed = totals[(8, "keyed")]["requests"] / totals[(8, "keyed")]["seconds"]
            results.add(
                "9 http writes",
                "with an Idempotency-Key, 8 clients",
                round(keyed, 1),
                "orders/s",
                round(rate["shop"], 1),
                ratio=round(keyed / rate["shop"], 2),
                target="≥ 0.87× unkeyed",
                met=keyed / rate["shop"] >= 0.87,
            )
