"""The summary tables' reads through a statement frame (core.querysets) give what Django's
own compile gives, row for row and value for value; a frame is made once and then reused; and
what is not a plain read, or a frame that does not match Django's statement, is Django's."""

import logging
from decimal import Decimal

import psycopg
import pytest
from django.db import OperationalError, connection
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

from catalog import commands as catalog
from catalog import queries as catalog_queries
from core import querysets
from orders import commands as orders
from orders import queries as order_queries
from readmodels import engine
from readmodels.models import OrderSummary, ProductSummary
from tests.conftest import wait_until
from tests.helpers import ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_frames_yet(monkeypatch):
    monkeypatch.setattr(querysets, "_frames", {})


@pytest.fixture
def shop(staff, make_product, make_customer):
    catalog.create_category(actor=staff, name="Tea")
    skus = [
        make_product(price=f"{price}.00", stock=0 if price == 12 else 20)
        for price in (5, 7, 7, 9, 12, 30)
    ]
    catalog.create_product(
        actor=staff, sku="TEA-1", name="Green tea", price=Decimal("4.50"), stock=8, category="tea"
    )
    buyer = make_customer()
    for quantity, sku in enumerate(skus[:4], start=1):
        orders.place_order(
            actor=buyer, lines=[{"sku": sku, "quantity": quantity}], shipping_address=ADDRESS
        )
    catalog.discontinue_product(actor=staff, sku=skus[-1])
    engine.run_all()
    return buyer.customer.pk


def rows(queryset) -> list[tuple]:
    return [
        tuple(getattr(row, field.attname) for field in row._meta.concrete_fields)
        for row in queryset
    ]


def djangos(queryset) -> list[tuple]:
    """The same query, read by a plain QuerySet: Django compiles all of it."""
    return rows(QuerySet(queryset.model, queryset.query.chain()))


PRODUCT_LISTS = [
    {},
    {"category": "coffee"},
    {"category": "tea", "ordering": "price"},
    {"min_price": Decimal("6"), "max_price": Decimal("12"), "ordering": "-price"},
    {"in_stock": True, "ordering": "-units_sold"},
    {"in_stock": False},
    {"ordering": "-last_ordered_at"},
    {"include_inactive": True, "ordering": "-units_sold"},
    {"category": "none-such"},
]


@pytest.mark.parametrize("filters", PRODUCT_LISTS, ids=str)
def test_a_product_list_through_its_frame_is_what_django_reads(shop, filters):
    products = catalog_queries.list_products(**filters)
    for window in (slice(None), slice(0, 3), slice(2, 5), slice(4, None)):
        assert rows(products[window]) == djangos(products[window])
    assert rows(products) != [] or filters == {"category": "none-such"}


def test_order_lists_with_their_json_and_arrays_are_what_django_reads(shop):
    listed = order_queries.list_orders(customer_id=shop)
    assert rows(listed) == djangos(listed)
    first = next(iter(listed))
    assert first.shipping_address["city"] == ADDRESS.city and isinstance(first.lines, list)
    assert isinstance(first.product_names, list)
    best = catalog_queries.best_sellers(by="revenue")
    assert rows(best[:2]) == djangos(best[:2])


def test_a_frame_is_made_once_and_a_read_then_compiles_only_its_where_clause(
    shop, monkeypatch, django_assert_num_queries
):
    catalog_queries.list_products(category="coffee", ordering="-units_sold")[:3]._fetch_all()
    compiled = []
    real_as_sql = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model)
        return real_as_sql(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counted)
    with django_assert_num_queries(1):
        tea = list(catalog_queries.list_products(category="tea", ordering="-units_sold")[:3])
    assert [product.sku for product in tea] == ["TEA-1"]
    assert compiled == []
    list(catalog_queries.list_products(category="tea", ordering="price"))  # another ordering
    assert compiled == [ProductSummary, ProductSummary]  # checked against Django's statement


def test_a_detail_read_in_no_order_runs_from_its_frame_too(shop, monkeypatch):
    first = catalog_queries.get_product(sku="TEA-1")
    compiled = []
    real_as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(
        SQLCompiler,
        "as_sql",
        lambda self, *a, **k: compiled.append(1) or real_as_sql(self, *a, **k),
    )
    listed = catalog_queries.list_products(include_inactive=True)
    other = next(product for product in listed if product.sku != "TEA-1")
    compiled.clear()
    again = catalog_queries.get_product(sku=other.sku)
    assert compiled == []  # get() (no order, LIMIT 21) from the frame the first get() made
    assert rows([again]) == rows([other]) and rows([first])[0][1] == "TEA-1"
    assert rows(ProductSummary.objects.filter(sku=other.sku)) == djangos(
        ProductSummary.objects.filter(sku=other.sku)
    )
    with pytest.raises(ProductSummary.DoesNotExist):
        ProductSummary.objects.get(sku="NONE-SUCH")


def test_what_is_not_a_plain_read_is_djangos(shop, django_assert_num_queries):
    search = catalog_queries.list_products(q="tea")
    assert [product.sku for product in search] == ["TEA-1"]
    assert search[0].rank > 0  # an annotation: Django's path
    with django_assert_num_queries(0):
        assert list(ProductSummary.objects.filter(pk__in=[]).order_by("pk")) == []
    as_values = ProductSummary.objects.order_by("product_id").values("sku")
    assert [row["sku"] for row in as_values][-1] == "TEA-1"
    assert querysets._frames == {}  # none of these made a frame


def test_a_frame_that_is_not_djangos_statement_is_never_used(shop, monkeypatch, caplog):
    real_sql = querysets.Frame.sql
    monkeypatch.setattr(querysets.Frame, "sql", lambda self, *a: real_sql(self, *a) + " ")
    listed = order_queries.list_orders(customer_id=shop)
    with caplog.at_level(logging.WARNING, logger="core.querysets"):
        assert rows(listed) == djangos(listed)
    assert "left to Django" in caplog.text
    assert list(querysets._frames.values()) == [None]
    assert len(rows(order_queries.list_orders(customer_id=shop))) == 4
    assert OrderSummary.objects.count() == 4


def test_a_framed_read_on_a_connection_the_server_ended_fails_as_djangos_and_the_next_recovers(
    shop,
):
    products = catalog_queries.list_products(ordering="price")
    before = rows(products)  # the frame is made; the connection stays open
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        wait_until(
            lambda: (
                not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            )
        )
    with pytest.raises(OperationalError):  # Django's error, as its own path raises it
        list(catalog_queries.list_products(ordering="price"))
    connection.close_if_unusable_or_obsolete()  # what the next request does first
    assert rows(catalog_queries.list_products(ordering="price")) == before
