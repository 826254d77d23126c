"""Concurrency against the real database: real threads, each with its own connection."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from catalog import commands as catalog
from catalog.models import Product
from core.errors import Conflict, ValidationFailed
from orders import commands
from orders.models import Order
from tests.conftest import wait_until
from tests.helpers import ADDRESS, in_own_connection, waiting_for_locks

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls):
    """Start every call at the same moment, each in its own thread and connection; return the
    result or the exception of each."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait()
            return call()
        except Exception as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_twenty_buyers_for_ten_units_make_exactly_ten_orders(make_customer, make_product):
    sku = make_product(stock=10)
    buyers = [make_customer() for _ in range(20)]
    outcomes = run_together(
        *[
            lambda b=b: commands.place_order(
                actor=b, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
            )
            for b in buyers
        ]
    )
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 10
    assert {getattr(error, "code", repr(error)) for error in refused} == {"insufficient_stock"}
    assert Order.objects.count() == 10
    assert Product.objects.get(sku=sku).stock == 0


def test_orders_sharing_products_in_opposite_order_never_deadlock(make_customer, make_product):
    a, b = make_product(stock=1000), make_product(stock=1000)
    buyers = [make_customer() for _ in range(8)]
    calls = [
        lambda buyer=buyer, i=i: commands.place_order(
            actor=buyer,
            lines=[{"sku": a, "quantity": 1}, {"sku": b, "quantity": 1}][:: 1 if i % 2 else -1],
            shipping_address=ADDRESS,
        )
        for i, buyer in enumerate(buyers)
        for _ in range(3)
    ]
    outcomes = run_together(*calls)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert Product.objects.get(sku=a).stock == Product.objects.get(sku=b).stock == 1000 - len(calls)


def test_concurrent_price_changes_with_one_expected_version_one_wins(staff, make_product):
    sku = make_product(price="10.00")
    outcomes = run_together(
        lambda: catalog.change_price(actor=staff, sku=sku, price="11.00", expected_version=1),
        lambda: catalog.change_price(actor=staff, sku=sku, price="12.00", expected_version=1),
    )
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(conflicts) == 1 and conflicts[0].code == "version_conflict"
    assert len(winners) == 1
    product = Product.objects.get(sku=sku)
    assert product.version == 2
    assert str(product.price) in {"11.00", "12.00"}


def test_one_idempotency_key_sent_twice_at_once_makes_one_order(customer, make_product):
    sku = make_product(stock=10)
    outcomes = run_together(
        *[
            lambda: commands.place_order(
                actor=customer,
                lines=[{"sku": sku, "quantity": 1}],
                idempotency_key="k1",
                shipping_address=ADDRESS,
            )
            for _ in range(4)
        ]
    )
    assert len({o.id for o in outcomes}) == 1, outcomes
    assert Order.objects.count() == 1
    assert Product.objects.get(sku=sku).stock == 9


def test_double_clicked_checkout_for_the_last_unit_returns_the_first_order(customer, make_product):
    """Both requests look the key up before the first commits, then queue for the product lock
    (held here until both wait). The second must find the first's order after the lock, not
    fail the stock check against the unit the first took."""
    sku = make_product(stock=1)
    place = lambda: commands.place_order(  # noqa: E731
        actor=customer,
        lines=[{"sku": sku, "quantity": 1}],
        idempotency_key="double-click",
        shipping_address=ADDRESS,
    )
    with ThreadPoolExecutor(2) as pool:
        with transaction.atomic():
            Product.objects.select_for_update().get(sku=sku)
            first = pool.submit(in_own_connection, place)
            wait_until(lambda: waiting_for_locks() == 1)
            second = pool.submit(in_own_connection, place)
            wait_until(lambda: waiting_for_locks() == 2)
        outcomes = [first.result(), second.result()]
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert outcomes[0].id == outcomes[1].id
    assert Order.objects.count() == 1
    assert Product.objects.get(sku=sku).stock == 0


def test_bob_and_bob_signing_up_at_once_make_one_account(db):
    """The first sign-up is inserted and not yet committed when the second passes the
    case-insensitive check (it cannot see the first) and inserts: the lower(username) index
    makes it wait for the first, then refuses it."""
    sign_up = lambda name: commands.register_customer(  # noqa: E731
        username=name,
        email=f"{name}@example.com",
        password="a-long-Passphrase-7",
        display_name=name,
    )
    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic():
            sign_up("Bob")
            second = pool.submit(in_own_connection, lambda: sign_up("bob"))
            wait_until(lambda: waiting_for_locks() == 1, timeout=5)
        refused = second.result()
    assert isinstance(refused, ValidationFailed) and refused.code == "username_taken", refused
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["Bob"]
