"""Order reads and sales reports. They read summary tables (and the event log for an order's
timeline), never orders.models."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, QuerySet, Subquery

from core.errors import NotFound, NotProjectedYet
from core.eventlog import position_of
from readmodels import replicas
from readmodels.log import aggregate_history
from readmodels.models import CustomerSummary, DailySales, OrderSummary

CUSTOMER_ORDERINGS = {
    "-lifetime_value": ("-lifetime_value", "customer_id"),
    "-order_count": ("-order_count", "customer_id"),
}


def customer_id_of(user) -> int | None:
    """The customer profile id of a logged-in user, or None (staff without one, anonymous).
    This is identity, not a read model: it follows the user's one-to-one link."""
    if not user.is_authenticated:
        return None
    customer = getattr(user, "customer", None)
    return None if customer is None else customer.pk


def list_orders(
    *, customer_id: int | None = None, status: str | None = None
) -> QuerySet[OrderSummary]:
    """Newest first. Pass the customer id to show a customer only their own orders."""
    orders = OrderSummary.objects.all()
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-placed_at", "-order_id")


def get_order(*, order_id: int, customer_id: int | None = None) -> OrderSummary:
    """One order; with `customer_id`, someone else's order is 'not found' like a missing one."""
    orders = OrderSummary.objects.filter(order_id=order_id)
    if customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    order = orders.first()
    if order is None:
        _raise_if_not_projected_yet(order_id=order_id, customer_id=customer_id)
        raise NotFound(f"There is no order {order_id}.")
    return order


def last_shipping_address(*, customer_id: int) -> dict | None:
    """Where the customer's latest order with an address ships to, to start checkout from."""
    return (
        OrderSummary.objects.filter(customer_id=customer_id, shipping_address__isnull=False)
        .order_by("-placed_at", "-order_id")
        .values_list("shipping_address", flat=True)
        .first()
    )


# What a customer reads for an action taken by someone working for the shop: the role, never the
# person's username (which is also a login name).
STAFF_ROLE = "shop staff"


def _raise_if_not_projected_yet(*, order_id: int, customer_id: int | None) -> None:
    """An order the event log has (and `customer_id` owns) but the summary does not yet."""
    # The primary's log: a replica serving this read may not have the order's events yet, and
    # the order would be "not found" instead of "not readable yet".
    with replicas.reading_from(None):
        history = aggregate_history("order", order_id)
    if history and customer_id in (None, history[0].payload.get("customer_id")):
        raise NotProjectedYet(
            f"Order {order_id} is not readable yet.", position=position_of(history[-1])
        )


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    event_type: str
    occurred_at: datetime
    position: str
    payload: dict
    actor: str | None
    actor_is_staff: bool
    status: str  # the order's status right after this event
    correlation_id: str | None


# The status each of the order's events leaves it in.
STATUS_AFTER = {
    "OrderPlaced": "pending",
    "OrderPaid": "paid",
    "OrderShipped": "shipped",
    "OrderDelivered": "delivered",
    "OrderCancelled": "cancelled",
}


def _actor_shown(actor: dict, *, viewer_is_staff: bool) -> str | None:
    if not actor:
        return None
    if actor.get("staff") and not viewer_is_staff:
        return STAFF_ROLE
    return actor.get("username")


def order_history(*, order_id: int, viewer, as_of: datetime | None = None) -> list[TimelineEntry]:
    """The order's events, oldest first, straight from the event log; with `as_of`, only those
    that had happened by then, so the last entry's status is the order's status at that time.
    Who acted is shown as the viewer may see it: staff see names, a customer sees "shop staff"
    for the shop's actions."""
    viewer_is_staff = bool(getattr(viewer, "is_staff", False))
    entries = []
    for event in aggregate_history("order", order_id):
        if as_of is not None and event.occurred_at > as_of:
            continue
        actor = event.metadata.get("actor") or {}
        entries.append(
            TimelineEntry(
                event_type=event.event_type,
                occurred_at=event.occurred_at,
                position=event.position,
                payload=event.payload,
                actor=_actor_shown(actor, viewer_is_staff=viewer_is_staff),
                actor_is_staff=bool(actor.get("staff")),
                status=STATUS_AFTER[event.event_type],
                correlation_id=event.correlation_id,
            )
        )
    return entries


@dataclasses.dataclass(frozen=True)
class DaySales:
    date: date
    orders_placed: int
    orders_cancelled: int
    units_sold: int
    gross_revenue: Decimal
    net_revenue: Decimal


def daily_sales(*, start: date, end: date) -> list[DaySales]:
    """One entry per day from start to end inclusive; days without orders are zeros."""
    figures = [field.name for field in dataclasses.fields(DaySales)]
    rows = {
        row["date"]: DaySales(**row)
        for row in DailySales.objects.filter(date__range=(start, end)).values(*figures)
    }
    return [
        rows.get(day) or DaySales(day, 0, 0, 0, Decimal("0.00"), Decimal("0.00"))
        for day in (start + timedelta(days=offset) for offset in range((end - start).days + 1))
    ]


def top_customers(
    *, ordering: str = "-lifetime_value", buyers_only: bool = False
) -> QuerySet[CustomerSummary]:
    """Customers by lifetime value or order count, each with the username they log in with
    (identity, looked up per row of the page like customer_id_of; not a figure to project);
    `buyers_only` leaves out those who never spent anything (signed up only, or every order
    cancelled)."""
    customers = CustomerSummary.objects.all()
    if buyers_only:
        customers = customers.filter(lifetime_value__gt=0)
    username = get_user_model().objects.filter(customer__pk=OuterRef("customer_id"))
    return customers.annotate(username=Subquery(username.values("username")[:1])).order_by(
        *CUSTOMER_ORDERINGS[ordering]
    )
