from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connection, transaction

from catalog import commands as catalog
from catalog.models import Product
from core.errors import Conflict, IdempotencyKeyReused, NotFound, PermissionDenied, ValidationFailed
from orders import commands
from orders.models import Order, OrderStatus
from readmodels.models import DomainEvent
from tests.helpers import ADDRESS, assert_refused


def stock(sku):
    return Product.objects.get(sku=sku).stock


def place(actor, *lines, key=None):
    return commands.place_order(
        actor=actor,
        lines=[{"sku": s, "quantity": q} for s, q in lines],
        idempotency_key=key,
        shipping_address=ADDRESS,
    )


# --- register_customer ---


def test_register_customer_creates_user_customer_and_event(db):
    result = commands.register_customer(
        username="alice",
        email="Alice@Example.com",
        password="a-long-Passphrase-7",
        display_name="Alice",
    )
    event = DomainEvent.objects.get(event_type="CustomerRegistered")
    assert event.payload["customer_id"] == result.id
    assert event.payload["email"] == "alice@example.com"
    assert "password" not in event.payload


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"password": "123"}, "password"),
        ({"password": "password"}, "password"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_register_customer_refuses_bad_input(db, changes, field):
    data = {
        "username": "bob",
        "email": "bob@example.com",
        "password": "a-long-Passphrase-7",
        "display_name": "Bob",
    }
    assert_refused(
        ValidationFailed,
        "invalid",
        lambda: commands.register_customer(**{**data, **changes}),
        field=field,
    )


def test_taken_username_is_refused_whatever_the_case(customer):
    assert_refused(
        ValidationFailed,
        "username_taken",
        lambda: commands.register_customer(
            username=customer.username.upper(),
            email="other@example.com",
            password="a-long-Passphrase-7",
            display_name="Other",
        ),
        field="username",
    )


# --- place_order ---


def test_place_order_reserves_stock_captures_prices_and_records_the_lines(customer, make_product):
    a, b = make_product(price="2.50", stock=10), make_product(price="10.00", stock=5)
    result = place(customer, (a, 2), (b, 1), (a, 3))  # the same SKU twice is merged
    order = Order.objects.get(pk=result.id)
    assert (order.status, order.total) == (OrderStatus.PENDING, Decimal("22.50"))
    assert {(line.sku, line.quantity, line.unit_price) for line in order.lines.all()} == {
        (a, 5, Decimal("2.50")),
        (b, 1, Decimal("10.00")),
    }
    assert (stock(a), stock(b)) == (5, 4)
    event = DomainEvent.objects.get(event_type="OrderPlaced")
    assert event.payload["total"] == "22.50"
    assert {line["sku"]: line["quantity"] for line in event.payload["lines"]} == {a: 5, b: 1}
    assert result.token == (event.txid, event.id)


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "no_lines"),
        ("ABC-1", "no_lines"),
        ([{"sku": f"S-{i}", "quantity": 1} for i in range(51)], "too_many_lines"),
        ([{"sku": "XYZ", "quantity": 0}], "invalid"),
        ([{"sku": "XYZ", "quantity": 1001}], "invalid"),
        ([{"sku": "XYZ", "quantity": "two"}], "invalid"),
        ([{"sku": "XYZ", "quantity": True}], "invalid"),
        ([{"sku": "", "quantity": 1}], "invalid"),
        (["not a line"], "invalid"),
        ([{"sku": "XYZ", "quantity": 600}, {"sku": "XYZ", "quantity": 600}], "invalid"),
    ],
)
def test_place_order_refuses_malformed_lines(customer, make_product, lines, code):
    make_product("XYZ", stock=5000)
    assert_refused(
        ValidationFailed,
        code,
        lambda: commands.place_order(actor=customer, lines=lines, shipping_address=ADDRESS),
    )


def test_unknown_or_discontinued_products_are_refused(staff, customer, make_product):
    a, gone = make_product(), make_product()
    catalog.discontinue_product(actor=staff, sku=gone)
    assert_refused(
        ValidationFailed,
        "unknown_product",
        lambda: place(customer, (a, 1), ("NOPE-9", 1)),
        field="lines.NOPE-9",
    )
    assert_refused(
        ValidationFailed,
        "product_unavailable",
        lambda: place(customer, (a, 1), (gone, 1)),
        field=f"lines.{gone}",
    )


def test_short_stock_reserves_nothing_and_names_every_short_line(customer, make_product):
    a, b, c = make_product(stock=10), make_product(stock=1), make_product(stock=0)
    error = assert_refused(
        Conflict, "insufficient_stock", lambda: place(customer, (a, 2), (b, 2), (c, 1))
    )
    assert set(error.fields) == {f"lines.{b}", f"lines.{c}"}
    assert (stock(a), stock(b), stock(c)) == (10, 1, 0)


def test_only_customers_place_orders(staff, make_product):
    sku = make_product()
    assert_refused(PermissionDenied, "not_authenticated", lambda: place(AnonymousUser(), (sku, 1)))
    assert_refused(PermissionDenied, "not_a_customer", lambda: place(staff, (sku, 1)))


def test_the_same_idempotency_key_returns_the_original_order(customer, make_product):
    sku = make_product(stock=10)
    first = place(customer, (sku, 2), key="checkout-1")
    events_before = DomainEvent.objects.count()
    again = place(customer, (sku, 1), (sku, 1), key="checkout-1")  # same order, merged
    assert again == first
    assert (Order.objects.count(), stock(sku), DomainEvent.objects.count()) == (1, 8, events_before)


def test_a_form_sent_again_without_lines_gets_the_order_its_key_placed(customer, make_product):
    # The checkout page's second sending finds the cart emptied by the first.
    sku = make_product(stock=10)
    first = place(customer, (sku, 2), key="checkout-1")
    again = commands.place_order(
        actor=customer, lines=[], shipping_address=ADDRESS, idempotency_key="checkout-1"
    )
    assert (again.id, again.token) == (first.id, first.token)
    assert_refused(
        ValidationFailed,
        "no_lines",
        lambda: commands.place_order(
            actor=customer, lines=[], shipping_address=ADDRESS, idempotency_key="checkout-2"
        ),
    )


def test_the_same_key_with_other_lines_is_refused_as_the_api_refuses_it(customer, make_product):
    sku = make_product(stock=10)
    place(customer, (sku, 2), key="checkout-1")
    refusal = assert_refused(
        IdempotencyKeyReused,
        "idempotency_key_reused",
        lambda: place(customer, (sku, 3), key="checkout-1"),
        field="idempotency_key",
    )
    assert refusal.http_status == 422  # one code, one status: the API's Idempotency-Key's too


def test_idempotency_keys_belong_to_one_customer(make_customer, make_product):
    sku = make_product(stock=10)
    first = place(make_customer(), (sku, 1), key="k")
    second = place(make_customer(), (sku, 1), key="k")
    assert first.id != second.id


# --- pay, ship, deliver, cancel ---


@pytest.fixture
def order(customer, make_product):
    return place(customer, (make_product(price="5.00", stock=10), 2))


def test_pay_order(customer, order):
    result = commands.pay_order(
        actor=customer, order_id=order.id, amount="10.00", payment_reference="PAY-1"
    )
    paid = Order.objects.get(pk=order.id)
    assert (paid.status, paid.payment_reference, result.version) == ("paid", "PAY-1", 2)
    assert paid.paid_at is not None


def test_paying_again_with_the_same_reference_is_a_safe_retry(customer, order):
    first = commands.pay_order(
        actor=customer, order_id=order.id, amount="10.00", payment_reference="PAY-1"
    )
    events_before = DomainEvent.objects.count()
    again = commands.pay_order(
        actor=customer, order_id=order.id, amount="10.00", payment_reference="PAY-1"
    )
    assert again == first
    assert DomainEvent.objects.count() == events_before
    assert_refused(
        Conflict,
        "already_paid",
        lambda: commands.pay_order(
            actor=customer, order_id=order.id, amount="10.00", payment_reference="PAY-2"
        ),
    )


def test_paying_again_after_staff_cancelled_the_paid_order_is_a_conflict(customer, staff, order):
    """Decided: the retry does not answer 200 as if the order were paid and going ahead."""
    commands.pay_order(actor=customer, order_id=order.id, amount="10.00", payment_reference="PAY-1")
    commands.cancel_order(actor=staff, order_id=order.id, reason="out of stock at the warehouse")
    for reference in ("PAY-1", "PAY-2"):
        assert_refused(
            Conflict,
            "order_cancelled",
            lambda reference=reference: commands.pay_order(
                actor=customer, order_id=order.id, amount="10.00", payment_reference=reference
            ),
        )


@pytest.mark.parametrize("amount", ["0.01", "9.99", "10.01"])
def test_a_replay_with_another_amount_is_a_conflict(customer, order, amount):
    # It answered 200 with the first result, as if 0.01 had paid the order.
    commands.pay_order(actor=customer, order_id=order.id, amount="10.00", payment_reference="P-1")
    error = assert_refused(
        Conflict,
        "payment_mismatch",
        lambda: commands.pay_order(
            actor=customer, order_id=order.id, amount=amount, payment_reference="P-1"
        ),
        field="amount",
    )
    assert "10.00" in error.message


@pytest.mark.parametrize(
    ("amount", "reference", "error", "code"),
    [
        ("9.99", "PAY-1", ValidationFailed, "amount_mismatch"),
        ("10.01", "PAY-1", ValidationFailed, "amount_mismatch"),
        ("ten", "PAY-1", ValidationFailed, "invalid"),
        ("10.00", "", ValidationFailed, "invalid"),
    ],
)
def test_pay_order_refuses_wrong_amounts_and_missing_references(
    customer, order, amount, reference, error, code
):
    assert_refused(
        error,
        code,
        lambda: commands.pay_order(
            actor=customer, order_id=order.id, amount=amount, payment_reference=reference
        ),
    )


def test_another_customers_order_is_not_found(make_customer, order):
    stranger = make_customer()
    assert_refused(
        NotFound,
        "not_found",
        lambda: commands.pay_order(
            actor=stranger, order_id=order.id, amount="10.00", payment_reference="P"
        ),
    )
    assert_refused(
        NotFound,
        "not_found",
        lambda: commands.cancel_order(actor=stranger, order_id=order.id, reason="x"),
    )


def test_unknown_and_malformed_order_ids_are_not_found(staff):
    for order_id in [999999, "abc", None]:
        assert_refused(
            NotFound,
            "not_found",
            lambda o=order_id: commands.deliver_order(actor=staff, order_id=o),
        )


def test_ship_and_deliver_are_staff_only_and_follow_the_status_order(staff, customer, order):
    assert_refused(
        PermissionDenied,
        "staff_only",
        lambda: commands.ship_order(actor=customer, order_id=order.id, tracking_number="T1"),
    )
    assert_refused(
        Conflict,
        "invalid_status_transition",
        lambda: commands.ship_order(actor=staff, order_id=order.id, tracking_number="T1"),
    )
    commands.pay_order(actor=customer, order_id=order.id, amount="10.00", payment_reference="P")
    assert_refused(
        ValidationFailed,
        "invalid",
        lambda: commands.ship_order(actor=staff, order_id=order.id, tracking_number=" "),
        field="tracking_number",
    )
    assert_refused(
        Conflict,
        "invalid_status_transition",
        lambda: commands.deliver_order(actor=staff, order_id=order.id),
    )
    commands.ship_order(actor=staff, order_id=order.id, tracking_number="TRACK-1")
    commands.deliver_order(actor=staff, order_id=order.id)
    delivered = Order.objects.get(pk=order.id)
    assert (delivered.status, delivered.tracking_number, delivered.version) == (
        "delivered",
        "TRACK-1",
        4,
    )
    assert_refused(
        Conflict,
        "invalid_status_transition",
        lambda: commands.cancel_order(actor=staff, order_id=order.id, reason="x"),
    )


def test_owner_cancels_a_pending_order_and_the_stock_comes_back(customer, make_product):
    sku = make_product(stock=10)
    order = place(customer, (sku, 4))
    commands.cancel_order(actor=customer, order_id=order.id, reason="changed my mind")
    assert (Order.objects.get(pk=order.id).status, stock(sku)) == ("cancelled", 10)
    event = DomainEvent.objects.get(event_type="OrderCancelled")
    assert event.payload["restocked"] == [
        {"sku": sku, "product_id": event.payload["restocked"][0]["product_id"], "quantity": 4}
    ]
    assert event.payload["previous_status"] == "pending"


def test_a_paid_order_is_cancelled_by_staff_only(staff, customer, order):
    commands.pay_order(actor=customer, order_id=order.id, amount="10.00", payment_reference="P")
    assert_refused(
        PermissionDenied,
        "cancel_needs_staff",
        lambda: commands.cancel_order(actor=customer, order_id=order.id, reason="x"),
    )
    assert_refused(
        ValidationFailed,
        "invalid",
        lambda: commands.cancel_order(actor=staff, order_id=order.id, reason=""),
        field="reason",
    )
    commands.cancel_order(actor=staff, order_id=order.id, reason="customer called")
    assert Order.objects.get(pk=order.id).status == "cancelled"


def test_order_version_conflicts(staff, customer, order):
    assert_refused(
        Conflict,
        "version_conflict",
        lambda: commands.pay_order(
            actor=customer,
            order_id=order.id,
            amount="10.00",
            payment_reference="P",
            expected_version=7,
        ),
    )


@pytest.mark.parametrize(
    ("old", "new"), [("pending", "shipped"), ("pending", "delivered"), ("cancelled", "pending")]
)
def test_the_fsm_trigger_refuses_illegal_status_changes_made_with_raw_sql(order, old, new):
    Order.objects.filter(pk=order.id).update(status=old) if old == "cancelled" else None
    with (
        pytest.raises(DatabaseError, match="status_transitions"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE orders_order SET status = %s WHERE id = %s", [new, order.id])
    assert Order.objects.get(pk=order.id).status == old
