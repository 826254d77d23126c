"""The audit trail and temporal queries, read straight from the event log.

- `search_events`: who did what to which aggregate, filtered (staff page, admin, API).
- `product_history`: a product's price and stock after each event that changed them, folded
  from its own events and the orders that took or gave back its stock; with `as_of`, as they
  were at that moment.

The log has indexes for positions and for one aggregate's events only (every command writes to
it, and each index costs the writes): filters on actor, type, correlation id or time scan it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet

from core.errors import NotFound
from readmodels.models import DomainEvent, ProductSummary
from readmodels.projections import PROJECTIONS

AGGREGATE_TYPES = ("order", "product", "customer", "category")


def event_types() -> list[str]:
    # Every event type is heard by some projection (a test in tests/readmodels keeps it so).
    return sorted({event_type for p in PROJECTIONS.values() for event_type in p.event_types})


# Each filter of the audit trail, and the lookup it is on the event log.
FILTERS = {
    "actor": "metadata__actor__username",
    "aggregate_type": "aggregate_type",
    "aggregate_id": "aggregate_id",
    "event_type": "event_type",
    "correlation_id": "metadata__correlation_id",
    "since": "occurred_at__gte",
    "until": "occurred_at__lte",
}


def search_events(
    *,
    actor: str | None = None,
    aggregate_type: str | None = None,
    aggregate_id: str | None = None,
    event_type: str | None = None,
    correlation_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[DomainEvent]:
    """Events matching every filter given, newest first. `actor` is a username."""
    given = {
        "actor": actor,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "event_type": event_type,
        "correlation_id": correlation_id,
        "since": since,
        "until": until,
    }
    lookups = {FILTERS[name]: value for name, value in given.items() if value}
    return DomainEvent.objects.filter(**lookups).order_by("-id")


@dataclasses.dataclass(frozen=True)
class ProductMoment:
    """A product as it was right after one event."""

    position: str
    occurred_at: datetime
    event_type: str
    actor: str | None
    correlation_id: str | None
    change: str
    name: str
    price: Decimal
    currency: str
    stock: int
    active: bool


@dataclasses.dataclass(frozen=True)
class ProductHistory:
    product_id: int
    sku: str
    as_of: datetime | None
    state: ProductMoment | None  # None: the product did not exist yet at `as_of`
    timeline: list[ProductMoment]


def product_history(*, sku: str, as_of: datetime | None = None) -> ProductHistory:
    product_id = ProductSummary.objects.filter(sku=sku).values_list("product_id", flat=True).first()
    if product_id is None:
        raise NotFound(f"There is no product with SKU {sku!r}.", fields={"sku": "Unknown SKU."})
    lines = [{"product_id": product_id}]
    events = DomainEvent.objects.filter(
        Q(aggregate_type="product", aggregate_id=str(product_id))
        | Q(event_type="OrderPlaced", payload__lines__contains=lines)
        | Q(event_type="OrderCancelled", payload__restocked__contains=lines)
    )
    if as_of is not None:
        events = events.filter(occurred_at__lte=as_of)
    timeline: list[ProductMoment] = []
    for event in events.order_by("txid", "id"):
        moment = _apply(timeline[-1] if timeline else None, event, product_id)
        if moment is not None:
            timeline.append(moment)
    return ProductHistory(
        product_id=product_id,
        sku=sku,
        as_of=as_of,
        state=timeline[-1] if timeline else None,
        timeline=timeline,
    )


def _quantity(lines: list[dict], product_id: int) -> int:
    return sum(line["quantity"] for line in lines if line["product_id"] == product_id)


def _apply(before: ProductMoment | None, event: DomainEvent, product_id: int):
    """The product after `event`, given it before (None before it was created)."""
    payload, kind = event.payload, event.event_type
    common = {
        "position": event.position,
        "occurred_at": event.occurred_at,
        "event_type": kind,
        "actor": event.actor_username,
        "correlation_id": event.correlation_id,
    }
    if kind == "ProductCreated":
        return ProductMoment(
            **common,
            change=f"created at {payload['price']} with {payload['stock']} in stock",
            name=payload["name"],
            price=Decimal(payload["price"]),
            currency=payload["currency"],
            stock=payload["stock"],
            active=True,
        )
    if before is None:  # an event from before the product's creation cannot be; ignore it
        return None
    changes: dict = {}
    if kind == "ProductPriceChanged":
        changes = {"price": Decimal(payload["new_price"])}
        change = f"price {payload['old_price']} → {payload['new_price']}"
    elif kind == "ProductRestocked":
        changes = {"stock": payload["stock"]}
        change = f"restocked +{payload['quantity']} ({payload['reason']})"
    elif kind == "ProductDetailsChanged":
        name = payload["changes"].get("name")
        changes = {"name": name["new"]} if name else {}
        change = "details: " + ", ".join(sorted(payload["changes"]))
    elif kind in {"ProductDiscontinued", "ProductReactivated"}:
        changes = {"active": kind == "ProductReactivated"}
        change = "discontinued" if kind == "ProductDiscontinued" else "reactivated"
    elif kind == "OrderPlaced":
        quantity = _quantity(payload["lines"], product_id)
        changes = {"stock": before.stock - quantity}
        change = f"order {payload['order_id']}: −{quantity}"
    elif kind == "OrderCancelled":
        quantity = _quantity(payload["restocked"], product_id)
        changes = {"stock": before.stock + quantity}
        change = f"order {payload['order_id']} cancelled: +{quantity}"
    else:
        change = kind
    return dataclasses.replace(before, **common, change=change, **changes)
