"""The catalog's normalized write models. Only catalog.commands (and orders.commands, for
stock) write them; the database enforces what must never be false."""

from decimal import Decimal

from django.conf import settings
from django.db import connection, models
from django.db.models import Q

SKU_PATTERN = r"^[A-Z0-9-]{3,32}$"
MAX_PRICE = Decimal(1_000_000)


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self):
        return self.name


class ProductManager(models.Manager):
    def add_stock(self, changes: dict[int, int]) -> None:
        """Add `changes[product_id]` (negative to take) to each product's stock, in one UPDATE.
        Written out: the ORM's CASE per product cost more Python than the statement saved."""
        if not changes:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {self.model._meta.db_table} p SET stock = p.stock + v.delta "
                f"FROM (VALUES {', '.join(['(%s::bigint, %s::integer)'] * len(changes))}) "
                "AS v (id, delta) WHERE p.id = v.id",
                [value for item in changes.items() for value in item],
            )


class Product(models.Model):
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=settings.SHOP_CURRENCY)
    active = models.BooleanField(default=True)
    stock = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductManager()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="stock_never_negative"),
            models.CheckConstraint(
                condition=Q(price__gt=0, price__lte=MAX_PRICE), name="price_in_range"
            ),
            models.CheckConstraint(condition=Q(sku__regex=SKU_PATTERN), name="sku_format"),
        ]

    def __str__(self):
        return f"{self.sku} {self.name}"
