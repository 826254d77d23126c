"""/metrics: commands, requests and projections move their counters; the read side's gauges are
the database's; the counters of other processes are added up; only allowed scrapers get in."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog import commands as catalog
from readmodels.consistency import wait_for
from tests.helpers import HorizonHolder
from tests.ops.conftest import scrape, value

BASE = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_command_a_query_and_a_projection_run_move_the_counters(worker, staff, client):
    client.force_login(staff)
    before = scrape(client)
    catalog.create_category(actor=staff, name="Coffee")
    created = client.post(
        "/api/products/",
        {"sku": "MET-1", "name": "Metered", "category": "coffee", "price": "3.00", "stock": 5},
        content_type="application/json",
    )
    assert created.status_code == 201
    refused = client.post(
        "/api/products/",
        {"sku": "MET-1", "name": "Again", "category": "coffee", "price": "3.00", "stock": 5},
        content_type="application/json",
    )
    assert refused.json()["error"]["code"] == "sku_taken"
    assert wait_for(created.json()["consistency_token"], timeout=15)
    assert client.get("/api/products/MET-1/").status_code == 200

    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("shop_commands_total", command="create_product", outcome="ok") == 1
    assert moved("shop_commands_total", command="create_product", outcome="sku_taken") == 1
    assert moved("shop_commands_total", command="create_category", outcome="ok") == 1
    assert moved("shop_command_duration_seconds_count", command="create_product") == 2
    route, ok = "api/products/<str:sku>/", {"route": "api/products/<str:sku>/", "method": "GET"}
    assert moved("shop_http_request_duration_seconds_count", **ok) == 1
    assert moved("shop_http_requests_total", route=route, method="GET", status="200") == 1
    assert (
        moved("shop_http_requests_total", route="api/products/", method="POST", status="400") == 1
    )
    # Two events (category, product), whatever the batches the worker cut them into.
    assert moved("shop_projection_events_applied_total", projection="product_summary") == 2
    assert moved("shop_projection_batches_total", projection="product_summary") >= 1
    assert moved("shop_projection_batch_duration_seconds_count", projection="category_summary") >= 1
    assert value(after, "shop_projection_events_behind", projection="product_summary") == 0
    assert value(after, "shop_projection_seconds_behind", projection="product_summary") == 0
    assert (
        0
        <= value(after, "shop_projection_seconds_since_last_run", projection="product_summary")
        < 15
    )
    assert value(after, "shop_database_up") == 1


def test_a_projection_failure_moves_the_failure_counter_and_the_dead_letter_gauge(request, client):
    def failures(samples):
        return value(samples, "shop_projection_failures_total", projection="product_summary")

    before = scrape(client)
    request.getfixturevalue("failed_projection")
    after = scrape(client)
    assert failures(after) - failures(before) == 1
    letters = {
        status: value(
            after, "shop_projection_dead_letters", projection="product_summary", status=status
        )
        for status in ("retrying", "dead", "resolved")
    }
    assert letters == {"retrying": 1, "dead": 0, "resolved": 0}
    assert value(after, "shop_projection_events_behind", projection="product_summary") == 1
    assert value(after, "shop_projection_seconds_behind", projection="product_summary") > 0


def test_the_counters_of_other_processes_are_added_up(client, staff):
    """gunicorn and Celery run several processes: a command refused in another process is
    counted by this one's /metrics (multiprocess mode)."""
    before = value(
        scrape(client),
        "shop_commands_total",
        command="create_category",
        outcome="not_authenticated",
    )
    other_process = (
        "import django; django.setup()\n"
        "from catalog import commands\n"
        "from core.errors import PermissionDenied\n"
        "try:\n    commands.create_category(actor=None, name='Nope')\n"
        "except PermissionDenied:\n    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", other_process],
        cwd=BASE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "refused", result.stderr
    after = value(
        scrape(client),
        "shop_commands_total",
        command="create_category",
        outcome="not_authenticated",
    )
    assert after - before == 1


def test_the_horizon_holder_age_is_exposed(staff, client):
    assert value(scrape(client), "shop_horizon_holder_age_seconds") == 0
    with HorizonHolder():
        catalog.create_category(actor=staff, name="Waiting")  # committed, behind the holder
        assert value(scrape(client), "shop_horizon_holder_age_seconds") > 0
    assert value(scrape(client), "shop_horizon_holder_age_seconds") == 0


def test_a_redis_outage_shows_in_the_metrics(client, own_redis, monkeypatch):
    import redis

    from readmodels import tasks

    monkeypatch.setattr(tasks, "_redis", lambda: redis.Redis.from_url(own_redis.url))
    assert value(scrape(client), "shop_redis_up") == 1
    own_redis.stop()
    assert value(scrape(client), "shop_redis_up") == 0
    own_redis.start()
    assert value(scrape(client), "shop_redis_up") == 1


def test_only_allowed_scrapers_get_the_metrics(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16"]
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 is not allowed any more
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.7.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.7.9").status_code == 403
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_with_the_database_unreachable_metrics_still_answer_and_say_so(tmp_path):
    """Another process whose database does not answer: /metrics is a 200 with
    shop_database_up 0 (so the alert can fire) and the counters, never a 500."""
    probe = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "from catalog import commands\n"
        "try:\n    commands.create_category(actor=None, name='Nope')\n"
        "except Exception:\n    pass\n"
        "response = Client().get('/metrics')\n"
        "print(response.status_code)\n"
        "print(response.content.decode())\n"
    )
    nowhere = f"postgres://postgres@{str(tmp_path).replace('/', '%2F')}/shop"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=BASE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": nowhere},
        capture_output=True,
        text=True,
        timeout=60,
    )
    status, _, body = result.stdout.partition("\n")
    assert status == "200", result.stderr
    assert "shop_database_up 0.0" in body
    # The processes' counters are still there.
    assert 'shop_commands_total{command="create_category",outcome="not_authenticated"}' in body
