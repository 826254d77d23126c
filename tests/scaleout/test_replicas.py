"""Read replicas (issue 14): the queries read from a real streaming replica of the test
database; token waits check the replica's own checkpoints; a lagging replica leaves rotation;
an unreachable one fails over to the primary without a 500; the lag shows where staff look."""

import io
import logging
import threading
import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import commands as catalog
from readmodels import consistency, engine, replicas
from tests.conftest import wait_until
from tests.helpers import ADDRESS, in_thread
from tests.replica_fixtures import ALIAS, REPLICA_DB, caught_up

pytestmark = REPLICA_DB


def summary_reads(queries: CaptureQueriesContext) -> int:
    return sum("readmodels_productsummary" in q["sql"] for q in queries.captured_queries)


class Reads:
    """The queries each server ran during the block."""

    def __enter__(self):
        self.primary = CaptureQueriesContext(connections["default"]).__enter__()
        self.replica = CaptureQueriesContext(connections[ALIAS]).__enter__()
        return self

    def __exit__(self, *exc):
        self.replica.__exit__(*exc)
        self.primary.__exit__(*exc)


@pytest.fixture
def product(replica, make_product):
    """A product on the read side of both servers."""
    sku = make_product(price="10.00")
    engine.run_all()
    caught_up(replica)
    return sku


def change_price(staff, sku, price) -> str:
    result = catalog.change_price(actor=staff, sku=sku, price=price)
    engine.run_all()
    return result.consistency_token


def test_the_queries_read_from_the_replica_and_the_commands_write_the_primary(
    replica, product, staff, client
):
    api = APIClient()
    with Reads() as reads:
        listed = api.get("/api/products/")
        detail = api.get(f"/api/products/{product}/")
        page = client.get("/")
    assert listed.status_code == detail.status_code == page.status_code == 200
    assert [p["sku"] for p in listed.json()["results"]] == [product]
    assert product in page.content.decode()
    assert summary_reads(reads.replica) == 4  # list, detail and the page's count and rows
    assert summary_reads(reads.primary) == 0

    api.force_authenticate(staff)
    with Reads() as reads:
        changed = api.post(f"/api/products/{product}/price", {"price": "12.00"}, format="json")
    assert changed.status_code == 200, changed.content
    assert reads.replica.captured_queries == []  # a command never touches a replica


def test_a_token_wait_waits_for_the_paused_replica_then_answers_fresh(replica, product, staff):
    replica.pause()
    token = change_price(staff, product, "15.00")
    assert consistency.has_passed(consistency.Position.parse(token), using="default")
    api = APIClient()

    # The primary has passed the token, the replica has not: no waiting means "processing".
    at_once = api.get(f"/api/products/{product}/?after={token}&wait=0")
    assert at_once.status_code == 202, at_once.content

    answers = []
    waiting = in_thread(
        lambda: answers.append(api.get(f"/api/products/{product}/?after={token}&wait=5000"))
    )
    # The request has started waiting when it has taken its wait from the client's budget.
    budget = f"wait-budget:anon:127.0.0.1:{consistency.budget_window()}"
    wait_until(lambda: (cache.get(budget) or 0) > 0)
    assert answers == []
    replica.resume()
    waiting.join(10)
    (answer,) = answers
    assert answer.status_code == 200, answer.content
    assert answer.json()["price"] == "15.00"


def test_a_replica_too_far_behind_leaves_rotation_until_it_catches_up(
    replica, product, staff, settings, caplog
):
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    settings.REPLICA_CHECK_SECONDS = 0  # every request checks: the transitions show at once
    caplog.set_level(logging.INFO, logger="readmodels.replicas")
    assert replicas.choose() == ALIAS
    replica.pause()
    token = change_price(staff, product, "17.00")
    wait_until(lambda: replicas.check(ALIAS).status == replicas.LAGGING)

    api = APIClient()
    for _ in range(3):
        with Reads() as reads:
            answer = api.get(f"/api/products/{product}/?after={token}&wait=0")
        assert answer.status_code == 200 and answer.json()["price"] == "17.00"
        assert summary_reads(reads.primary) == 1 and summary_reads(reads.replica) == 0
    assert [r.message for r in caplog.records].count(
        f"replica {ALIAS} out of rotation: {replicas.state(ALIAS).lag_seconds:.1f} s behind "
        "(REPLICA_MAX_LAG_SECONDS=0.5)"
    ) <= 1
    assert sum("out of rotation" in r.message for r in caplog.records) == 1

    replica.resume()
    wait_until(lambda: replicas.check(ALIAS).in_rotation)
    # Back within the lag allowed, which need not have replayed the price yet: the token says.
    with Reads() as reads:
        answer = api.get(f"/api/products/{product}/?after={token}&wait=5000")
        assert answer.json()["price"] == "17.00"
    assert summary_reads(reads.replica) == 1
    assert sum("back in rotation" in r.message for r in caplog.records) == 1


def test_a_replica_never_checked_is_checked_whatever_the_interval(replica, product, settings):
    """An interval longer than the process's monotonic clock has run (a machine booted less
    than an hour ago, with an hour's interval) still checks a replica it knows nothing of."""
    settings.REPLICA_CHECK_SECONDS = time.monotonic() + 3600
    assert replicas.state(ALIAS).status == replicas.OK
    assert replicas.choose() == ALIAS


def test_an_unreachable_replica_fails_over_to_the_primary_without_a_500(
    replica, product, staff, settings, client, caplog
):
    settings.REPLICA_CHECK_SECONDS = 3600  # the router still believes it healthy when it stops
    settings.REPLICA_RETRY_SECONDS = 3600
    caplog.set_level(logging.INFO, logger="readmodels.replicas")
    assert replicas.choose() == ALIAS
    api = APIClient()
    assert api.get("/api/products/").status_code == 200  # a connection to it is open
    replica.server.stop()

    token = change_price(staff, product, "19.00")
    for _ in range(3):
        with CaptureQueriesContext(connections["default"]) as primary:
            answer = api.get(f"/api/products/{product}/?after={token}&wait=1000")
            page = client.get(f"/products/{product}/")
        assert answer.status_code == 200, answer.content
        assert answer.json()["price"] == "19.00"
        assert page.status_code == 200 and "19.00" in page.content.decode()
        assert summary_reads(primary) == 2
    assert replicas.state(ALIAS).status == replicas.UNREACHABLE
    assert sum("unreachable" in r.message for r in caplog.records) == 1

    # Back after the retry interval.
    replica.server.start()
    settings.REPLICA_RETRY_SECONDS = 0
    caught_up(replica)
    assert replicas.choose() == ALIAS
    assert sum("back in rotation" in r.message for r in caplog.records) == 1


def test_a_page_that_waits_after_a_command_waits_for_the_replicas_in_rotation(
    replica, make_customer, make_product
):
    """The pay button waits (bounded) before redirecting to the order page, which a replica
    will serve: the wait is on the replicas' checkpoints, not the primary's."""
    from orders import commands as orders

    customer = make_customer()
    sku = make_product(price="5.00")
    placed = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    engine.run_all()
    caught_up(replica)
    replica.pause()
    paid = orders.pay_order(
        actor=customer, order_id=placed.id, amount="5.00", payment_reference="R-1"
    )
    engine.run_all()
    assert not consistency.wait_for(paid.consistency_token, ["order_summary"], timeout=0.2)
    replica.resume()
    assert consistency.wait_for(paid.consistency_token, ["order_summary"], timeout=10)
    assert consistency.has_passed(
        consistency.Position.parse(paid.consistency_token), ["order_summary"], using=ALIAS
    )


def test_the_lag_of_each_replica_shows_in_every_status_surface(
    replica, product, staff, settings, client
):
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    replica.pause()
    change_price(staff, product, "21.00")
    wait_until(lambda: replicas.check(ALIAS).status == replicas.LAGGING)

    out = io.StringIO()
    call_command("projection_status", stdout=out)
    assert f"replica {ALIAS}" in out.getvalue() and "out of rotation" in out.getvalue()

    health = APIClient().get("/healthz").json()
    (shown,) = health["replicas"]
    assert shown["alias"] == ALIAS and shown["status"] == "lagging"
    assert shown["lag_seconds"] > 0.5 and shown["in_rotation"] is False

    api = APIClient()
    api.force_authenticate(staff)
    (shown,) = api.get("/api/projections/").json()["replicas"]
    assert shown["status"] == "lagging" and shown["lag_seconds"] > 0.5

    client.force_login(staff)
    page = client.get("/staff/").content.decode()
    assert 'id="replicas"' in page and "no, lagging" in page

    replica.resume()
    wait_until(lambda: replicas.check(ALIAS).in_rotation)
    (shown,) = APIClient().get("/healthz").json()["replicas"]
    assert shown["status"] == "ok" and shown["in_rotation"] is True


def test_without_replicas_everything_reads_the_primary(settings, make_product):
    settings.DATABASE_REPLICAS = []
    sku = make_product()
    engine.run_all()
    with Reads() as reads:
        assert APIClient().get(f"/api/products/{sku}/").status_code == 200
    assert summary_reads(reads.primary) == 1 and reads.replica.captured_queries == []
    assert APIClient().get("/healthz").json()["replicas"] == []


def test_threads_share_the_health_but_not_the_pin(replica, product):
    """The pin is per request (a context variable), the health per process."""
    seen = []
    barrier = threading.Barrier(2)

    def read():
        with replicas.reading_from(ALIAS if not seen else None):
            seen.append(replicas.serving_alias())
            barrier.wait(5)
            seen.append(replicas.serving_alias())
        connections.close_all()

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(seen) == sorted([ALIAS, ALIAS, "default", "default"])


def test_database_replica_urls_become_replica_aliases_that_mirror_the_primary_in_tests():
    import json
    import subprocess
    import sys

    from config.devservices import BASE_DIR

    probe = (
        "import django, json; from django.conf import settings; django.setup();"
        "print(json.dumps({a: [d['HOST'], d['PORT'], d['NAME'], d['OPTIONS'], d['TEST']['MIRROR']]"
        " for a, d in settings.DATABASES.items() if a != 'default'} | "
        "{'replicas': settings.DATABASE_REPLICAS}))"
    )
    urls = "postgres://u@db-replica-a:5432/shop, postgres://u@db-replica-b/shop?connect_timeout=9"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings",
             "DATABASE_REPLICA_URLS": urls},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "replica1": ["db-replica-a", 5432, "shop", {"connect_timeout": 2}, "default"],
        "replica2": ["db-replica-b", "", "shop", {"connect_timeout": 9}, "default"],
        "replicas": ["replica1", "replica2"],
    }


def test_the_reads_are_spread_over_the_replicas_in_rotation(replica, settings):
    """Two replicas in rotation are both chosen, at random; one that leaves rotation is chosen
    no more. (The second is only a name here, with its health as last checked.)"""
    second = "replica2"
    settings.DATABASE_REPLICAS = [ALIAS, second]
    settings.REPLICA_CHECK_SECONDS = settings.REPLICA_RETRY_SECONDS = 3600
    replicas.check(ALIAS)
    replicas._update(second, status=replicas.OK, lag=0.0, error="")
    assert {replicas.choose() for _ in range(200)} == {ALIAS, second}

    replicas._update(second, status=replicas.LAGGING, lag=9.0, error="")
    assert {replicas.choose() for _ in range(50)} == {ALIAS}


def test_an_order_a_lagging_replica_has_not_got_yet_is_processing_not_missing(
    replica, make_customer, make_product
):
    from orders import commands as orders

    customer = make_customer()
    sku = make_product(price="5.00")
    engine.run_all()
    caught_up(replica)
    replica.pause()
    placed = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    engine.run_all()
    api = APIClient()
    api.force_authenticate(customer)
    with Reads() as reads:
        answer = api.get(f"/api/orders/{placed.id}/")
    assert answer.status_code == 202, answer.content
    assert answer.json()["consistency_token"] == placed.consistency_token
    assert any("readmodels_ordersummary" in q["sql"] for q in reads.replica.captured_queries)

    replica.resume()
    caught_up(replica)
    assert api.get(f"/api/orders/{placed.id}/").status_code == 200
