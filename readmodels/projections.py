"""One projector per summary table, and the definitions of every figure the read side shows.

A projector does not replay events into rows. It maps a batch of events to the *keys* of the
summary rows they touch, then recomputes exactly those rows from the normalized tables with one
`INSERT … SELECT … ON CONFLICT DO UPDATE`. Recomputing from the source of truth makes a refresh
idempotent and order-insensitive: running it twice, replaying a dead letter late, or overlapping
a rebuild can never count anything twice. A rebuild is the same refresh over every key.

Definitions (written once, here; the README repeats them):
- an order *counts as revenue* while it is paid, shipped or delivered; a cancellation takes it
  back out. Units sold count every order that is not cancelled.
- ProductSummary: units_sold, order_count (orders containing it) and last_ordered_at over
  non-cancelled orders; revenue = Σ quantity × unit price over revenue orders.
- CustomerSummary: order_count = non-cancelled orders; lifetime_value = Σ totals of revenue
  orders; last_order_at = the latest order placed, whatever became of it.
- DailySales, per UTC day an order was placed: orders_placed (all), orders_cancelled, units_sold
  (non-cancelled), gross_revenue = Σ totals of non-cancelled orders, net_revenue = Σ totals of
  revenue orders (cancelled and still unpaid orders excluded).
- CategorySummary: product_count (all), active_product_count, in_stock_product_count (active
  with stock > 0), min/max price over active products.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model

from readmodels.models import (
    CategorySummary,
    CustomerSummary,
    DailySales,
    DomainEvent,
    OrderSummary,
    ProductSummary,
)

REVENUE_STATUSES = "('paid', 'shipped', 'delivered')"


@dataclasses.dataclass
class Touched:
    """The ids a batch of events refers to, by kind."""

    products: set[int] = dataclasses.field(default_factory=set)
    categories: set[int] = dataclasses.field(default_factory=set)
    orders: set[int] = dataclasses.field(default_factory=set)
    customers: set[int] = dataclasses.field(default_factory=set)

    @classmethod
    def by(cls, events: Iterable[DomainEvent]) -> Touched:
        touched = cls()
        for event in events:
            payload = event.payload
            for key, ids in (
                ("product_id", touched.products),
                ("category_id", touched.categories),
                ("previous_category_id", touched.categories),
                ("order_id", touched.orders),
                ("customer_id", touched.customers),
            ):
                if key in payload:
                    ids.add(int(payload[key]))
            for line in payload.get("lines", []) + payload.get("restocked", []):
                touched.products.add(int(line["product_id"]))
        return touched

    def params(self) -> dict[str, list[int]]:
        return {kind: sorted(ids) for kind, ids in dataclasses.asdict(self).items()}


_NAMED_PARAM = re.compile(r"%\((\w+)\)s")


def _execute(cursor, sql: str, params: dict) -> None:
    """Run SQL written with %(name)s placeholders as positional ones: pgtrigger.ignore prepends
    a positional set_config() to each statement, and psycopg refuses to mix the two styles."""
    cursor.execute(
        _NAMED_PARAM.sub("%s", sql), [params[name] for name in _NAMED_PARAM.findall(sql)]
    )


class Projection:
    """A summary table and the SQL that recomputes its rows for a list of keys.

    `keys_sql` maps touched ids to keys (params: products, categories, orders, customers);
    `all_keys_sql` lists every key, for a rebuild; `select_sql` computes the rows for %(keys)s
    with columns in `columns` order, the first being the primary key.
    """

    name: str
    model: type[Model]
    key_type: str = "bigint"
    keys_sql: str
    all_keys_sql: str
    select_sql: str
    # Columns that record when a row was refreshed rather than what it says.
    bookkeeping_columns: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def columns(self) -> list[str]:
        return [field.column for field in self.model._meta.concrete_fields]

    @property
    def trigger_uri(self) -> str:
        return f"{self.model._meta.label}:projector_only"

    def keys_for(self, events: Sequence[DomainEvent]) -> list:
        with connection.cursor() as cursor:
            _execute(cursor, self.keys_sql, Touched.by(events).params())
            return [row[0] for row in cursor.fetchall()]

    def all_keys(self) -> list:
        with connection.cursor() as cursor:
            cursor.execute(self.all_keys_sql)
            return [row[0] for row in cursor.fetchall()]

    def refresh(self, keys: Sequence, *, position: str, into: str | None = None) -> int:
        """Recompute the rows for `keys` into the live table (or `into`, a scratch copy)."""
        if not keys:
            return 0
        columns = self.columns
        key, *rest = columns
        compared = [column for column in rest if column not in self.bookkeeping_columns]
        sql = f"""
            INSERT INTO {into or self.table} AS t ({", ".join(columns)})
            {self.select_sql.format(key_type=self.key_type)}
            ON CONFLICT ({key}) DO UPDATE SET
                {", ".join(f"{column} = EXCLUDED.{column}" for column in rest)}
            WHERE ({", ".join(f"t.{c}" for c in compared)})
                IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in compared)})
        """
        with connection.cursor() as cursor:
            _execute(cursor, sql, {"keys": list(keys), "position": position})
            return cursor.rowcount


# The products an event batch touches: named directly, or on the lines of a touched order
# (payment and delivery change a product's revenue without naming it).
_TOUCHED_PRODUCTS = """
    SELECT unnest(%(products)s::bigint[])
    UNION SELECT product_id FROM orders_orderline WHERE order_id = ANY(%(orders)s::bigint[])
"""


class ProductSummaryProjection(Projection):
    name = "product_summary"
    model = ProductSummary
    bookkeeping_columns = ("position",)
    keys_sql = _TOUCHED_PRODUCTS
    all_keys_sql = "SELECT id FROM catalog_product ORDER BY id"
    select_sql = f"""
        SELECT p.id, p.sku, p.name, p.slug, p.description, c.id, c.name, c.slug,
               p.price, p.currency, p.stock, p.stock > 0, p.active,
               COALESCE(s.units_sold, 0), COALESCE(s.revenue, 0), COALESCE(s.order_count, 0),
               s.last_ordered_at,
               setweight(to_tsvector('english', p.name), 'A')
               || setweight(to_tsvector('simple', p.sku), 'A')
               || setweight(to_tsvector('english', c.name), 'B')
               || setweight(to_tsvector('english', p.description), 'C'),
               %(position)s
        FROM catalog_product p
        JOIN catalog_category c ON c.id = p.category_id
        LEFT JOIN LATERAL (
            SELECT SUM(l.quantity) FILTER (WHERE o.status <> 'cancelled') AS units_sold,
                   SUM(l.quantity * l.unit_price)
                       FILTER (WHERE o.status IN {REVENUE_STATUSES}) AS revenue,
                   COUNT(*) FILTER (WHERE o.status <> 'cancelled') AS order_count,
                   MAX(o.placed_at) FILTER (WHERE o.status <> 'cancelled') AS last_ordered_at
            FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
            WHERE l.product_id = p.id
        ) s ON true
        WHERE p.id = ANY(%(keys)s::{{key_type}}[])
    """


class OrderSummaryProjection(Projection):
    name = "order_summary"
    model = OrderSummary
    keys_sql = "SELECT unnest(%(orders)s::bigint[])"
    all_keys_sql = "SELECT id FROM orders_order ORDER BY id"
    select_sql = """
        SELECT o.id, o.customer_id, cu.display_name, cu.email, o.status,
               COUNT(l.id), SUM(l.quantity), o.total, o.currency,
               ARRAY_AGG(l.product_name ORDER BY l.id),
               JSONB_AGG(JSONB_BUILD_OBJECT(
                   'sku', l.sku, 'name', l.product_name, 'quantity', l.quantity,
                   'unit_price', l.unit_price::text,
                   'line_total', (l.quantity * l.unit_price)::text
               ) ORDER BY l.id),
               o.placed_at, o.paid_at, o.shipped_at, o.delivered_at, o.cancelled_at,
               o.tracking_number, o.payment_reference, o.cancel_reason, o.version
        FROM orders_order o
        JOIN orders_customer cu ON cu.id = o.customer_id
        JOIN orders_orderline l ON l.order_id = o.id
        WHERE o.id = ANY(%(keys)s::{key_type}[])
        GROUP BY o.id, cu.id
    """


class CustomerSummaryProjection(Projection):
    name = "customer_summary"
    model = CustomerSummary
    keys_sql = """
        SELECT unnest(%(customers)s::bigint[])
        UNION SELECT customer_id FROM orders_order WHERE id = ANY(%(orders)s::bigint[])
    """
    all_keys_sql = "SELECT id FROM orders_customer ORDER BY id"
    select_sql = f"""
        SELECT cu.id, cu.display_name, cu.email,
               COUNT(o.id) FILTER (WHERE o.status <> 'cancelled'),
               COALESCE(SUM(o.total) FILTER (WHERE o.status IN {REVENUE_STATUSES}), 0),
               MAX(o.placed_at)
        FROM orders_customer cu
        LEFT JOIN orders_order o ON o.customer_id = cu.id
        WHERE cu.id = ANY(%(keys)s::{{key_type}}[])
        GROUP BY cu.id
    """


class DailySalesProjection(Projection):
    name = "daily_sales"
    model = DailySales
    key_type = "date"
    keys_sql = """
        SELECT DISTINCT (placed_at AT TIME ZONE 'UTC')::date
        FROM orders_order WHERE id = ANY(%(orders)s::bigint[])
    """
    all_keys_sql = (
        "SELECT DISTINCT (placed_at AT TIME ZONE 'UTC')::date AS day FROM orders_order ORDER BY day"
    )
    # A day's bounds as timestamps, so the placed_at index serves the range.
    select_sql = f"""
        SELECT day.day,
               COUNT(*),
               COUNT(*) FILTER (WHERE o.status = 'cancelled'),
               COALESCE(SUM(units.units) FILTER (WHERE o.status <> 'cancelled'), 0),
               COALESCE(SUM(o.total) FILTER (WHERE o.status <> 'cancelled'), 0),
               COALESCE(SUM(o.total) FILTER (WHERE o.status IN {REVENUE_STATUSES}), 0)
        FROM unnest(%(keys)s::{{key_type}}[]) AS day(day)
        JOIN orders_order o
          ON o.placed_at >= day.day::timestamp AT TIME ZONE 'UTC'
         AND o.placed_at < (day.day + 1)::timestamp AT TIME ZONE 'UTC'
        CROSS JOIN LATERAL (
            SELECT SUM(quantity) AS units FROM orders_orderline WHERE order_id = o.id
        ) units
        GROUP BY day.day
    """


class CategorySummaryProjection(Projection):
    name = "category_summary"
    model = CategorySummary
    keys_sql = f"""
        SELECT unnest(%(categories)s::bigint[])
        UNION SELECT category_id FROM catalog_product WHERE id IN ({_TOUCHED_PRODUCTS})
    """
    all_keys_sql = "SELECT id FROM catalog_category ORDER BY id"
    select_sql = """
        SELECT c.id, c.name, c.slug,
               COUNT(p.id),
               COUNT(p.id) FILTER (WHERE p.active),
               COUNT(p.id) FILTER (WHERE p.active AND p.stock > 0),
               MIN(p.price) FILTER (WHERE p.active),
               MAX(p.price) FILTER (WHERE p.active)
        FROM catalog_category c
        LEFT JOIN catalog_product p ON p.category_id = c.id
        WHERE c.id = ANY(%(keys)s::{key_type}[])
        GROUP BY c.id
    """


PROJECTIONS: dict[str, Projection] = {
    projection.name: projection
    for projection in (
        ProductSummaryProjection(),
        OrderSummaryProjection(),
        CustomerSummaryProjection(),
        DailySalesProjection(),
        CategorySummaryProjection(),
    )
}


def get_projections(names: Iterable[str] | None = None) -> list[Projection]:
    """The named projections (all when `names` is empty); KeyError names the unknown ones."""
    if not names:
        return list(PROJECTIONS.values())
    unknown = [name for name in names if name not in PROJECTIONS]
    if unknown:
        raise KeyError(f"unknown projection {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}")
    return [PROJECTIONS[name] for name in names]
