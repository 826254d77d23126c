"""The Idempotency-Key store is part of the command's transaction: a key is done with its
response or free again, never stuck "in flight" (issue 12 items 15 and 17, issue 19 item 3)."""

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from api import idempotency
from api.models import IdempotentRequest
from api.tasks import purge_expired
from catalog.models import Product
from orders.models import Order
from tests.conftest import wait_until
from tests.helpers import ADDRESS_JSON, in_own_connection, waiting_for_locks

pytestmark = pytest.mark.django_db(transaction=True)


def place(user, sku, key):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(
        "/api/orders/",
        {"lines": [{"sku": sku, "quantity": 1}], "shipping_address": ADDRESS_JSON},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_retry_while_the_first_runs_waits_and_replays_its_response(customer, make_product):
    sku = make_product(stock=10)
    with ThreadPoolExecutor(2) as pool:
        with transaction.atomic():  # hold the product: the first request stops in its command
            Product.objects.select_for_update().get(sku=sku)
            first = pool.submit(in_own_connection, lambda: place(customer, sku, "k-1"))
            wait_until(lambda: waiting_for_locks() == 1)
            retry = pool.submit(in_own_connection, lambda: place(customer, sku, "k-1"))
            wait_until(lambda: waiting_for_locks() == 2)  # the retry waits at its claim
        responses = [first.result(), retry.result()]
    assert [r.status_code for r in responses] == [201, 201], responses
    assert responses[1].json() == responses[0].json()
    assert responses[1]["Location"] == responses[0]["Location"]
    assert Order.objects.count() == 1
    assert Product.objects.get(sku=sku).stock == 9


HANG_INSIDE_THE_COMMAND = """
import sys, time
import django
django.setup()
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from orders import commands

place = commands._place

def place_then_hang(*args, **kwargs):
    result = place(*args, **kwargs)
    print("placed", flush=True)
    time.sleep(600)

commands._place = place_then_hang
client = APIClient()
client.force_authenticate(get_user_model().objects.get(pk=int(sys.argv[1])))
from tests.helpers import ADDRESS_JSON
client.post(
    "/api/orders/", {"lines": [{"sku": sys.argv[2], "quantity": 1}],
                     "shipping_address": ADDRESS_JSON}, format="json",
    HTTP_IDEMPOTENCY_KEY="k-crash",
)
"""


def test_a_request_killed_inside_its_command_leaves_its_key_free(customer, make_product):
    """Caused for real: the process serving the request is killed (SIGKILL) after its command
    wrote the order and before the response was stored. Before, the claim was committed on its
    own and nobody was left to delete it: every retry got 409 for 24 hours."""
    sku = make_product(stock=10)
    url = urlsplit(os.environ["DATABASE_URL"])
    test_database = url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    env = {**os.environ, "DATABASE_URL": test_database, "ALLOWED_HOSTS": "testserver"}
    request = subprocess.Popen(
        [sys.executable, "-c", HANG_INSIDE_THE_COMMAND, str(customer.pk), sku],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert request.stdout.readline().strip() == "placed"
    finally:
        request.kill()
        request.wait()
    retry = place(customer, sku, "k-crash")
    assert retry.status_code == 201, retry.content
    assert Order.objects.count() == 1
    assert Product.objects.get(sku=sku).stock == 9
    assert IdempotentRequest.objects.get().response_status == 201


def test_a_request_hung_while_holding_its_key_loses_it_after_the_lease(
    customer, make_product, settings, monkeypatch
):
    settings.IDEMPOTENCY_LEASE_SECONDS = 1
    sku = make_product(stock=10)
    hung, release = threading.Event(), threading.Event()
    store = idempotency.store

    def hang_before_storing(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            hung.set()
            release.wait(30)
        return store(*args, **kwargs)

    monkeypatch.setattr(idempotency, "store", hang_before_storing)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(in_own_connection, lambda: place(customer, sku, "k-hung"))
        assert hung.wait(10)
        # Waits at its claim until Postgres ends the hung session's idle transaction.
        retry = place(customer, sku, "k-hung")
        release.set()
        assert isinstance(first.result(), Exception)
    assert retry.status_code == 201, retry.content
    assert Order.objects.count() == 1
    assert Product.objects.get(sku=sku).stock == 9


def test_a_refused_command_is_stored_with_its_key_and_replayed(customer, make_product):
    sku = make_product(stock=0)
    refused = place(customer, sku, "k-refused")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "insufficient_stock")
    Product.objects.filter(sku=sku).update(stock=5)  # what a restock would change
    again = place(customer, sku, "k-refused")
    assert (again.status_code, again.json()) == (409, refused.json())
    assert not Order.objects.exists()


def test_the_purge_runs_in_the_worker_and_takes_old_keys_and_expired_sessions(
    worker, customer, make_product
):
    sku = make_product(stock=10)
    for key in ("old", "new"):
        assert place(customer, sku, key).status_code == 201
    IdempotentRequest.objects.filter(key="old").update(
        created_at=timezone.now() - idempotency.IDEMPOTENCY_KEY_TTL - timedelta(minutes=1)
    )
    cart = SessionStore()
    cart["cart"] = {sku: 1}
    cart.set_expiry(-60)
    cart.create()
    live = SessionStore()
    live["cart"] = {sku: 2}
    live.create()

    purge_expired.delay()

    wait_until(lambda: not IdempotentRequest.objects.filter(key="old").exists())
    wait_until(lambda: not Session.objects.filter(session_key=cart.session_key).exists())
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]
    assert Session.objects.filter(session_key=live.session_key).exists()


def test_the_purge_is_on_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "api.tasks.purge_expired" in tasks
