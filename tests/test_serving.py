"""The web server `make run` starts (gunicorn, threaded workers, config/gunicorn.conf.py):
requests held by `?wait=` cannot starve the rest, and liveness answers fast meanwhile."""

import os
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db import connection

from config.devservices import BASE_DIR, web_command
from core.eventlog import position_of
from readmodels import consistency
from readmodels.models import DomainEvent
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def budget_spent(client: str) -> int:
    minute = consistency.budget_window()
    keys = [f"wait-budget:{client}:{m}" for m in (minute - 1, minute)]
    return sum(cache.get(key) or 0 for key in keys)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 30) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


@pytest.fixture
def server():
    """gunicorn as `make run` starts it, on the test database, with DEBUG on."""
    port = free_port()
    database = urlsplit(os.environ["DATABASE_URL"])
    env = {
        **os.environ,
        "DATABASE_URL": database._replace(path="/" + connection.settings_dict["NAME"]).geturl(),
        "DEBUG": "1",
        # Every held request gets its whole wait: this is about threads, not budgets.
        "WAIT_BUDGET_MS_PER_MINUTE": "1000000",
    }
    process = subprocess.Popen(
        web_command(bind=f"127.0.0.1:{port}"),
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return fetch(f"{base}/healthz/live", timeout=1)[0] == 200
        except OSError:
            return False

    try:
        wait_until(answers, timeout=30)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_liveness_answers_fast_while_waiting_requests_are_held(server, make_product):
    make_product()  # an event no projection applies: nothing runs them here
    token = position_of(DomainEvent.objects.latest("id"))
    held = 12  # more than the server's wait slots (2 workers x 4)
    with ThreadPoolExecutor(held) as pool:
        waits = [
            pool.submit(fetch, f"{server}/api/products/?after={token}&wait=3000")
            for _ in range(held)
        ]
        # Every request has reached the server: it holds a wait slot (and took its wait from
        # the budget), or it found its worker's slots taken and was answered 202 at once. How
        # gunicorn spreads the connections over its two workers is its own business.
        wait_until(
            lambda: sum(w.done() for w in waits) + budget_spent("anon:127.0.0.1") // 3000 >= held
        )
        probes = [fetch(f"{server}/healthz/live") for _ in range(10)]
        products = fetch(f"{server}/api/products/")
        statuses = [w.result()[0] for w in waits]
    assert {status for status, _ in probes} == {200}
    assert statistics.median(seconds for _, seconds in probes) < 0.1, probes
    assert products[0] == 200 and products[1] < 1.0, products
    assert statuses == [202] * held


def test_static_files_are_served_in_debug(server):
    assert fetch(f"{server}/static/admin/css/base.css")[0] == 200
