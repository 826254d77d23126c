"""One projector per summary table, and the definitions of every figure the read side shows.

A projector applies a batch of events to its table with one set-based statement, and its cost
follows the batch, never the history behind it:
- **additive figures** (units, revenue, counts, lifetime value, a day's sums) move by deltas
  computed from the batch's own events. An order event is joined to its order's `OrderPlaced`
  event (through the aggregate index) for the lines and total, which never change once placed.
  A delta has its effect exactly once because it commits with the checkpoint advance;
- **"last ordered at"** is monotone (the latest order placed, whatever became of it), kept with
  GREATEST, so it never needs a look back;
- **descriptive fields** (names, prices, stock, status) are copied from the current normalized
  rows of the keys the batch touches: overwriting is idempotent.

The same statement, fed every event up to a position instead of a batch, is the **fold** a
rebuild uses: additive figures are the sum of every event's delta up to exactly the position the
rebuild stores as its checkpoint, so the deltas that follow can never count an event twice.
`recompute_sql` is the third, independent source for `--verify`: the figures recomputed from the
normalized tables.

Each projector subscribes to the event types that can change its rows (shipping an order
changes no total, so only the order's own summary hears of it).

Definitions (written once, here; docs/architecture.md repeats them):
- an order *counts as revenue* while it is paid, shipped or delivered; a cancellation takes it
  back out. Units sold count every order that is not cancelled.
- ProductSummary: units_sold, order_count (orders containing it) over non-cancelled orders;
  revenue = Σ quantity × unit price over revenue orders; last_ordered_at = the latest order
  placed containing it, whatever became of it.
- CustomerSummary: order_count = non-cancelled orders; lifetime_value = Σ totals of revenue
  orders; last_order_at = the latest order placed, whatever became of it.
- DailySales, per UTC day an order was placed: orders_placed (all), orders_cancelled, units_sold
  (non-cancelled), gross_revenue = Σ totals of non-cancelled orders, net_revenue = Σ totals of
  revenue orders (cancelled and still unpaid orders excluded).
- CategorySummary: product_count (all), active_product_count, in_stock_product_count (active
  with stock > 0), min/max price over active products. These describe the catalog as it is now,
  not history: a refresh costs the category's products, and no order adds to that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection
from django.db.models import Model

from catalog import events as catalog_events
from core.eventlog import Event, Position, current_payload_sql
from orders import events as order_events
from orders.address import address_json_sql
from readmodels.models import (
    CategorySummary,
    CustomerSummary,
    DailySales,
    DeadLetter,
    DomainEvent,
    OrderSummary,
    ProductSearchDocument,
    ProductSearchTerm,
    ProductSummary,
)

REVENUE_STATUSES = "('paid', 'shipped', 'delivered')"
EVENTS = DomainEvent._meta.db_table


_NAMED_PARAM = re.compile(r"%\((\w+)\)s")


def _positional(sql: str, params: dict) -> tuple[str, list]:
    """SQL written with %(name)s placeholders, as positional ones: pgtrigger.ignore prepends a
    positional set_config() to each statement, and psycopg refuses to mix the two styles."""
    return _NAMED_PARAM.sub("%s", sql), [params[name] for name in _NAMED_PARAM.findall(sql)]


# Which events a statement applies: a live batch by id, or, for a fold, every event up to a
# position except this projection's dead letters (a replay applies those, once).
_BATCH_EVENTS = "e.id = ANY(%(event_ids)s::bigint[])"
_FOLD_EVENTS = f"""
    (e.txid, e.id) <= (%(txid)s::xid8, %(event_id)s)
    AND NOT EXISTS (
        SELECT 1 FROM {DeadLetter._meta.db_table} d
        WHERE d.event_id = e.id AND d.projection = %(projection)s
          AND d.status = '{DeadLetter.Status.DEAD}'
    )
"""

# The ids the events declare (Event.touches, Event.touches_lines): id field -> kind of id.
_ID_FIELDS = {field: kind for event in Event.types() for field, kind in event.touches.items()}
_LINE_FIELDS = sorted({field for event in Event.types() for field in event.touches_lines})
_ID_KINDS = " ".join(
    f"WHEN '{field}' THEN '{kind}'" for field, kind in sorted(_ID_FIELDS.items()) if field != kind
)
_LINES = " || ".join(f"COALESCE(batch.payload -> '{field}', '[]')" for field in _LINE_FIELDS)

# The events, in their current shape, and the ids they name as rows of `touched (kind, id)`.
# Derived in SQL, so a batch's payloads never travel to Python.
_BATCH = f"""
    batch AS (
        SELECT e.id, e.event_type, e.aggregate_id, {{payload}} AS payload
        FROM {{events}} e
        WHERE ({{selection}}) AND e.event_type = ANY(%(event_types)s::text[])
    ),
    touched (kind, id) AS (
        SELECT CASE field {_ID_KINDS} ELSE field END,
               (batch.payload ->> field)::bigint
        FROM batch, unnest(ARRAY[{", ".join(f"'{field}'" for field in sorted(_ID_FIELDS))}]) AS field
        WHERE batch.payload ? field
        UNION ALL
        SELECT 'product_id', (line ->> 'product_id')::bigint
        FROM batch, jsonb_array_elements({_LINES}) AS line
    ),
"""


def _touched(kind: str) -> str:
    """The ids of one kind ('product_id', 'order_id', …) that the batch names."""
    return f"SELECT id FROM touched WHERE kind = '{kind}'"


# What each order event does to the figures, with its order as placed: `counted` is +1 while an
# order counts (placed) and -1 when it stops (cancelled); `earned` is +1 when it becomes revenue
# (paid) and -1 when revenue is taken back (cancelled from a revenue status).
_ORDER_EFFECTS = f"""
    placed_orders AS (
        SELECT b.event_type, NULL AS previous_status, b.payload AS placed
        FROM batch b WHERE b.event_type = 'OrderPlaced'
        UNION ALL
        SELECT b.event_type, b.payload ->> 'previous_status', {current_payload_sql("pe")}
        FROM batch b
        JOIN {EVENTS} pe
          ON pe.aggregate_type = 'order' AND pe.aggregate_id = b.aggregate_id
         AND pe.event_type = 'OrderPlaced'
        WHERE b.event_type IN ('OrderPaid', 'OrderCancelled')
    ),
    effects AS (
        SELECT placed,
               CASE event_type WHEN 'OrderPlaced' THEN 1 WHEN 'OrderCancelled' THEN -1
                               ELSE 0 END AS counted,
               CASE WHEN event_type = 'OrderPaid' THEN 1
                    WHEN event_type = 'OrderCancelled' AND previous_status IN {REVENUE_STATUSES}
                    THEN -1 ELSE 0 END AS earned,
               (event_type = 'OrderPlaced')::int AS placed_count,
               (event_type = 'OrderCancelled')::int AS cancelled_count,
               (placed ->> 'placed_at')::timestamptz AS placed_at,
               (placed ->> 'total')::numeric AS total
        FROM placed_orders
    ),
"""


class Projection:
    """A summary table and the SQL that applies events to it.

    `events` are the event types that can change the table's rows; the rest pass it by.
    `ctes` adds common table expressions after `batch` and `touched`; `keys_sql` lists the keys
    a batch touches and `all_keys_sql` every key (for a fold); `rows_sql` selects the rows for
    the keys in `keys`, in the order `columns` names them, the first being the primary key
    ({target} names the table written). Columns in `additive` hold deltas in `rows_sql` and are
    added ("sum") or kept at their maximum ("max"); every other column is overwritten.
    `recompute_sql` computes every row from the normalized tables alone (for `--verify`); it is
    needed only where there are additive columns.
    """

    name: str
    model: type[Model]
    # The table's columns, in the order rows_sql selects them (tests/readmodels/
    # test_projection_contract.py checks them against the model).
    columns: tuple[str, ...]
    events: tuple[type[Event], ...]
    ctes: str = ""
    keys_sql: str
    all_keys_sql: str
    rows_sql: str
    recompute_sql: str | None = None
    additive: dict[str, str] = {}
    # A table whose rows are identified by several columns keeps them here; `replaced_by`
    # names the column whose touched keys have all their rows replaced (rows can disappear).
    key_columns: tuple[str, ...] = ()
    replaced_by: str | None = None
    # Columns that record when a row was refreshed rather than what it says.
    bookkeeping_columns: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def keys(self) -> tuple[str, ...]:
        return self.key_columns or (self.columns[0],)

    @property
    def compared_columns(self) -> list[str]:
        return [c for c in self.columns if c not in (*self.keys, *self.bookkeeping_columns)]

    @property
    def trigger_uri(self) -> str:
        return f"{self.model._meta.label}:projector_only"

    @property
    def event_types(self) -> list[str]:
        return [event.event_type() for event in self.events]

    def apply(self, events: Sequence[Position]) -> None:
        """Apply these events (in log order) to the live table: deltas for the additive figures,
        the current normalized rows for the rest."""
        with connection.cursor() as cursor:
            for sql, params in self.apply_statements(events):
                cursor.execute(sql, params)

    def apply_statements(self, events: Sequence[Position]) -> list[tuple[str, list]]:
        """The statements (SQL, positional parameters) that `apply` runs, for a caller that
        sends several projections' statements together."""
        return self._upsert_statements(
            _BATCH_EVENTS,
            self.keys_sql,
            into=self.table,
            event_ids=[event.event_id for event in events],
            position=str(events[-1]),
        )

    def fold(self, upto: Position, *, into: str | None = None) -> int:
        """Write every row as the events up to `upto` make it, into the live table (which the
        caller has emptied) or `into`, a scratch copy. Call it inside a transaction."""
        with connection.cursor() as cursor:
            # A fold groups the whole log: let it hash in memory rather than sort on disk.
            cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.FOLD_WORK_MEM])
        statements = self._upsert_statements(
            _FOLD_EVENTS,
            self.all_keys_sql,
            into=into or self.table,
            txid=str(upto.txid),
            event_id=upto.event_id,
            projection=self.name,
            position=str(upto),
        )
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
            return cursor.rowcount

    def recompute(self, *, into: str) -> None:
        """Every row computed from the normalized tables alone, into the scratch table `into`."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {into} ({', '.join(self.columns)}) "
                + (self.recompute_sql or self.rows_sql)
                .format(target=into, keys=f"(SELECT id FROM ({self.all_keys_sql}) all_keys (id))")
                .replace("%(position)s", "'recompute'")
            )

    def _upsert_statements(
        self, selection: str, keys_sql: str, *, into: str, **params
    ) -> list[tuple[str, list]]:
        rest = [column for column in self.columns if column not in self.keys]
        new = {
            column: {
                "sum": f"t.{column} + EXCLUDED.{column}",
                "max": f"GREATEST(t.{column}, EXCLUDED.{column})",
            }.get(self.additive.get(column), f"EXCLUDED.{column}")
            for column in rest
        }
        compared = self.compared_columns
        batch = _BATCH.format(payload=current_payload_sql("e"), events=EVENTS, selection=selection)
        common = f"WITH {batch} {self.ctes} keys (id) AS ({keys_sql})"
        sql = f"""
            {common}
            INSERT INTO {into} AS t ({", ".join(self.columns)})
            {self.rows_sql.format(target=into, keys="(SELECT id FROM keys)")}
            ON CONFLICT ({", ".join(self.keys)}) DO UPDATE SET
                {", ".join(f"{column} = {new[column]}" for column in rest)}
            WHERE ({", ".join(f"t.{c}" for c in compared)})
                IS DISTINCT FROM ({", ".join(new[c] for c in compared)})
        """
        params = {**params, "event_types": self.event_types}
        if not self.replaced_by:
            return [_positional(sql, params)]
        replace = f"{common} DELETE FROM {into} WHERE {self.replaced_by} IN (SELECT id FROM keys)"
        return [_positional(replace, params), _positional(sql, params)]

    def all_keys(self) -> list:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({self.all_keys_sql}) all_keys")
            return [row[0] for row in cursor.fetchall()]


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

_PRODUCT_DESCRIPTION = """
    p.id, p.sku, p.name, p.slug, p.description, c.id, c.name, c.slug,
    p.price, p.currency, p.stock, p.stock > 0, p.active
"""
_PRODUCT_TEXT = """
    setweight(to_tsvector('english', p.name), 'A')
    || setweight(to_tsvector('simple', p.sku), 'A')
    || setweight(to_tsvector('english', c.name), 'B')
    || setweight(to_tsvector('english', p.description), 'C')
"""


def _product_rows(figures: str, *, where: str = "") -> str:
    """A product's row: its current description, and the additive figures of `figures` (the
    batch's deltas, or a recompute from the tables), a relation with one row per product."""
    return f"""
        SELECT {_PRODUCT_DESCRIPTION},
               COALESCE(s.units_sold, 0), COALESCE(s.revenue, 0), COALESCE(s.order_count, 0),
               s.last_ordered_at, %(position)s
        FROM catalog_product p
        JOIN catalog_category c ON c.id = p.category_id
        LEFT JOIN {figures} s ON s.product_id = p.id
        {where}
    """


class ProductSummaryProjection(Projection):
    name = "product_summary"
    model = ProductSummary
    columns = (
        "product_id",
        "sku",
        "name",
        "slug",
        "description",
        "category_id",
        "category_name",
        "category_slug",
        "price",
        "currency",
        "stock",
        "in_stock",
        "active",
        "units_sold",
        "revenue",
        "order_count",
        "last_ordered_at",
        "position",
    )
    events = (*_PRODUCT_CHANGES, *_ORDER_FIGURES)
    bookkeeping_columns = ("position",)
    additive = {"units_sold": "sum", "revenue": "sum", "order_count": "sum",
                "last_ordered_at": "max"}  # fmt: skip
    ctes = f"""
        {_ORDER_EFFECTS}
        deltas AS (
            SELECT (line ->> 'product_id')::bigint AS product_id,
                   SUM(counted * (line ->> 'quantity')::bigint) AS units_sold,
                   SUM(earned * (line ->> 'quantity')::bigint * (line ->> 'unit_price')::numeric)
                       AS revenue,
                   SUM(counted) AS order_count,
                   MAX(placed_at) FILTER (WHERE placed_count = 1) AS last_ordered_at
            FROM effects, jsonb_array_elements(placed -> 'lines') AS line
            GROUP BY 1
        ),
    """
    keys_sql = f"{_touched('product_id')} UNION SELECT product_id FROM deltas"
    all_keys_sql = "SELECT id FROM catalog_product"
    rows_sql = _product_rows("deltas", where="WHERE p.id IN {keys}")
    recompute_sql = _product_rows(
        f"""(
            SELECT l.product_id,
                   SUM(l.quantity) FILTER (WHERE o.status <> 'cancelled') AS units_sold,
                   SUM(l.quantity * l.unit_price)
                       FILTER (WHERE o.status IN {REVENUE_STATUSES}) AS revenue,
                   COUNT(*) FILTER (WHERE o.status <> 'cancelled') AS order_count,
                   MAX(o.placed_at) AS last_ordered_at
            FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
            GROUP BY l.product_id
        )"""
    )


class ProductDocumentProjection(Projection):
    """A product's searchable text as one search vector. Only a change of the text changes it,
    so sales never reach this table (re-parsing descriptions was a quarter of a refresh)."""

    name = "product_document"
    model = ProductSearchDocument
    columns = ("product_id", "search_vector")
    events = (catalog_events.ProductCreated, catalog_events.ProductDetailsChanged)
    keys_sql = _touched("product_id")
    all_keys_sql = "SELECT id FROM catalog_product"
    rows_sql = f"""
        SELECT p.id, {_PRODUCT_TEXT}
        FROM catalog_product p
        JOIN catalog_category c ON c.id = p.category_id
        WHERE p.id IN {{keys}}
    """


class ProductSearchProjection(Projection):
    """Each word of a product's text with the product's rank for a search of that word: the
    rank `ts_rank` gives the product's whole search vector for that one lexeme, so a one-word
    search ordered by these ranks is the same list as ranking every match. Only a change of the
    text changes the terms, so sales never reach this table."""

    name = "product_search"
    model = ProductSearchTerm
    columns = ("lexeme", "product_id", "rank")
    events = (catalog_events.ProductCreated, catalog_events.ProductDetailsChanged)
    key_columns = ("lexeme", "product_id")
    replaced_by = "product_id"
    keys_sql = _touched("product_id")
    all_keys_sql = "SELECT id FROM catalog_product"
    rows_sql = f"""
        SELECT term.lexeme, p.id, ts_rank(text.vector, quote_literal(term.lexeme)::tsquery)
        FROM catalog_product p
        JOIN catalog_category c ON c.id = p.category_id
        -- OFFSET 0 keeps the vector computed once per product, not once per term.
        CROSS JOIN LATERAL (SELECT {_PRODUCT_TEXT} AS vector OFFSET 0) text
        CROSS JOIN LATERAL unnest(text.vector) term
        WHERE p.id IN {{keys}}
    """


class OrderSummaryProjection(Projection):
    name = "order_summary"
    model = OrderSummary
    columns = (
        "order_id",
        "customer_id",
        "customer_name",
        "customer_email",
        "status",
        "line_count",
        "units",
        "total",
        "currency",
        "product_names",
        "lines",
        "placed_at",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
        "tracking_number",
        "payment_reference",
        "cancel_reason",
        "version",
        "shipping_address",
    )
    events = (
        *_ORDER_FIGURES,
        order_events.OrderShipped,
        order_events.OrderDelivered,
    )
    keys_sql = _touched("order_id")
    all_keys_sql = "SELECT id FROM orders_order"
    # An order's lines are few: its row is copied whole from the normalized tables.
    rows_sql = f"""
        SELECT o.id, o.customer_id, cu.display_name, cu.email, o.status,
               COUNT(l.id), SUM(l.quantity), o.total, o.currency,
               ARRAY_AGG(l.product_name ORDER BY l.id),
               JSONB_AGG(JSONB_BUILD_OBJECT(
                   'sku', l.sku, 'name', l.product_name, 'quantity', l.quantity,
                   'unit_price', l.unit_price::text,
                   'line_total', (l.quantity * l.unit_price)::text
               ) ORDER BY l.id),
               o.placed_at, o.paid_at, o.shipped_at, o.delivered_at, o.cancelled_at,
               o.tracking_number, o.payment_reference, o.cancel_reason, o.version,
               {address_json_sql("o")}
        FROM orders_order o
        JOIN orders_customer cu ON cu.id = o.customer_id
        JOIN orders_orderline l ON l.order_id = o.id
        WHERE o.id IN {{keys}}
        GROUP BY o.id, cu.id
    """


class CustomerSummaryProjection(Projection):
    name = "customer_summary"
    model = CustomerSummary
    columns = ("customer_id", "name", "email", "order_count", "lifetime_value", "last_order_at")
    events = (order_events.CustomerRegistered, *_ORDER_FIGURES)
    additive = {"order_count": "sum", "lifetime_value": "sum", "last_order_at": "max"}
    ctes = f"""
        {_ORDER_EFFECTS}
        deltas AS (
            SELECT (placed ->> 'customer_id')::bigint AS customer_id,
                   SUM(counted) AS order_count,
                   SUM(earned * total) AS lifetime_value,
                   MAX(placed_at) FILTER (WHERE placed_count = 1) AS last_order_at
            FROM effects
            GROUP BY 1
        ),
    """
    keys_sql = f"{_touched('customer_id')} UNION SELECT customer_id FROM deltas"
    all_keys_sql = "SELECT id FROM orders_customer"
    rows_sql = """
        SELECT cu.id, cu.display_name, cu.email, COALESCE(d.order_count, 0),
               COALESCE(d.lifetime_value, 0), d.last_order_at
        FROM orders_customer cu
        LEFT JOIN deltas d ON d.customer_id = cu.id
        WHERE cu.id IN {keys}
    """
    recompute_sql = f"""
        SELECT cu.id, cu.display_name, cu.email,
               COUNT(o.id) FILTER (WHERE o.status <> 'cancelled'),
               COALESCE(SUM(o.total) FILTER (WHERE o.status IN {REVENUE_STATUSES}), 0),
               MAX(o.placed_at)
        FROM orders_customer cu
        LEFT JOIN orders_order o ON o.customer_id = cu.id
        GROUP BY cu.id
    """


class DailySalesProjection(Projection):
    name = "daily_sales"
    model = DailySales
    columns = (
        "date",
        "orders_placed",
        "orders_cancelled",
        "units_sold",
        "gross_revenue",
        "net_revenue",
    )
    events = _ORDER_FIGURES
    additive = {
        "orders_placed": "sum",
        "orders_cancelled": "sum",
        "units_sold": "sum",
        "gross_revenue": "sum",
        "net_revenue": "sum",
    }
    ctes = f"""
        {_ORDER_EFFECTS}
        deltas AS (
            SELECT (placed_at AT TIME ZONE 'UTC')::date AS day,
                   SUM(placed_count) AS orders_placed,
                   SUM(cancelled_count) AS orders_cancelled,
                   SUM(counted * units.units) AS units_sold,
                   SUM(counted * total) AS gross_revenue,
                   SUM(earned * total) AS net_revenue
            FROM effects CROSS JOIN LATERAL (
                SELECT SUM((line ->> 'quantity')::bigint) AS units
                FROM jsonb_array_elements(placed -> 'lines') AS line
            ) units
            GROUP BY 1
        ),
    """
    # A day has a row once an order is placed on it: its keys are the days the deltas name.
    keys_sql = all_keys_sql = "SELECT day FROM deltas"
    rows_sql = """
        SELECT day, orders_placed, orders_cancelled, units_sold, gross_revenue, net_revenue
        FROM deltas WHERE day IN {keys}
    """
    recompute_sql = f"""
        SELECT (o.placed_at AT TIME ZONE 'UTC')::date,
               COUNT(*),
               COUNT(*) FILTER (WHERE o.status = 'cancelled'),
               COALESCE(SUM(units.units) FILTER (WHERE o.status <> 'cancelled'), 0),
               COALESCE(SUM(o.total) FILTER (WHERE o.status <> 'cancelled'), 0),
               COALESCE(SUM(o.total) FILTER (WHERE o.status IN {REVENUE_STATUSES}), 0)
        FROM orders_order o
        JOIN (SELECT order_id, SUM(quantity) AS units FROM orders_orderline GROUP BY order_id)
             units ON units.order_id = o.id
        GROUP BY 1
    """


class CategorySummaryProjection(Projection):
    name = "category_summary"
    model = CategorySummary
    columns = (
        "category_id",
        "name",
        "slug",
        "product_count",
        "active_product_count",
        "in_stock_product_count",
        "min_price",
        "max_price",
    )
    # Placing and cancelling orders move stock, and so the in-stock count.
    events = (
        catalog_events.CategoryCreated,
        *_PRODUCT_CHANGES,
        order_events.OrderPlaced,
        order_events.OrderCancelled,
    )
    keys_sql = f"""
        {_touched("category_id")}
        UNION SELECT category_id FROM catalog_product WHERE id IN ({_touched("product_id")})
    """
    all_keys_sql = "SELECT id FROM catalog_category"
    rows_sql = """
        SELECT c.id, c.name, c.slug,
               COUNT(p.id),
               COUNT(p.id) FILTER (WHERE p.active),
               COUNT(p.id) FILTER (WHERE p.active AND p.stock > 0),
               MIN(p.price) FILTER (WHERE p.active),
               MAX(p.price) FILTER (WHERE p.active)
        FROM catalog_category c
        LEFT JOIN catalog_product p ON p.category_id = c.id
        WHERE c.id IN {keys}
        GROUP BY c.id
    """


PROJECTIONS: dict[str, Projection] = {
    projection.name: projection
    for projection in (
        ProductSummaryProjection(),
        ProductDocumentProjection(),
        ProductSearchProjection(),
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
