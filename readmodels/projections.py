"""One projector per summary table, and the definitions of every figure the read side shows.

A projector does not replay events into rows. It maps a batch of events to the *keys* of the
summary rows they touch, then recomputes exactly those rows from the normalized tables with one
`INSERT … SELECT … ON CONFLICT DO UPDATE`. Recomputing from the source of truth makes a refresh
idempotent and order-insensitive: running it twice, replaying a dead letter late, or overlapping
a rebuild can never count anything twice. A rebuild is the same refresh over every key.

Each projector subscribes to the event types that can change its rows (shipping an order
changes no total, so only the order's own summary hears of it). The keys are derived from the
payloads in SQL, so a batch of events never has to be loaded into Python.

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

import re
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model

from catalog import events as catalog_events
from orders import events as order_events
from readmodels.eventlog import Event, Position
from readmodels.models import (
    CategorySummary,
    CustomerSummary,
    DailySales,
    DomainEvent,
    OrderSummary,
    ProductSummary,
)

REVENUE_STATUSES = "('paid', 'shipped', 'delivered')"


_NAMED_PARAM = re.compile(r"%\((\w+)\)s")


def _execute(cursor, sql: str, params: dict) -> None:
    """Run SQL written with %(name)s placeholders as positional ones: pgtrigger.ignore prepends
    a positional set_config() to each statement, and psycopg refuses to mix the two styles."""
    cursor.execute(
        _NAMED_PARAM.sub("%s", sql), [params[name] for name in _NAMED_PARAM.findall(sql)]
    )


# The ids a batch of events names, as rows of `touched (kind, id)`. Derived in SQL, so a batch's
# payloads never travel to Python; only the event types a projection subscribes to count.
_TOUCHED = f"""
    batch AS (
        SELECT payload FROM {DomainEvent._meta.db_table}
        WHERE id = ANY(%(event_ids)s::bigint[]) AND event_type = ANY(%(event_types)s::text[])
    ),
    touched (kind, id) AS (
        SELECT CASE field WHEN 'previous_category_id' THEN 'category_id' ELSE field END,
               (batch.payload ->> field)::bigint
        FROM batch, unnest(ARRAY['product_id', 'category_id', 'previous_category_id',
                                 'order_id', 'customer_id']) AS field
        WHERE batch.payload ? field
        UNION ALL
        SELECT 'product_id', (line ->> 'product_id')::bigint
        FROM batch, jsonb_array_elements(
            COALESCE(batch.payload -> 'lines', '[]') || COALESCE(batch.payload -> 'restocked', '[]')
        ) AS line
    )
"""


def _touched(kind: str) -> str:
    """The ids of one kind ('product_id', 'order_id', …) that the batch names."""
    return f"SELECT id FROM touched WHERE kind = '{kind}'"


class Projection:
    """A summary table and the SQL that recomputes its rows for a list of keys.

    `events` are the event types that can change the table's rows; the rest pass it by.
    `keys_sql` maps the rows of `touched (kind, id)` to keys; `all_keys_sql` lists every key, for
    a rebuild; `select_sql` computes the rows for the array {keys} with columns in `columns`
    order, the first being the primary key ({target} names the table being written).
    """

    name: str
    model: type[Model]
    events: tuple[type[Event], ...]
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

    @property
    def event_types(self) -> list[str]:
        return [event.event_type() for event in self.events]

    def apply(self, events: Sequence[Position]) -> int:
        """Recompute the rows that these events (in log order) can have changed."""
        return self.refresh(self.keys_for(events), position=str(events[-1]))

    def keys_for(self, events: Sequence[Position]) -> list:
        # The events go down by id (a range of positions plans badly: its row comparison is
        # estimated at most of the log), and the keys come back and go down again as a literal
        # array, so the planner knows how many there are (with `ARRAY(SELECT …)` it guessed, and
        # daily sales took five times as long).
        with connection.cursor() as cursor:
            _execute(
                cursor,
                f"WITH {_TOUCHED} {self.keys_sql}",
                {
                    "event_ids": [event.event_id for event in events],
                    "event_types": self.event_types,
                },
            )
            return [row[0] for row in cursor.fetchall()]

    def all_keys(self) -> list:
        with connection.cursor() as cursor:
            cursor.execute(self.all_keys_sql)
            return [row[0] for row in cursor.fetchall()]

    def refresh(self, keys: Sequence, *, position: str, into: str | None = None) -> int:
        """Recompute the rows for `keys` into the live table (or `into`, a scratch copy)."""
        if not keys:
            return 0
        target = into or self.table
        columns = self.columns
        key, *rest = columns
        compared = [column for column in rest if column not in self.bookkeeping_columns]
        sql = f"""
            INSERT INTO {target} AS t ({", ".join(columns)})
            {self.select_sql.format(keys=f"%(keys)s::{self.key_type}[]", target=target)}
            ON CONFLICT ({key}) DO UPDATE SET
                {", ".join(f"{column} = EXCLUDED.{column}" for column in rest)}
            WHERE ({", ".join(f"t.{c}" for c in compared)})
                IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in compared)})
        """
        with connection.cursor() as cursor:
            _execute(cursor, sql, {"keys": list(keys), "position": position})
            return cursor.rowcount


# Order events that change what an order counts for: placing it, paying for it (revenue) and
# cancelling it. Shipping and delivery change only the order's own row.
_ORDER_FIGURES = (order_events.OrderPlaced, order_events.OrderPaid, order_events.OrderCancelled)
_PRODUCT_CHANGES = (
    catalog_events.ProductCreated,
    catalog_events.ProductDetailsChanged,
    catalog_events.ProductPriceChanged,
    catalog_events.ProductRestocked,
    catalog_events.ProductDiscontinued,
    catalog_events.ProductReactivated,
)

# The products a batch touches: named directly, or on the lines of a touched order (a payment
# changes a product's revenue without naming it).
_TOUCHED_PRODUCTS = f"""
    {_touched("product_id")}
    UNION SELECT product_id FROM orders_orderline WHERE order_id IN ({_touched("order_id")})
"""


class ProductSummaryProjection(Projection):
    name = "product_summary"
    model = ProductSummary
    events = (*_PRODUCT_CHANGES, *_ORDER_FIGURES)
    bookkeeping_columns = ("position",)
    keys_sql = _TOUCHED_PRODUCTS
    all_keys_sql = "SELECT id FROM catalog_product ORDER BY id"
    # One grouped pass over the keys' order lines: the planner can hash-join the orders, where
    # a per-product subquery would look each line's order up by index. Most refreshes are about
    # sales and stock, so the search vector is kept when the text it is made of is unchanged.
    select_sql = f"""
        SELECT p.id, p.sku, p.name, p.slug, p.description, c.id, c.name, c.slug,
               p.price, p.currency, p.stock, p.stock > 0, p.active,
               COALESCE(s.units_sold, 0), COALESCE(s.revenue, 0), COALESCE(s.order_count, 0),
               s.last_ordered_at,
               CASE WHEN (old.name, old.sku, old.category_name, old.description)
                         = (p.name, p.sku, c.name, p.description)
                    THEN old.search_vector
                    ELSE setweight(to_tsvector('english', p.name), 'A')
                         || setweight(to_tsvector('simple', p.sku), 'A')
                         || setweight(to_tsvector('english', c.name), 'B')
                         || setweight(to_tsvector('english', p.description), 'C')
               END,
               %(position)s
        FROM catalog_product p
        JOIN catalog_category c ON c.id = p.category_id
        LEFT JOIN {{target}} old ON old.product_id = p.id
        LEFT JOIN (
            SELECT l.product_id,
                   SUM(l.quantity) FILTER (WHERE o.status <> 'cancelled') AS units_sold,
                   SUM(l.quantity * l.unit_price)
                       FILTER (WHERE o.status IN {REVENUE_STATUSES}) AS revenue,
                   COUNT(*) FILTER (WHERE o.status <> 'cancelled') AS order_count,
                   MAX(o.placed_at) FILTER (WHERE o.status <> 'cancelled') AS last_ordered_at
            FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
            WHERE l.product_id = ANY({{keys}})
            GROUP BY l.product_id
        ) s ON s.product_id = p.id
        WHERE p.id = ANY({{keys}})
    """


class OrderSummaryProjection(Projection):
    name = "order_summary"
    model = OrderSummary
    events = (
        *_ORDER_FIGURES,
        order_events.OrderShipped,
        order_events.OrderDelivered,
    )
    keys_sql = _touched("order_id")
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
        WHERE o.id = ANY({keys})
        GROUP BY o.id, cu.id
    """


class CustomerSummaryProjection(Projection):
    name = "customer_summary"
    model = CustomerSummary
    events = (order_events.CustomerRegistered, *_ORDER_FIGURES)
    keys_sql = _touched("customer_id")
    all_keys_sql = "SELECT id FROM orders_customer ORDER BY id"
    select_sql = f"""
        SELECT cu.id, cu.display_name, cu.email,
               COUNT(o.id) FILTER (WHERE o.status <> 'cancelled'),
               COALESCE(SUM(o.total) FILTER (WHERE o.status IN {REVENUE_STATUSES}), 0),
               MAX(o.placed_at)
        FROM orders_customer cu
        LEFT JOIN orders_order o ON o.customer_id = cu.id
        WHERE cu.id = ANY({{keys}})
        GROUP BY cu.id
    """


class DailySalesProjection(Projection):
    name = "daily_sales"
    model = DailySales
    events = _ORDER_FIGURES
    key_type = "date"
    keys_sql = f"""
        SELECT DISTINCT (placed_at AT TIME ZONE 'UTC')::date
        FROM orders_order WHERE id IN ({_touched("order_id")})
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
        FROM unnest({{keys}}) AS day(day)
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
    # Placing and cancelling orders move stock, and so the in-stock count.
    events = (
        catalog_events.CategoryCreated,
        *_PRODUCT_CHANGES,
        order_events.OrderPlaced,
        order_events.OrderCancelled,
    )
    keys_sql = f"""
        {_touched("category_id")}
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
        WHERE c.id = ANY({keys})
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
