"""The orders domain's events."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.eventlog import Event
from orders.address import address_json_sql


@dataclass(frozen=True, kw_only=True)
class CustomerRegistered(Event):
    aggregate_type = "customer"
    aggregate_id_field = "customer_id"
    touches = {"customer_id": "customer_id"}
    customer_id: int
    user_id: int
    username: str
    display_name: str
    email: str


@dataclass(frozen=True, kw_only=True)
class OrderEvent(Event):
    aggregate_type = "order"
    aggregate_id_field = "order_id"
    touches = {"order_id": "order_id", "customer_id": "customer_id"}
    order_id: int
    customer_id: int
    version: int


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(OrderEvent):
    """Version 2 adds `placed_at`: the day's sales and "last ordered" are folded from the log.
    Version 3 adds `shipping_address` (orders.address.ShippingAddress as a dict)."""

    schema_version = 3
    upcasters = {
        # A version-1 order's placed_at is the order row's own, which never changes once placed.
        1: {
            "placed_at": "(SELECT placed_at FROM orders_order "
            "WHERE id = ({e}.payload ->> 'order_id')::bigint)"
        },
        # So is its address: the one the order summary shows, read the same way, so the log
        # and the summary never disagree. Orders placed before checkout asked for one have
        # none (null).
        2: {
            "shipping_address": f"(SELECT {address_json_sql('o')} FROM orders_order o "
            "WHERE o.id = ({e}.payload ->> 'order_id')::bigint)"
        },
    }
    touches_lines = ("lines",)

    lines: list  # [{"sku", "product_id", "quantity", "unit_price"}]
    total: Decimal
    currency: str
    placed_at: datetime
    shipping_address: dict | None  # {"name", "line1", "line2", "postal_code", "city", "country"}


@dataclass(frozen=True, kw_only=True)
class OrderPaid(OrderEvent):
    amount: Decimal
    payment_reference: str


@dataclass(frozen=True, kw_only=True)
class OrderShipped(OrderEvent):
    tracking_number: str


@dataclass(frozen=True, kw_only=True)
class OrderDelivered(OrderEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(OrderEvent):
    touches_lines = ("restocked",)

    reason: str
    previous_status: str
    restocked: list  # [{"sku", "product_id", "quantity"}]: the stock given back
