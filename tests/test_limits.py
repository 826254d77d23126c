"""One consistent set of limits (issue 12 item 19): every valid order can be paid, and no
valid input can overflow a summary column."""

from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import MAX_PRICE
from core.errors import ValidationFailed
from orders import commands
from orders.commands import MAX_ORDER_TOTAL, MAX_PAYMENT
from readmodels import engine
from readmodels.models import DailySales, DeadLetter, OrderSummary
from tests.helpers import ADDRESS, assert_refused

pytestmark = pytest.mark.django_db(transaction=True)

# Every order is a transaction, and a cluster never has more than 2**64 of them (xid8).
MOST_ORDERS_EVER = 2**64


def test_the_largest_order_can_be_paid_and_is_projected(customer, make_product):
    sku = make_product(price=str(MAX_PRICE), stock=1000)
    quantity = int(MAX_ORDER_TOTAL / MAX_PRICE)
    order = commands.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": quantity}], shipping_address=ADDRESS
    )
    commands.pay_order(
        actor=customer, order_id=order.id, amount=str(MAX_ORDER_TOTAL), payment_reference="BIG"
    )
    engine.run_all()
    assert not DeadLetter.objects.exists()
    assert OrderSummary.objects.get(order_id=order.id).total == MAX_ORDER_TOTAL
    day = DailySales.objects.get()
    assert day.gross_revenue == day.net_revenue == MAX_ORDER_TOTAL


def test_a_cent_more_than_the_largest_order_is_refused(customer, make_product):
    big, small = make_product(price=str(MAX_PRICE), stock=1000), make_product(price="0.01")
    lines = [
        {"sku": big, "quantity": int(MAX_ORDER_TOTAL / MAX_PRICE)},
        {"sku": small, "quantity": 1},
    ]
    assert_refused(
        ValidationFailed,
        "order_too_large",
        lambda: commands.place_order(actor=customer, lines=lines, shipping_address=ADDRESS),
        field="lines",
    )


def test_every_order_total_is_a_payable_amount():
    assert MAX_ORDER_TOTAL <= MAX_PAYMENT


def integer_digits(table: str, column: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT numeric_precision - numeric_scale FROM information_schema.columns "
            "WHERE table_name = %s AND column_name = %s",
            [table, column],
        )
        return cursor.fetchone()[0]


def digits(bound: Decimal) -> int:
    return len(str(int(bound)))


@pytest.mark.parametrize(
    ("table", "column", "bound"),
    [
        # Per row: bounded by one command's limits.
        ("readmodels_ordersummary", "total", MAX_ORDER_TOTAL),
        ("readmodels_productsummary", "price", MAX_PRICE),
        ("readmodels_categorysummary", "max_price", MAX_PRICE),
        # Sums over orders: bounded only by how many orders there can ever be.
        ("readmodels_productsummary", "revenue", MAX_ORDER_TOTAL * MOST_ORDERS_EVER),
        ("readmodels_customersummary", "lifetime_value", MAX_ORDER_TOTAL * MOST_ORDERS_EVER),
        ("readmodels_dailysales", "gross_revenue", MAX_ORDER_TOTAL * MOST_ORDERS_EVER),
        ("readmodels_dailysales", "net_revenue", MAX_ORDER_TOTAL * MOST_ORDERS_EVER),
    ],
)
def test_each_money_column_holds_its_largest_valid_value(table, column, bound):
    """Before: daily sales' gross_revenue was numeric(16,2), overflowed by one extreme day; the
    projection then dead-lettered every later event of that day."""
    assert integer_digits(table, column) >= digits(bound), (table, column)
