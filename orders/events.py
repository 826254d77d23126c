"""The orders domain's events."""

from dataclasses import dataclass
from decimal import Decimal

from readmodels.eventlog import Event


@dataclass(frozen=True, kw_only=True)
class CustomerRegistered(Event):
    aggregate_type = "customer"
    aggregate_id_field = "customer_id"
    customer_id: int
    user_id: int
    username: str
    display_name: str
    email: str


@dataclass(frozen=True, kw_only=True)
class OrderEvent(Event):
    aggregate_type = "order"
    aggregate_id_field = "order_id"
    order_id: int
    customer_id: int
    version: int


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(OrderEvent):
    lines: list  # [{"sku", "product_id", "quantity", "unit_price"}]
    total: Decimal
    currency: str


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
    reason: str
    previous_status: str
    restocked: list  # [{"sku", "product_id", "quantity"}]: the stock given back
