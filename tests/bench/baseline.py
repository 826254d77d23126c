"""What a plain CRUD app would do instead: reads computed from the normalized tables (joins and
GROUP BY, with sensible indexes), a naive one-event-at-a-time ORM projector, materialized views,
and a plain DRF view. Each is checked to return the same data as the CQRS side before timing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pgtrigger
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import queries as catalog_queries
from catalog.models import Category, Product
from orders import queries as order_queries
from orders.api import AddressIn
from orders.models import Customer, Order, OrderLine
from readmodels.models import (
    CategorySummary,
    CustomerSummary,
    DailySales,
    DomainEvent,
    OrderSummary,
    ProductSearchDocument,
    ProductSummary,
    ProjectionCheckpoint,
)
from readmodels.projections import get_projections

REVENUE = ("paid", "shipped", "delivered")
PRODUCT_TEXT = (
    "setweight(to_tsvector('english', p.name), 'A') || setweight(to_tsvector('simple', p.sku), 'A')"
)

# Indexes a CRUD app would have for these reads (the FK indexes exist already).
BASELINE_INDEXES = [
    "CREATE INDEX IF NOT EXISTS bench_order_customer_placed ON orders_order "
    "(customer_id, placed_at DESC, id DESC)",
    f"CREATE INDEX IF NOT EXISTS bench_product_fts ON catalog_product USING gin "
    f"(({PRODUCT_TEXT} || setweight(to_tsvector('english', p.description), 'C')))".replace(
        "p.", ""
    ),
    "CREATE INDEX IF NOT EXISTS bench_category_fts ON catalog_category USING gin "
    "(to_tsvector('english', name))",
    "CREATE INDEX IF NOT EXISTS bench_orderline_product_qty ON orders_orderline "
    "(product_id, order_id) INCLUDE (quantity, unit_price)",
]


def _rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


# --- Reads: (cqrs, baseline) pairs; each takes one parameter and returns comparable data ---


def cqrs_category(slug):
    products = catalog_queries.list_products(category=slug, ordering="-units_sold")[:24]
    return [(p.sku, p.units_sold, p.order_count, p.price) for p in products]


def base_category(slug):
    return _rows(
        """
        SELECT p.sku,
               COALESCE(SUM(l.quantity) FILTER (WHERE o.status <> 'cancelled'), 0) AS units,
               COUNT(o.id) FILTER (WHERE o.status <> 'cancelled'), p.price
        FROM catalog_product p
        JOIN catalog_category c ON c.id = p.category_id
        LEFT JOIN orders_orderline l ON l.product_id = p.id
        LEFT JOIN orders_order o ON o.id = l.order_id
        WHERE c.slug = %s AND p.active
        GROUP BY p.id ORDER BY units DESC, p.id LIMIT 24
        """,
        [slug],
    )


def cqrs_search(term):
    return [p.sku for p in catalog_queries.list_products(q=term)[:24]]


def base_search(term):
    # Single-word terms: a product matches its own text or its category's name, so the two GIN
    # indexes serve the match; the rank is over the same weighted document as the read model.
    return [
        row[0]
        for row in _rows(
            f"""
            WITH q AS (SELECT websearch_to_tsquery('english', %s) AS q),
            hits AS (
                SELECT p.id FROM catalog_product p, q
                WHERE ({PRODUCT_TEXT} || setweight(to_tsvector('english', p.description), 'C'))
                      @@ q.q
                UNION
                SELECT p.id FROM catalog_category c JOIN catalog_product p ON p.category_id = c.id, q
                WHERE to_tsvector('english', c.name) @@ q.q
            )
            SELECT p.sku FROM hits
            JOIN catalog_product p ON p.id = hits.id
            JOIN catalog_category c ON c.id = p.category_id, q
            WHERE p.active
            ORDER BY ts_rank({PRODUCT_TEXT} || setweight(to_tsvector('english', c.name), 'B')
                             || setweight(to_tsvector('english', p.description), 'C'), q.q) DESC,
                     p.id
            LIMIT 24
            """,
            [term],
        )
    ]


def cqrs_customer_orders(customer_id):
    orders = order_queries.list_orders(customer_id=customer_id)[:20]
    return [(o.order_id, o.status, o.total, o.line_count, o.units, o.product_names) for o in orders]


def base_customer_orders(customer_id):
    return [
        (a, b, c, d, e, list(f))
        for a, b, c, d, e, f in _rows(
            """
            SELECT o.id, o.status, o.total, COUNT(l.id), SUM(l.quantity),
                   ARRAY_AGG(l.product_name ORDER BY l.id)
            FROM orders_order o
            JOIN orders_customer cu ON cu.id = o.customer_id
            JOIN orders_orderline l ON l.order_id = o.id
            WHERE o.customer_id = %s
            GROUP BY o.id, cu.id ORDER BY o.placed_at DESC, o.id DESC LIMIT 20
            """,
            [customer_id],
        )
    ]


def cqrs_order(order_id):
    o = order_queries.get_order(order_id=order_id)
    return (
        o.order_id,
        o.customer_name,
        o.status,
        o.total,
        [(x["sku"], x["quantity"]) for x in o.lines],
    )


def base_order(order_id):
    ((oid, name, status, total, lines),) = _rows(
        """
        SELECT o.id, cu.display_name, o.status, o.total,
               JSON_AGG(JSON_BUILD_ARRAY(l.sku, l.quantity) ORDER BY l.id)
        FROM orders_order o
        JOIN orders_customer cu ON cu.id = o.customer_id
        JOIN orders_orderline l ON l.order_id = o.id
        WHERE o.id = %s GROUP BY o.id, cu.id
        """,
        [order_id],
    )
    return (oid, name, status, total, [tuple(x) for x in lines])


def cqrs_daily(end):
    return [
        (d.date, d.orders_placed, d.orders_cancelled, d.units_sold, d.gross_revenue, d.net_revenue)
        for d in order_queries.daily_sales(start=end - timedelta(days=29), end=end)
    ]


def base_daily(end):
    return _rows(
        f"""
        SELECT d::date, COUNT(o.id), COUNT(o.id) FILTER (WHERE o.status = 'cancelled'),
               COALESCE(SUM(u.units) FILTER (WHERE o.status <> 'cancelled'), 0),
               COALESCE(SUM(o.total) FILTER (WHERE o.status <> 'cancelled'), 0),
               COALESCE(SUM(o.total) FILTER (WHERE o.status IN {REVENUE}), 0)
        FROM generate_series(%s::date, %s::date, interval '1 day') d
        LEFT JOIN orders_order o
          ON o.placed_at >= d::date::timestamp AT TIME ZONE 'UTC'
         AND o.placed_at < (d::date + 1)::timestamp AT TIME ZONE 'UTC'
        LEFT JOIN LATERAL (
            SELECT SUM(quantity) AS units FROM orders_orderline WHERE order_id = o.id
        ) u ON true
        GROUP BY d ORDER BY d
        """,
        [end - timedelta(days=29), end],
    )


def cqrs_top_customers(_):
    return [
        (c.customer_id, c.lifetime_value, c.order_count) for c in order_queries.top_customers()[:20]
    ]


def base_top_customers(_):
    return _rows(
        f"""
        SELECT cu.id, COALESCE(SUM(o.total) FILTER (WHERE o.status IN {REVENUE}), 0) AS ltv,
               COUNT(o.id) FILTER (WHERE o.status <> 'cancelled')
        FROM orders_customer cu LEFT JOIN orders_order o ON o.customer_id = cu.id
        GROUP BY cu.id ORDER BY ltv DESC, cu.id LIMIT 20
        """
    )


def cqrs_best_sellers(_):
    return [(p.sku, p.units_sold, p.revenue) for p in catalog_queries.best_sellers()[:20]]


def base_best_sellers(_):
    return _rows(
        f"""
        SELECT p.sku, SUM(l.quantity) FILTER (WHERE o.status <> 'cancelled') AS units,
               COALESCE(SUM(l.quantity * l.unit_price) FILTER (WHERE o.status IN {REVENUE}), 0)
                   AS revenue
        FROM orders_orderline l
        JOIN orders_order o ON o.id = l.order_id
        JOIN catalog_product p ON p.id = l.product_id
        GROUP BY p.id
        HAVING SUM(l.quantity) FILTER (WHERE o.status <> 'cancelled') > 0
        ORDER BY units DESC, revenue DESC, p.id LIMIT 20
        """
    )


# name -> (cqrs, baseline, aggregate?)
READS = {
    "category by popularity": (cqrs_category, base_category, True),
    "full-text search": (cqrs_search, base_search, False),
    "customer's orders": (cqrs_customer_orders, base_customer_orders, False),
    "order detail": (cqrs_order, base_order, False),
    "daily sales 30 days": (cqrs_daily, base_daily, True),
    "top 20 customers": (cqrs_top_customers, base_top_customers, True),
    "best sellers": (cqrs_best_sellers, base_best_sellers, True),
}


# --- The naive projector: one event at a time, every touched row recomputed and saved ---

NAIVE_TRIGGERS = [
    f"{model._meta.label}:projector_only"
    for model in (
        ProductSummary,
        ProductSearchDocument,
        OrderSummary,
        CustomerSummary,
        DailySales,
        CategorySummary,
    )
]
NOT_CANCELLED = ~Q(order__status="cancelled")


def _ids_named(event) -> dict[str, set[int]]:
    """The ids an event's payload names, by kind (what the real projector derives in SQL)."""
    payload, ids = (
        event.payload,
        {"product": set(), "category": set(), "order": set(), "customer": set()},
    )
    for field, kind in (
        ("product_id", "product"),
        ("category_id", "category"),
        ("previous_category_id", "category"),
        ("order_id", "order"),
        ("customer_id", "customer"),
    ):
        if field in payload:
            ids[kind].add(int(payload[field]))
    for line in payload.get("lines", []) + payload.get("restocked", []):
        ids["product"].add(int(line["product_id"]))
    return ids


def naive_apply(event) -> None:
    # The same subscriptions as the real projectors: a table is recomputed only for the events
    # that can change it.
    hears = {p.name for p in get_projections() if event.event_type in p.event_types}
    ids = _ids_named(event)
    orders = list(Order.objects.select_related("customer").filter(pk__in=ids["order"]))
    products = set(ids["product"])
    if hears & {"product_summary", "category_summary"}:
        for order in orders:
            products.update(order.lines.values_list("product_id", flat=True))
    customers = ids["customer"] if "customer_summary" in hears else set()
    categories = set(ids["category"])
    with transaction.atomic(), pgtrigger.ignore(*NAIVE_TRIGGERS):
        for order in orders:
            if "order_summary" in hears:
                _naive_order_summary(order)
            if "daily_sales" in hears:
                _naive_daily_sales(order.placed_at.date())  # UTC (TIME_ZONE is UTC)
        for product in Product.objects.select_related("category").filter(pk__in=products):
            categories.add(product.category_id)
            if "product_summary" in hears:
                _naive_product_summary(product)
            if "product_document" in hears:
                _naive_product_document(product)
        for customer in Customer.objects.filter(pk__in=customers):
            _naive_customer_summary(customer)
        if "category_summary" in hears:
            for category in Category.objects.filter(pk__in=categories):
                _naive_category_summary(category)
        ProjectionCheckpoint.objects.update_or_create(
            name="bench-naive", defaults={"txid": event.txid, "event_id": event.id}
        )


def _naive_order_summary(order) -> None:
    lines = list(order.lines.order_by("id"))
    OrderSummary(
        order_id=order.pk,
        customer_id=order.customer_id,
        customer_name=order.customer.display_name,
        customer_email=order.customer.email,
        status=order.status,
        line_count=len(lines),
        units=sum(x.quantity for x in lines),
        total=order.total,
        currency=order.currency,
        product_names=[x.product_name for x in lines],
        lines=[
            {
                "sku": x.sku,
                "name": x.product_name,
                "quantity": x.quantity,
                "unit_price": str(x.unit_price),
                "line_total": str(x.quantity * x.unit_price),
            }
            for x in lines
        ],
        placed_at=order.placed_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        tracking_number=order.tracking_number,
        payment_reference=order.payment_reference,
        cancel_reason=order.cancel_reason,
        version=order.version,
    ).save()


def _naive_daily_sales(day) -> None:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    in_day = {"placed_at__gte": start, "placed_at__lt": start + timedelta(days=1)}
    day_orders = Order.objects.filter(**in_day)
    figures = day_orders.aggregate(
        placed=Count("id"),
        cancelled=Count("id", filter=Q(status="cancelled")),
        gross=Sum("total", filter=~Q(status="cancelled")),
        net=Sum("total", filter=Q(status__in=REVENUE)),
    )
    units = OrderLine.objects.filter(
        NOT_CANCELLED,
        order__placed_at__gte=start,
        order__placed_at__lt=in_day["placed_at__lt"],
    ).aggregate(units=Coalesce(Sum("quantity"), 0))["units"]
    DailySales(
        date=day,
        orders_placed=figures["placed"],
        orders_cancelled=figures["cancelled"],
        units_sold=units,
        gross_revenue=figures["gross"] or 0,
        net_revenue=figures["net"] or 0,
    ).save()


def _naive_product_summary(product) -> None:
    figures = OrderLine.objects.filter(product=product).aggregate(
        units=Sum("quantity", filter=NOT_CANCELLED),
        revenue=Sum(F("quantity") * F("unit_price"), filter=Q(order__status__in=REVENUE)),
        orders=Count("id", filter=NOT_CANCELLED),
        last=Max("order__placed_at"),
    )
    ProductSummary(
        product_id=product.pk, sku=product.sku, name=product.name, slug=product.slug,
        description=product.description, category_id=product.category_id,
        category_name=product.category.name, category_slug=product.category.slug,
        price=product.price, currency=product.currency, stock=product.stock,
        in_stock=product.stock > 0, active=product.active,
        units_sold=figures["units"] or 0, revenue=figures["revenue"] or 0,
        order_count=figures["orders"], last_ordered_at=figures["last"], position="naive",
    ).save()  # fmt: skip


def _naive_product_document(product) -> None:
    ProductSearchDocument.objects.update_or_create(
        product_id=product.pk,
        defaults={
            "search_vector": SearchVector(Value(product.name), config="english", weight="A")
            + SearchVector(Value(product.sku), config="simple", weight="A")
            + SearchVector(Value(product.category.name), config="english", weight="B")
            + SearchVector(Value(product.description), config="english", weight="C")
        },
    )


def _naive_customer_summary(customer) -> None:
    figures = customer.orders.aggregate(
        orders=Count("id", filter=~Q(status="cancelled")),
        ltv=Sum("total", filter=Q(status__in=REVENUE)),
        last=Max("placed_at"),
    )
    CustomerSummary(
        customer_id=customer.pk,
        name=customer.display_name,
        email=customer.email,
        order_count=figures["orders"],
        lifetime_value=figures["ltv"] or 0,
        last_order_at=figures["last"],
    ).save()


def _naive_category_summary(category) -> None:
    active = Q(products__active=True)
    figures = Category.objects.filter(pk=category.pk).aggregate(
        count=Count("products"),
        active=Count("products", filter=active),
        in_stock=Count("products", filter=active & Q(products__stock__gt=0)),
        low=Min("products__price", filter=active),
        high=Max("products__price", filter=active),
    )
    CategorySummary(
        category_id=category.pk,
        name=category.name,
        slug=category.slug,
        product_count=figures["count"],
        active_product_count=figures["active"],
        in_stock_product_count=figures["in_stock"],
        min_price=figures["low"],
        max_price=figures["high"],
    ).save()


def naive_pass(names) -> None:
    """A pass as a first projector would poll: each projection on its own, through the ORM, its
    checkpoint locked, the events after it read and the checkpoint saved (the horizon aside)."""
    for name in names:
        with transaction.atomic():
            checkpoint = ProjectionCheckpoint.objects.select_for_update(skip_locked=True).get(
                name=name
            )
            after = Q(txid__gt=checkpoint.txid) | Q(
                txid=checkpoint.txid, id__gt=checkpoint.event_id
            )
            list(DomainEvent.objects.filter(after).order_by("txid", "id").values_list("id")[:5000])
            checkpoint.last_run_at = datetime.now(UTC)
            checkpoint.save()


# --- Materialized views equivalent to the order and product summaries (full refresh); the
# product's view holds its search vector too, as the product summary did before the vector got a
# table of its own, which no order touches ---

MATERIALIZED_VIEWS = {
    "bench_mv_product_summary": (
        f"""
        SELECT p.id AS product_id, p.sku, p.name, p.slug, p.description, c.id AS category_id,
               c.name AS category_name, c.slug AS category_slug, p.price, p.currency, p.stock,
               p.stock > 0 AS in_stock, p.active,
               COALESCE(s.units_sold, 0) AS units_sold, COALESCE(s.revenue, 0) AS revenue,
               COALESCE(s.order_count, 0) AS order_count, s.last_ordered_at,
               {PRODUCT_TEXT} || setweight(to_tsvector('english', c.name), 'B')
               || setweight(to_tsvector('english', p.description), 'C') AS search_vector
        FROM catalog_product p
        JOIN catalog_category c ON c.id = p.category_id
        LEFT JOIN (
            SELECT l.product_id,
                   SUM(l.quantity) FILTER (WHERE o.status <> 'cancelled') AS units_sold,
                   SUM(l.quantity * l.unit_price) FILTER (WHERE o.status IN {REVENUE})
                       AS revenue,
                   COUNT(*) FILTER (WHERE o.status <> 'cancelled') AS order_count,
                   MAX(o.placed_at) AS last_ordered_at
            FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
            GROUP BY l.product_id
        ) s ON s.product_id = p.id
        """,
        "product_id",
        # The summary and its search document: the view's one row holds both.
        """(SELECT s.*, d.search_vector FROM readmodels_productsummary s
            LEFT JOIN readmodels_productsearchdocument d USING (product_id)) AS summary""",
    ),
    "bench_mv_order_summary": (
        """
        SELECT o.id AS order_id, o.customer_id, cu.display_name AS customer_name,
               cu.email AS customer_email, o.status, COUNT(l.id)::int AS line_count,
               SUM(l.quantity)::int AS units, o.total, o.currency,
               ARRAY_AGG(l.product_name ORDER BY l.id) AS product_names,
               JSONB_AGG(JSONB_BUILD_OBJECT(
                   'sku', l.sku, 'name', l.product_name, 'quantity', l.quantity,
                   'unit_price', l.unit_price::text,
                   'line_total', (l.quantity * l.unit_price)::text
               ) ORDER BY l.id) AS lines,
               o.placed_at, o.paid_at, o.shipped_at, o.delivered_at, o.cancelled_at,
               o.tracking_number, o.payment_reference, o.cancel_reason, o.version
        FROM orders_order o
        JOIN orders_customer cu ON cu.id = o.customer_id
        JOIN orders_orderline l ON l.order_id = o.id
        GROUP BY o.id, cu.id
        """,
        "order_id",
        "readmodels_ordersummary",
    ),
}


def create_materialized_views() -> None:
    with connection.cursor() as cursor:
        for name, (sql, key, _) in MATERIALIZED_VIEWS.items():
            cursor.execute(f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name} AS {sql}")
            cursor.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_key ON {name} ({key})")


def materialized_view_drift() -> int:
    """Rows that differ between each view and its summary table (both directions)."""
    drift = 0
    with connection.cursor() as cursor:
        for name, (_, _, table) in MATERIALIZED_VIEWS.items():
            cursor.execute(f"SELECT * FROM {name} LIMIT 0")
            columns = ", ".join(c.name for c in cursor.description)
            cursor.execute(
                f"SELECT COUNT(*) FROM ((SELECT {columns} FROM {name} EXCEPT "
                f"SELECT {columns} FROM {table}) UNION ALL (SELECT {columns} FROM {table} "
                f"EXCEPT SELECT {columns} FROM {name})) d"
            )
            drift += cursor.fetchone()[0]
    return drift


# --- The plain DRF view: the API's first page computed from the normalized tables ---


class BaselineProductOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(source="category.slug")
    category_name = serializers.CharField(source="category.name")
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    stock = serializers.IntegerField()
    in_stock = serializers.SerializerMethodField()
    active = serializers.BooleanField()
    # The sales figures order the list but are staff only, as on the API's product list.

    def get_in_stock(self, product) -> bool:
        return product.stock > 0


class BaselineProductList(generics.ListAPIView):
    """GET ?category=<slug>: the 24 most popular active products of a category, by the ORM."""

    serializer_class = BaselineProductOut
    pagination_class = None

    def get_queryset(self):
        sold = ~Q(order_lines__order__status="cancelled")
        return (
            Product.objects.select_related("category")
            .filter(active=True, category__slug=self.request.query_params["category"])
            .annotate(
                units_sold=Coalesce(Sum("order_lines__quantity", filter=sold), 0),
                revenue=Coalesce(
                    Sum(
                        F("order_lines__quantity") * F("order_lines__unit_price"),
                        filter=Q(order_lines__order__status__in=REVENUE),
                    ),
                    Value(Decimal(0)),
                    output_field=DecimalField(max_digits=16, decimal_places=2),
                ),
                order_count=Count("order_lines", filter=sold),
                last_ordered_at=Max("order_lines__order__placed_at"),
            )
            .order_by("-units_sold", "id")[:24]
        )


# --- The write baseline over HTTP: the same rows as place_order, the plain CRUD way ---


class BaselineLineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=32)
    quantity = serializers.IntegerField(min_value=1, max_value=1000)


class BaselineOrderIn(serializers.Serializer):
    lines = BaselineLineIn(many=True, allow_empty=False, max_length=50)
    shipping_address = AddressIn()


class BaselinePlaceOrder(APIView):
    """POST: an order, its lines and the stock they take, under the same row locks as
    place_order, written as a plain DRF create would: no event, no idempotency, no read side."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        body = BaselineOrderIn(data=request.data)
        body.is_valid(raise_exception=True)
        quantities = {line["sku"]: line["quantity"] for line in body.validated_data["lines"]}
        customer = Customer.objects.get(user=request.user)
        with transaction.atomic():
            products = list(
                Product.objects.select_for_update().filter(sku__in=quantities).order_by("id")
            )
            if len(products) < len(quantities) or any(
                p.stock < quantities[p.sku] for p in products
            ):
                return Response({"error": "unavailable"}, status=409)
            total = sum((p.price * quantities[p.sku] for p in products), Decimal(0))
            address = body.validated_data["shipping_address"]
            order = Order.objects.create(
                customer=customer,
                total=total,
                currency=products[0].currency,
                # orders.api.AddressIn answers with the ShippingAddress place_order takes.
                **{f"shipping_{part}": value for part, value in address.as_dict().items()},
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    product=p,
                    sku=p.sku,
                    product_name=p.name,
                    quantity=quantities[p.sku],
                    unit_price=p.price,
                )
                for p in products
            )
            for p in products:
                Product.objects.filter(pk=p.pk).update(stock=F("stock") - quantities[p.sku])
        return Response({"id": order.pk, "total": str(total)}, status=201)
