"""Customers and orders, the normalized write side. Only orders.commands writes them."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Product
from orders.address import COUNTRY_CHOICES, FIELDS, MAX_LENGTHS, ShippingAddress

# The most of one product an order line (and so a cart, and an order) may hold.
MAX_QUANTITY = 1000


class Customer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer"
    )
    display_name = models.CharField(max_length=150)
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.display_name


class OrderStatus(models.TextChoices):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


# The only moves an order's status can make; the FSM trigger and the commands share this list.
ORDER_TRANSITIONS = [
    (OrderStatus.PENDING, OrderStatus.PAID),
    (OrderStatus.PAID, OrderStatus.SHIPPED),
    (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    (OrderStatus.PENDING, OrderStatus.CANCELLED),
    (OrderStatus.PAID, OrderStatus.CANCELLED),
]


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default=settings.SHOP_CURRENCY)
    placed_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    payment_reference = models.CharField(max_length=64, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    # A client-chosen key that makes retrying place_order safe, and a digest of what was asked.
    # NULL, not "", for "no key": the unique constraint must allow many orders without one.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    request_digest = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)
    # Where to ship (orders.address.ShippingAddress); blank on orders placed before checkout
    # asked for an address. Blank is also the database's default, so a writer that does not
    # know the columns yet (the previous release during a deploy) still inserts orders.
    shipping_name = models.CharField(max_length=MAX_LENGTHS["name"], blank=True, db_default="")
    shipping_line1 = models.CharField(max_length=MAX_LENGTHS["line1"], blank=True, db_default="")
    shipping_line2 = models.CharField(max_length=MAX_LENGTHS["line2"], blank=True, db_default="")
    shipping_postal_code = models.CharField(
        max_length=MAX_LENGTHS["postal_code"], blank=True, db_default=""
    )
    shipping_city = models.CharField(max_length=MAX_LENGTHS["city"], blank=True, db_default="")
    shipping_country = models.CharField(
        max_length=MAX_LENGTHS["country"], choices=COUNTRY_CHOICES, blank=True, db_default=""
    )

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["placed_at"], name="order_placed_at_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"], name="one_order_per_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(total__gt=0), name="order_total_positive"),
        ]
        triggers = [
            pgtrigger.FSM(
                name="status_transitions",
                field="status",
                transitions=[(str(old), str(new)) for old, new in ORDER_TRANSITIONS],
            ),
        ]

    def __str__(self):
        return f"Order {self.pk} ({self.status})"

    @property
    def shipping_address(self) -> ShippingAddress | None:
        if not self.shipping_name:
            return None
        return ShippingAddress(**{part: getattr(self, f"shipping_{part}") for part in FIELDS})


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=32)
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="one_line_per_product"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_QUANTITY),
                name="line_quantity_range",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"
