"""TRUNCATE, and so `manage.py flush`, cannot empty the event log or a summary table: row
triggers never fire for it, a statement-level BEFORE TRUNCATE trigger does (issue 12 item 6)."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from readmodels import engine
from readmodels.models import (
    CategorySummary,
    CustomerSummary,
    DailySales,
    DomainEvent,
    OrderSummary,
    ProductSummary,
)
from tests.helpers import ADDRESS

GUARDED = [DomainEvent, ProductSummary, OrderSummary, CustomerSummary, DailySales, CategorySummary]


@pytest.fixture
def filled(transactional_db, customer, make_product):
    # Committed, so the projections see the order.
    from orders import commands

    sku = make_product(stock=5)
    commands.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    engine.run_all()
    counts = {model: model.objects.count() for model in GUARDED}
    assert all(counts.values()), counts
    return counts


@pytest.mark.parametrize("model", GUARDED, ids=[m.__name__ for m in GUARDED])
def test_truncate_is_refused(filled, model):
    with (
        pytest.raises(DatabaseError, match="Cannot truncate"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")
    assert model.objects.count() == filled[model]


def test_manage_py_flush_is_refused(filled):
    with pytest.raises(CommandError, match="couldn't be flushed") as refused:
        call_command("flush", "--no-input")
    assert "Cannot truncate" in str(refused.value.__cause__)
    assert {model: model.objects.count() for model in GUARDED} == filled
