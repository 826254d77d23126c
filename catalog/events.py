"""The catalog's domain events. Payloads are what a projector or an auditor needs to know."""

from dataclasses import dataclass
from decimal import Decimal

from core.eventlog import Event


@dataclass(frozen=True, kw_only=True)
class CategoryCreated(Event):
    aggregate_type = "category"
    aggregate_id_field = "category_id"
    touches = {"category_id": "category_id"}
    category_id: int
    name: str
    slug: str


@dataclass(frozen=True, kw_only=True)
class ProductEvent(Event):
    aggregate_type = "product"
    aggregate_id_field = "product_id"
    touches = {"product_id": "product_id"}
    product_id: int
    sku: str


@dataclass(frozen=True, kw_only=True)
class ProductCreated(ProductEvent):
    touches = {**ProductEvent.touches, "category_id": "category_id"}

    name: str
    category_id: int
    price: Decimal
    currency: str
    stock: int


@dataclass(frozen=True, kw_only=True)
class ProductDetailsChanged(ProductEvent):
    touches = {
        **ProductEvent.touches,
        "category_id": "category_id",
        "previous_category_id": "category_id",
    }

    changes: dict  # field -> {"old": ..., "new": ...}
    category_id: int
    previous_category_id: int
    version: int


@dataclass(frozen=True, kw_only=True)
class ProductPriceChanged(ProductEvent):
    old_price: Decimal
    new_price: Decimal
    currency: str
    version: int


@dataclass(frozen=True, kw_only=True)
class ProductRestocked(ProductEvent):
    quantity: int
    reason: str
    stock: int
    version: int


@dataclass(frozen=True, kw_only=True)
class ProductDiscontinued(ProductEvent):
    version: int


@dataclass(frozen=True, kw_only=True)
class ProductReactivated(ProductEvent):
    version: int
