"""The event log, the projection bookkeeping, and the summary tables the read side serves.

Summary tables are written only by their projectors: a pgtrigger `Protect` refuses every other
writer, and the projection engine lifts it with `pgtrigger.ignore` for its own statements.
"""

import pgtrigger
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from core.querysets import ReadQuerySet


def no_truncate():
    """Row triggers do not fire on TRUNCATE (nor on `manage.py flush`, which truncates): this
    statement-level trigger refuses it. A deliberate reset lifts it with
    `pgtrigger.ignore(*TRUNCATE_GUARDS)`, as the test suite's flush between tests does."""
    return pgtrigger.Trigger(
        name="no_truncate",
        level=pgtrigger.Statement,
        when=pgtrigger.Before,
        operation=pgtrigger.Truncate,
        func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;",
    )


class TransactionIdField(models.Field):
    """A Postgres `xid8`: the 64-bit id of the transaction that wrote the row."""

    description = "Postgres 64-bit transaction id"

    def db_type(self, connection):
        return "xid8"

    def from_db_value(self, value, expression, connection):
        return None if value is None else int(value)

    def to_python(self, value):
        return None if value is None else int(value)

    def get_prep_value(self, value):
        # Sent as a quoted literal: Postgres has no integer = xid8 operator, but casts text.
        return None if value is None else str(value)


class CurrentTransactionId(models.Func):
    function = "pg_current_xact_id"
    template = "%(function)s()"
    output_field = TransactionIdField()


class DomainEvent(models.Model):
    """One fact that happened, recorded in the same transaction as the change it describes."""

    id = models.BigAutoField(primary_key=True)
    event_type = models.CharField(max_length=64)
    event_version = models.PositiveSmallIntegerField(default=1)
    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField()
    metadata = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(db_default=models.functions.Now())
    txid = TransactionIdField(db_default=CurrentTransactionId(), editable=False)

    class Meta:
        # Every command writes here, so only the indexes that readers of the log need: the
        # engine's position and an aggregate's history. (An index for the admin's filter by
        # type cost about 3% of place_order's throughput; that filter scans instead.)
        indexes = [
            models.Index(fields=["txid", "id"], name="event_position_idx"),
            models.Index(
                fields=["aggregate_type", "aggregate_id", "id"], name="event_aggregate_idx"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            no_truncate(),
        ]

    def __str__(self):
        return f"#{self.id} {self.event_type} {self.aggregate_type}:{self.aggregate_id}"

    # Who and what caused it (the metadata's keys; events written before a key existed lack it).
    @property
    def actor_username(self) -> str | None:
        return (self.metadata.get("actor") or {}).get("username")

    @property
    def correlation_id(self) -> str | None:
        return self.metadata.get("correlation_id")

    @property
    def causation_id(self) -> str | int | None:
        return self.metadata.get("causation_id")

    @property
    def position(self) -> str:
        return f"{self.txid}-{self.id}"


class ProjectionCheckpoint(models.Model):
    """How far a projection has read the log: the (txid, id) of the last event it applied."""

    name = models.CharField(max_length=64, primary_key=True)
    # Bumped whenever rows change without the position moving (a rebuild, a dead-letter
    # replay), so an ETag made of positions and generations changes whenever the rows can.
    generation = models.PositiveIntegerField(default=0)
    txid = TransactionIdField(default=0)
    event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # Set by the background rebuild task, so the admin can show when a rebuild finished.
    rebuild_started_at = models.DateTimeField(null=True, blank=True)
    rebuild_finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} @ {self.txid}-{self.event_id}"


class DeadLetter(models.Model):
    """An event a projection failed to apply. After PROJECTION_MAX_ATTEMPTS it is dead-lettered
    and the projection moves past it; a replay that succeeds marks it resolved."""

    class Status(models.TextChoices):
        RETRYING = "retrying"
        DEAD = "dead"
        RESOLVED = "resolved"

    projection = models.CharField(max_length=64)
    event = models.ForeignKey(DomainEvent, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RETRYING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField()
    traceback = models.TextField(blank=True)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_failed_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["projection", "event"], name="one_dead_letter_per_event"
            )
        ]

    def __str__(self):
        return f"{self.projection}: event #{self.event_id} ({self.status})"


# Sums of money over orders (a product's revenue, a customer's lifetime value, a day's sales)
# have no bound that a command could enforce: the number of orders has none. What bounds them:
# every order is a transaction, so there are fewer than 2**64 of them ever (xid8 never wraps),
# and each is at most orders.commands.MAX_ORDER_TOTAL (1e8). So a sum is below 1.9e27: 28
# digits before the point always fit, whatever the shop sells (tests/test_limits.py).
SUM_OF_MONEY_DIGITS = 30


def sum_of_money():
    return models.DecimalField(max_digits=SUM_OF_MONEY_DIGITS, decimal_places=2)


def projector_only():
    return pgtrigger.Protect(
        name="projector_only",
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
    )


class ProductSummary(models.Model):
    product_id = models.BigIntegerField(primary_key=True)
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    description = models.TextField()
    category_id = models.BigIntegerField()
    category_name = models.CharField(max_length=100)
    category_slug = models.SlugField(max_length=120)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    stock = models.IntegerField()
    in_stock = models.BooleanField()
    active = models.BooleanField()
    units_sold = models.BigIntegerField()
    revenue = sum_of_money()
    order_count = models.BigIntegerField()
    last_ordered_at = models.DateTimeField(null=True)
    position = models.CharField(max_length=64, help_text="event position it was refreshed at")

    objects = ReadQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "product summaries"
        indexes = [
            models.Index(
                fields=["category_slug", "-units_sold", "product_id"], name="product_cat_pop_idx"
            ),
            models.Index(fields=["-units_sold", "product_id"], name="product_pop_idx"),
            models.Index(fields=["price", "product_id"], name="product_price_idx"),
            models.Index(fields=["name", "product_id"], name="product_name_idx"),
            models.Index(fields=["-last_ordered_at", "product_id"], name="product_recent_idx"),
        ]
        triggers = [projector_only(), no_truncate()]

    def __str__(self):
        return f"{self.sku} {self.name}"


class ProductSearchDocument(models.Model):
    """A product's searchable text as one weighted search vector, for searches of several
    words. It has a table of its own: every list reads the product summaries, and loading (or
    deferring) a vector there cost every list a fifth of its time; and sales, which change the
    summaries all the time, never touch this table or its GIN index."""

    product = models.OneToOneField(
        ProductSummary,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # projectors write each table on its own schedule
        related_name="search_document",
    )
    search_vector = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["search_vector"], name="product_document_idx")]
        triggers = [projector_only(), no_truncate()]

    def __str__(self):
        return f"search document of product {self.product_id}"


class ProductSearchTerm(models.Model):
    """One row per word (lexeme) of a product's searchable text, with the product's rank for a
    search of that one word: the best matches of a word come off a btree in rank order,
    instead of ranking every product that contains it."""

    pk = models.CompositePrimaryKey("lexeme", "product")
    lexeme = models.TextField()
    product = models.ForeignKey(
        ProductSummary,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # projectors write each table on its own schedule
        related_name="search_terms",
    )
    rank = models.FloatField()

    class Meta:
        indexes = [
            models.Index(fields=["lexeme", "-rank", "product"], name="search_term_rank_idx"),
            models.Index(fields=["product"], name="search_term_product_idx"),
        ]
        triggers = [projector_only(), no_truncate()]

    def __str__(self):
        return f"{self.lexeme}: product {self.product_id} ({self.rank:.4f})"


class OrderSummary(models.Model):
    order_id = models.BigIntegerField(primary_key=True)
    customer_id = models.BigIntegerField()
    customer_name = models.CharField(max_length=150)
    customer_email = models.EmailField()
    status = models.CharField(max_length=16)
    line_count = models.IntegerField()
    units = models.IntegerField()
    total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    product_names = ArrayField(models.CharField(max_length=200))
    lines = models.JSONField(help_text="sku, name, quantity, unit_price, line_total per line")
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True)
    shipped_at = models.DateTimeField(null=True)
    delivered_at = models.DateTimeField(null=True)
    cancelled_at = models.DateTimeField(null=True)
    tracking_number = models.CharField(max_length=64)
    payment_reference = models.CharField(max_length=64)
    cancel_reason = models.CharField(max_length=500)
    version = models.IntegerField()
    shipping_address = models.JSONField(
        null=True, help_text="name, line1, line2, postal_code, city, country; null: none asked"
    )

    objects = ReadQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "order summaries"
        indexes = [
            models.Index(
                fields=["customer_id", "-placed_at", "-order_id"], name="order_customer_idx"
            ),
            models.Index(fields=["status", "-placed_at", "-order_id"], name="order_status_idx"),
            models.Index(fields=["-placed_at", "-order_id"], name="order_recent_idx"),
        ]
        triggers = [projector_only(), no_truncate()]

    def __str__(self):
        return f"Order {self.order_id} ({self.status})"


class CustomerSummary(models.Model):
    customer_id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=150)
    email = models.EmailField()
    order_count = models.BigIntegerField()
    lifetime_value = sum_of_money()
    last_order_at = models.DateTimeField(null=True)

    objects = ReadQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "customer summaries"
        indexes = [
            models.Index(fields=["-lifetime_value", "customer_id"], name="customer_ltv_idx"),
            models.Index(fields=["-order_count", "customer_id"], name="customer_orders_idx"),
        ]
        triggers = [projector_only(), no_truncate()]

    def __str__(self):
        return self.name


class DailySales(models.Model):
    date = models.DateField(primary_key=True)
    orders_placed = models.BigIntegerField()
    orders_cancelled = models.BigIntegerField()
    units_sold = models.BigIntegerField()
    gross_revenue = sum_of_money()
    net_revenue = sum_of_money()

    objects = ReadQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "daily sales"
        triggers = [projector_only(), no_truncate()]

    def __str__(self):
        return str(self.date)


class CategorySummary(models.Model):
    category_id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    product_count = models.IntegerField()
    active_product_count = models.IntegerField()
    in_stock_product_count = models.IntegerField()
    min_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    max_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)

    objects = ReadQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "category summaries"
        triggers = [projector_only(), no_truncate()]

    def __str__(self):
        return self.name


# The trigger URIs that `pgtrigger.ignore` takes to lift the TRUNCATE guard, for a deliberate
# reset of the tables (the test suite's flush, the bench's reset).
TRUNCATE_GUARDS = [
    f"readmodels.{model.__name__}:no_truncate"
    for model in (
        DomainEvent,
        ProductSummary,
        ProductSearchDocument,
        ProductSearchTerm,
        OrderSummary,
        CustomerSummary,
        DailySales,
        CategorySummary,
    )
]
