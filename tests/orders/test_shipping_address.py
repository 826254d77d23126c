"""The shipping address: place_order's rules for it, where it is kept (the order, OrderPlaced
version 3, the order summary), and old databases whose OrderPlaced events are version 1 or 2."""

import dataclasses

import pgtrigger
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from rest_framework.test import APIClient

from core.errors import IdempotencyKeyReused, ValidationFailed
from orders import commands
from orders.address import FIELDS, MAX_LENGTHS, ShippingAddress
from orders.models import Order
from readmodels import engine
from readmodels.log import aggregate_history
from readmodels.models import DomainEvent, OrderSummary
from readmodels.projections import PROJECTIONS
from tests.helpers import ADDRESS, ADDRESS_JSON, assert_refused


def place(customer, sku, address=ADDRESS, *, key=None):
    return commands.place_order(
        actor=customer,
        lines=[{"sku": sku, "quantity": 1}],
        shipping_address=address,
        idempotency_key=key,
    )


# --- the rules: each broken once, refused with the field named, nothing written ---

TOO_LONG = {part: "x" * (limit + 1) for part, limit in MAX_LENGTHS.items()}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        *[({part: ""}, part, "This field is required.") for part in FIELDS if part != "line2"],
        ({"name": " \t\n "}, "name", "This field is required."),
        ({"city": "   "}, "city", "This field is required."),
        *[
            ({part: TOO_LONG[part]}, part, f"Use at most {MAX_LENGTHS[part]} characters.")
            for part in ("name", "line1", "line2", "postal_code", "city")
        ],
        ({"country": "US"}, "country", "We do not ship there; choose one of the listed countries."),
        (
            {"country": "Germany"},
            "country",
            "We do not ship there; choose one of the listed countries.",
        ),
        ({"postal_code": "1011"}, "postal_code", "Enter a postal code of Germany, such as 10115."),
        (
            {"country": "NL", "postal_code": "10115"},
            "postal_code",
            "Enter a postal code of Netherlands, such as 1011 AB.",
        ),
        (
            {"country": "PT", "postal_code": "1000001"},
            "postal_code",
            "Enter a postal code of Portugal, such as 1000-001.",
        ),
    ],
)
def test_each_address_rule_refuses_and_writes_nothing(
    customer, make_product, change, field, message
):
    sku = make_product(stock=5)
    address = dataclasses.replace(ADDRESS, **change)
    error = assert_refused(
        ValidationFailed,
        "invalid",
        lambda: place(customer, sku, address),
        field=f"shipping_address.{field}",
    )
    assert error.fields == {f"shipping_address.{field}": message}


@pytest.mark.parametrize("address", [None, "Unter den Linden 5, Berlin", ["Ada"]])
def test_no_address_at_all_is_refused(customer, make_product, address):
    sku = make_product(stock=5)
    error = assert_refused(
        ValidationFailed, "invalid", lambda: place(customer, sku, address), field="shipping_address"
    )
    assert error.fields == {"shipping_address": "Enter a shipping address."}


def test_every_broken_part_is_named_at_once_with_the_lines_and_the_key(customer, make_product):
    sku = make_product(stock=5)
    broken = dataclasses.replace(ADDRESS, name="", postal_code="ABC", city="y" * 61)
    error = assert_refused(
        ValidationFailed,
        "invalid",
        lambda: place(customer, sku, broken, key="k" * 101),
    )
    assert set(error.fields) == {
        "shipping_address.name",
        "shipping_address.postal_code",
        "shipping_address.city",
        "idempotency_key",
    }


def test_the_address_is_trimmed_normalized_and_kept_on_the_order_in_the_event_and_the_answer(
    customer, make_product
):
    sku = make_product(stock=5)
    typed = ShippingAddress(
        name="  Ada   Lovelace ",
        line1="Prinsengracht 263",
        line2="",
        postal_code=" 1016gv ",
        city="Amsterdam",
        country="nl",
    )
    result = place(customer, sku, typed)
    clean = {
        "name": "Ada Lovelace",
        "line1": "Prinsengracht 263",
        "line2": "",
        "postal_code": "1016 GV",
        "city": "Amsterdam",
        "country": "NL",
    }
    assert Order.objects.get(pk=result.id).shipping_address.as_dict() == clean
    event = DomainEvent.objects.get(event_type="OrderPlaced")
    assert (event.event_version, event.payload["shipping_address"]) == (3, clean)
    assert result.state["shipping_address"] == clean


def test_an_idempotency_key_retried_with_another_address_is_refused(customer, make_product):
    sku = make_product(stock=5)
    first = place(customer, sku, key="checkout-1")
    assert place(customer, sku, key="checkout-1").id == first.id  # a true retry
    elsewhere = dataclasses.replace(ADDRESS, city="Potsdam", postal_code="14467")
    assert_refused(
        IdempotencyKeyReused,
        "idempotency_key_reused",
        lambda: place(customer, sku, elsewhere, key="checkout-1"),
    )


# --- old databases: OrderPlaced stored as version 1 or 2 ---


def _stored_as(version: int, *, order_id: int, keep_address_on_the_row: bool) -> None:
    """Rewrite an order's OrderPlaced event as the version-`version` code stored it; without
    `keep_address_on_the_row`, the order is one placed before checkout asked for an address."""
    dropped = {1: "payload - 'placed_at' - 'shipping_address'", 2: "payload - 'shipping_address'"}
    with (
        transaction.atomic(),
        pgtrigger.ignore("readmodels.DomainEvent:append_only"),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"UPDATE readmodels_domainevent SET event_version = %s, payload = {dropped[version]}"
            " WHERE event_type = 'OrderPlaced' AND aggregate_id = %s",
            [version, str(order_id)],
        )
        if not keep_address_on_the_row:
            blank = ", ".join(f"shipping_{part} = ''" for part in FIELDS)
            cursor.execute(f"UPDATE orders_order SET {blank} WHERE id = %s", [order_id])


def _verify_all(capsys) -> None:
    call_command("rebuild_projections", "--verify")
    out = capsys.readouterr().out
    assert out.count("no drifted rows") == len(PROJECTIONS), out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("version", [1, 2])
def test_old_order_placed_events_upcast_with_the_address_the_order_row_has(
    version, customer, make_product, capsys
):
    sku = make_product(stock=10, price="2.50")
    with_address = place(customer, sku)
    legacy = place(customer, sku)
    engine.run_all()
    current = aggregate_history("order", with_address.id)[0].payload
    _stored_as(version, order_id=with_address.id, keep_address_on_the_row=True)
    _stored_as(version, order_id=legacy.id, keep_address_on_the_row=False)
    assert not DomainEvent.objects.filter(payload__has_key="shipping_address")

    # Read back in the current shape: exactly what version 3 says, from the order's own row;
    # an order placed before addresses existed has none.
    upcast = aggregate_history("order", with_address.id)[0].payload
    assert upcast["shipping_address"] == current["shipping_address"] == ADDRESS_JSON
    # (placed_at comes back with its trailing zeros from a version 1 row; test_deltas checks it)
    assert {**upcast, "placed_at": None} == {**current, "placed_at": None}
    assert aggregate_history("order", legacy.id)[0].payload["shipping_address"] is None

    # Rebuilt from the old log, verified against the log and the tables, and kept live.
    call_command("rebuild_projections")
    _verify_all(capsys)
    summaries = {row.order_id: row for row in OrderSummary.objects.all()}
    assert summaries[with_address.id].shipping_address == ADDRESS_JSON
    assert summaries[legacy.id].shipping_address is None
    api = APIClient()
    api.force_authenticate(customer)
    assert api.get(f"/api/orders/{legacy.id}/").json()["shipping_address"] is None
    assert api.get(f"/api/orders/{with_address.id}/").json()["shipping_address"] == ADDRESS_JSON
    commands.pay_order(
        actor=customer, order_id=legacy.id, amount="2.50", payment_reference="P-legacy"
    )
    engine.run_all()
    summary = OrderSummary.objects.get(order_id=legacy.id)
    assert (summary.status, summary.shipping_address) == ("paid", None)
    _verify_all(capsys)
