from decimal import Decimal

import pytest

from catalog import commands
from catalog.models import Product
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from readmodels.models import DomainEvent
from tests.helpers import assert_refused


def events_of(event_type):
    return list(DomainEvent.objects.filter(event_type=event_type).order_by("id"))


def test_create_product_writes_the_product_and_records_product_created(staff, category):
    result = commands.create_product(
        actor=staff, sku="ABC-123", name="Espresso", category=category, price="12.50", stock=5
    )
    product = Product.objects.get(sku="ABC-123")
    assert (result.id, result.version) == (product.pk, 1)
    assert (product.price, product.stock, product.active) == (Decimal("12.50"), 5, True)
    [event] = events_of("ProductCreated")
    assert event.payload["price"] == "12.50"
    assert result.token == (event.txid, event.id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sku": "ab"}, "sku"),
        ({"sku": "abc-123"}, "sku"),
        ({"sku": "A" * 33}, "sku"),
        ({"sku": "ABC 123"}, "sku"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"price": "0"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": "1000000.01"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "NaN"}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": "many"}, "stock"),
        ({"stock": 1.5}, "stock"),
    ],
)
def test_create_product_refuses_bad_input(staff, category, changes, field):
    data = {"sku": "GOOD-1", "name": "Good", "category": category, "price": "1.00", "stock": 0}
    assert_refused(
        ValidationFailed,
        "invalid",
        lambda: commands.create_product(actor=staff, **{**data, **changes}),
        field=field,
    )


def test_create_product_accepts_the_bounds(staff, category):
    commands.create_product(actor=staff, sku="ABC", name="x", category=category, price="0.01")
    commands.create_product(
        actor=staff, sku="Z" * 32, name="y" * 200, category=category, price="1000000"
    )
    assert Product.objects.count() == 2


def test_duplicate_sku_is_refused(staff, make_product, category):
    make_product("DUP-1")
    assert_refused(
        ValidationFailed,
        "sku_taken",
        lambda: commands.create_product(
            actor=staff, sku="DUP-1", name="x", category=category, price="1"
        ),
        field="sku",
    )


def test_unknown_category_is_refused(staff, category):
    assert_refused(
        ValidationFailed,
        "unknown_category",
        lambda: commands.create_product(
            actor=staff, sku="ABC-1", name="x", category="nope", price="1"
        ),
        field="category",
    )


def test_duplicate_category_slug_is_refused(staff, category):
    assert_refused(
        ValidationFailed,
        "category_taken",
        lambda: commands.create_category(actor=staff, name="Coffee"),
        field="slug",
    )


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_catalog_commands_are_staff_only(who, customer, make_product):
    from django.contrib.auth.models import AnonymousUser

    sku = make_product()
    actor = AnonymousUser() if who == "anonymous" else customer
    code = "not_authenticated" if who == "anonymous" else "staff_only"
    for action in [
        lambda: commands.create_category(actor=actor, name="Tea"),
        lambda: commands.create_product(
            actor=actor, sku="NEW-1", name="x", category="coffee", price="1"
        ),
        lambda: commands.update_product_details(actor=actor, sku=sku, name="New"),
        lambda: commands.change_price(actor=actor, sku=sku, price="5.00"),
        lambda: commands.restock(actor=actor, sku=sku, quantity=1, reason="count"),
        lambda: commands.discontinue_product(actor=actor, sku=sku),
        lambda: commands.reactivate_product(actor=actor, sku=sku),
    ]:
        assert_refused(PermissionDenied, code, action)


def test_update_details_records_only_what_changed(staff, make_product):
    commands.create_category(actor=staff, name="Tea")
    sku = make_product()
    result = commands.update_product_details(
        actor=staff, sku=sku, name="Renamed", description="", category="tea", expected_version=1
    )
    product = Product.objects.get(sku=sku)
    assert (product.name, product.category.slug, product.version) == ("Renamed", "tea", 2)
    [event] = events_of("ProductDetailsChanged")
    assert set(event.payload["changes"]) == {"name", "category_id"}
    assert event.payload["previous_category_id"] != event.payload["category_id"]
    assert result.version == 2


def test_update_details_with_no_change_records_nothing(staff, make_product):
    sku = make_product(name="Same")
    result = commands.update_product_details(actor=staff, sku=sku, name="Same")
    assert result.token is None
    assert not events_of("ProductDetailsChanged")


def test_stale_expected_version_is_a_conflict(staff, make_product):
    sku = make_product(price="10.00")
    commands.change_price(actor=staff, sku=sku, price="11.00", expected_version=1)
    for action in [
        lambda: commands.change_price(actor=staff, sku=sku, price="12.00", expected_version=1),
        lambda: commands.update_product_details(actor=staff, sku=sku, name="x", expected_version=1),
        lambda: commands.restock(actor=staff, sku=sku, quantity=1, reason="r", expected_version=1),
        lambda: commands.discontinue_product(actor=staff, sku=sku, expected_version=1),
    ]:
        assert_refused(Conflict, "version_conflict", action, field="expected_version")


def test_change_price_records_old_and_new(staff, make_product):
    sku = make_product(price="10.00")
    commands.change_price(actor=staff, sku=sku, price="7.50")
    [event] = events_of("ProductPriceChanged")
    assert (event.payload["old_price"], event.payload["new_price"]) == ("10.00", "7.50")


def test_a_cut_of_more_than_half_needs_confirmation(staff, make_product):
    sku = make_product(price="10.00")
    assert_refused(
        ValidationFailed,
        "large_price_cut",
        lambda: commands.change_price(actor=staff, sku=sku, price="4.99"),
        field="confirm_large_cut",
    )
    commands.change_price(actor=staff, sku=sku, price="5.00")  # exactly half is allowed
    commands.change_price(actor=staff, sku=sku, price="1.00", confirm_large_cut=True)
    assert Product.objects.get(sku=sku).price == Decimal("1.00")


@pytest.mark.parametrize("price", ["0", "-5", "x", "1000001"])
def test_change_price_refuses_bad_prices(staff, make_product, price):
    sku = make_product()
    assert_refused(
        ValidationFailed,
        "invalid",
        lambda: commands.change_price(actor=staff, sku=sku, price=price),
    )


def test_restock_adds_stock_with_a_reason(staff, make_product):
    sku = make_product(stock=3)
    commands.restock(actor=staff, sku=sku, quantity=100_000, reason="delivery")
    assert Product.objects.get(sku=sku).stock == 100_003
    [event] = events_of("ProductRestocked")
    assert event.payload["reason"] == "delivery"


@pytest.mark.parametrize(
    ("quantity", "reason", "field"),
    [(0, "r", "quantity"), (100_001, "r", "quantity"), ("x", "r", "quantity"), (5, "", "reason")],
)
def test_restock_refuses_bad_input(staff, make_product, quantity, reason, field):
    sku = make_product()
    assert_refused(
        ValidationFailed,
        "invalid",
        lambda: commands.restock(actor=staff, sku=sku, quantity=quantity, reason=reason),
        field=field,
    )


def test_unknown_sku_is_not_found(staff):
    for action in [
        lambda: commands.change_price(actor=staff, sku="NOPE-1", price="1"),
        lambda: commands.restock(actor=staff, sku="NOPE-1", quantity=1, reason="r"),
        lambda: commands.discontinue_product(actor=staff, sku="NOPE-1"),
    ]:
        assert_refused(NotFound, "not_found", action)


def test_discontinue_and_reactivate(staff, make_product):
    sku = make_product()
    commands.discontinue_product(actor=staff, sku=sku)
    again = commands.discontinue_product(actor=staff, sku=sku)  # already so: nothing recorded
    assert again.token is None
    assert not Product.objects.get(sku=sku).active
    commands.reactivate_product(actor=staff, sku=sku)
    assert Product.objects.get(sku=sku).active
    assert len(events_of("ProductDiscontinued")) == len(events_of("ProductReactivated")) == 1


def test_stock_can_never_go_negative_in_the_database(make_product):
    from django.db import IntegrityError, transaction

    sku = make_product(stock=1)
    with pytest.raises(IntegrityError, match="stock_never_negative"), transaction.atomic():
        Product.objects.filter(sku=sku).update(stock=-1)
