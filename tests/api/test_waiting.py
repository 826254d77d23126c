"""`?after=TOKEN&wait=MS` cannot be used to tie up the web threads (issue 12 item 2)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.eventlog import Position, position_of
from readmodels import consistency, engine
from readmodels.models import DomainEvent
from tests.helpers import in_own_connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unreached(make_product) -> Position:
    """The token of an event no projection has applied (nothing runs them in these tests)."""
    make_product()
    return position_of(DomainEvent.objects.latest("id"))


def polls(queries: CaptureQueriesContext) -> int:
    return sum("readmodels_projectioncheckpoint" in q["sql"] for q in queries.captured_queries)


def get(client, token, wait_ms):
    return client.get(f"/api/products/?after={token}&wait={wait_ms}")


def test_a_token_beyond_the_event_log_is_400_at_once(api, unreached):
    beyond = Position(unreached.txid + 1000, unreached.event_id + 1000)
    with CaptureQueriesContext(connection) as queries:
        response = get(api, beyond, 5000)
    assert response.status_code == 400, response.content
    assert "after" in response.json()["error"]["fields"]
    assert polls(queries) == 1  # the one look before the head check: no waiting
    # Same event id, later transaction: also never reached.
    assert get(api, Position(unreached.txid + 1, unreached.event_id), 5000).status_code == 400


def test_a_real_token_is_not_beyond_the_head(api, unreached):
    assert get(api, unreached, 0).status_code == 202


def test_polling_backs_off(api, unreached):
    with CaptureQueriesContext(connection) as queries:
        assert get(api, unreached, 1000).status_code == 202
    # Every 10 ms this was about a hundred queries for one second.
    assert 5 <= polls(queries) <= 30, polls(queries)


def test_each_client_has_a_budget_of_waiting(
    api, unreached, settings, as_user, customer, monkeypatch
):
    settings.WAIT_BUDGET_MS_PER_MINUTE = 300
    monkeypatch.setattr(consistency, "budget_window", lambda: 1)  # no new minute mid-test
    assert get(api, unreached, 200).status_code == 202
    with CaptureQueriesContext(connection) as queries:
        assert get(api, unreached, 200).status_code == 202  # granted the 100 ms left
    assert polls(queries) > 2
    with CaptureQueriesContext(connection) as queries:
        assert get(api, unreached, 200).status_code == 202
    assert polls(queries) == 1  # spent: answered without waiting
    # Another client has its own budget.
    with CaptureQueriesContext(connection) as queries:
        assert get(as_user(customer), unreached, 200).status_code == 202
    assert polls(queries) > 2


def test_a_process_lets_only_wait_slots_requests_wait(
    unreached, settings, monkeypatch, as_user, make_customer
):
    settings.WAIT_SLOTS = 1
    waiting = threading.Event()
    wait_for = consistency.wait_for

    def signalling_wait_for(*args, **kwargs):
        waiting.set()
        return wait_for(*args, **kwargs)

    monkeypatch.setattr(consistency, "wait_for", signalling_wait_for)
    first_client, second_client = as_user(make_customer()), as_user(make_customer())
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(in_own_connection, lambda: get(first_client, unreached, 5000))
        assert waiting.wait(10)
        with CaptureQueriesContext(connection) as queries:
            second = get(second_client, unreached, 5000)
        assert second.status_code == 202
        assert polls(queries) == 1  # no slot: answered at once
        engine.run_all()  # the first wait is reached
        assert first.result().status_code == 200


def test_wait_zero_never_waits(unreached):
    client = APIClient()
    with CaptureQueriesContext(connection) as queries:
        assert get(client, unreached, 0).status_code == 202
    assert polls(queries) == 1


def test_with_the_cache_unreachable_the_wait_still_works(unreached, settings, tmp_path):
    """Caused for real: the cache points at a socket nobody listens on. The budget cannot be
    counted, so the wait is allowed (the per-process slots still bound it)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"unix://{tmp_path / 'nobody.sock'}",
        }
    }
    with CaptureQueriesContext(connection) as queries:
        assert consistency.wait_as("anon:10.0.0.1", unreached, None, 0.2) is False
    assert polls(queries) > 2  # it waited
    engine.run_all()
    assert consistency.wait_as("anon:10.0.0.1", unreached, None, 0.2) is True
