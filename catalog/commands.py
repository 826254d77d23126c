"""Catalog commands: every write to categories and products goes through one of these.

Each reads top-down: authorize, validate, lock and check the current state, write, record the
event, return a CommandResult — all in one transaction.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from catalog import events
from catalog.error_codes import CatalogErrorCode
from catalog.models import MAX_PRICE, SKU_PATTERN, Category, Product
from core.commands import (
    Actor,
    CommandResult,
    check_expected_version,
    clean_int,
    clean_money,
    clean_text,
    command,
    raise_if_errors,
    require_permission,
)
from core.errors import NotFound
from core.eventlog import record

# The Django permission each command needs (core.commands.require_permission).
ADD_CATEGORY = "catalog.add_category"
ADD_PRODUCT = "catalog.add_product"
CHANGE_PRODUCT = "catalog.change_product"

MAX_RESTOCK = 100_000
MAX_STOCK = 100_000_000
MAX_PRICE_CUT = Decimal("0.5")


def _category(slug: str, *, field: str = "category") -> Category:
    try:
        return Category.objects.get(slug=slug)
    except Category.DoesNotExist:
        raise CatalogErrorCode.UNKNOWN_CATEGORY.error(
            f"There is no category {slug!r}.",
            fields={field: "Unknown category."},
        ) from None


def _lock_product(sku: str, *, expected_version: int | None) -> Product:
    """The product, locked, at the version the caller last saw (if it says)."""
    try:
        product = Product.objects.select_for_update().get(sku=sku)
    except Product.DoesNotExist:
        raise NotFound(
            f"There is no product with SKU {sku!r}.", fields={"sku": "Unknown SKU."}
        ) from None
    check_expected_version(product.version, expected_version, what="product")
    return product


def _result(product: Product, token) -> CommandResult:
    return CommandResult(id=product.pk, version=product.version, token=token)


def _change(product: Product, *, actor: Actor, event, **changes) -> CommandResult:
    """Write `changes` to the locked product as its next version and record
    `event(product_id=…, sku=…, version=…)` (called after the change, so it can read the new
    state). The caller has checked the expected version and the rules."""
    for field, value in changes.items():
        setattr(product, field, value)
    product.version += 1
    product.save(update_fields=[*changes, "version", "updated_at"])
    token = record(
        event(product_id=product.pk, sku=product.sku, version=product.version), actor=actor
    )
    return _result(product, token)


# --- commands ---


@command
def create_category(*, actor: Actor, name: str, slug: str | None = None) -> CommandResult:
    require_permission(actor, ADD_CATEGORY)
    errors: dict = {}
    name = clean_text(errors, "name", name, max_length=100)
    slug = slugify(slug or name)
    if name and not slug:
        errors["slug"] = "Use letters or digits in the name or slug."
    raise_if_errors(errors)
    try:
        with transaction.atomic():
            category = Category.objects.create(name=name, slug=slug)
            token = record(
                events.CategoryCreated(category_id=category.pk, name=name, slug=slug), actor=actor
            )
    except IntegrityError:
        raise CatalogErrorCode.CATEGORY_TAKEN.error(
            f"A category with slug {slug!r} already exists.",
            fields={"slug": "This slug is taken."},
        ) from None
    return CommandResult(id=category.pk, version=1, token=token)


@command
def create_product(
    *,
    actor: Actor,
    sku: str,
    name: str,
    category: str,
    price,
    description: str = "",
    stock=0,
) -> CommandResult:
    require_permission(actor, ADD_PRODUCT)
    errors: dict = {}
    sku = str(sku or "").strip()
    if not re.fullmatch(SKU_PATTERN, sku):
        errors["sku"] = "Use 3 to 32 capital letters, digits or dashes."
    name = clean_text(errors, "name", name, max_length=200)
    description = clean_text(errors, "description", description, max_length=5000, required=False)
    price = clean_money(errors, "price", price, maximum=MAX_PRICE)
    stock = clean_int(errors, "stock", stock, low=0, high=MAX_STOCK)
    raise_if_errors(errors)
    try:
        with transaction.atomic():
            product = Product.objects.create(
                sku=sku,
                name=name,
                slug=slugify(f"{name}-{sku}")[:220],
                description=description,
                category=_category(category),
                price=price,
                stock=stock,
            )
            token = record(
                events.ProductCreated(
                    product_id=product.pk,
                    sku=sku,
                    name=name,
                    category_id=product.category_id,
                    price=price,
                    currency=product.currency,
                    stock=stock,
                ),
                actor=actor,
            )
    except IntegrityError:
        # The unique index decides between two concurrent creators of the same SKU.
        raise CatalogErrorCode.SKU_TAKEN.error(
            f"A product with SKU {sku} already exists.",
            fields={"sku": "This SKU is taken."},
        ) from None
    return _result(product, token)


@command
def update_product_details(
    *,
    actor: Actor,
    sku: str,
    name: str | None = None,
    description: str | None = None,
    category: str | None = None,
    expected_version: int | None = None,
) -> CommandResult:
    """Change any of name, description and category; fields left as None stay as they are."""
    require_permission(actor, CHANGE_PRODUCT)
    errors: dict = {}
    wanted = {}
    if name is not None:
        wanted["name"] = clean_text(errors, "name", name, max_length=200)
    if description is not None:
        wanted["description"] = clean_text(
            errors, "description", description, max_length=5000, required=False
        )
    raise_if_errors(errors)
    with transaction.atomic():
        product = _lock_product(sku, expected_version=expected_version)
        previous_category_id = product.category_id
        if category is not None:
            wanted["category_id"] = _category(category).pk
        changes = {
            field: {"old": getattr(product, field), "new": value}
            for field, value in wanted.items()
            if getattr(product, field) != value
        }
        if not changes:
            return _result(product, None)
        return _change(
            product,
            actor=actor,
            event=lambda **ids: events.ProductDetailsChanged(
                **ids,
                changes=changes,
                category_id=product.category_id,
                previous_category_id=previous_category_id,
            ),
            **{field: change["new"] for field, change in changes.items()},
        )


@command
def change_price(
    *,
    actor: Actor,
    sku: str,
    price,
    confirm_large_cut: bool = False,
    expected_version: int | None = None,
) -> CommandResult:
    """A cut of more than half in one change is usually a typo, so it needs `confirm_large_cut`."""
    require_permission(actor, CHANGE_PRODUCT)
    errors: dict = {}
    new_price = clean_money(errors, "price", price, maximum=MAX_PRICE)
    raise_if_errors(errors)
    with transaction.atomic():
        product = _lock_product(sku, expected_version=expected_version)
        old_price = product.price
        if new_price == old_price:
            return _result(product, None)
        if new_price < old_price * MAX_PRICE_CUT and not confirm_large_cut:
            raise CatalogErrorCode.LARGE_PRICE_CUT.error(
                f"That cuts the price by more than half ({old_price} → {new_price}). "
                "Confirm the cut if it is intended.",
                fields={"confirm_large_cut": "Confirm a cut of more than 50%."},
            )
        return _change(
            product,
            actor=actor,
            event=lambda **ids: events.ProductPriceChanged(
                **ids, old_price=old_price, new_price=new_price, currency=product.currency
            ),
            price=new_price,
        )


@command
def restock(
    *, actor: Actor, sku: str, quantity, reason: str, expected_version: int | None = None
) -> CommandResult:
    """Staff add stock to a product, saying why (a delivery, a return, a count)."""
    require_permission(actor, CHANGE_PRODUCT)
    errors: dict = {}
    quantity = clean_int(errors, "quantity", quantity, low=1, high=MAX_RESTOCK)
    reason = clean_text(errors, "reason", reason, max_length=200)
    raise_if_errors(errors)
    with transaction.atomic():
        product = _lock_product(sku, expected_version=expected_version)
        if product.stock + quantity > MAX_STOCK:
            raise CatalogErrorCode.STOCK_LIMIT.error(
                f"Stock cannot exceed {MAX_STOCK:,}.",
                fields={"quantity": f"At most {MAX_STOCK - product.stock:,} more fit."},
            )
        return _change(
            product,
            actor=actor,
            event=lambda **ids: events.ProductRestocked(
                **ids, quantity=quantity, reason=reason, stock=product.stock
            ),
            stock=product.stock + quantity,
        )


@command
def discontinue_product(
    *, actor: Actor, sku: str, expected_version: int | None = None
) -> CommandResult:
    """Staff take a product off the catalog; its history and summaries stay."""
    return _set_active(actor=actor, sku=sku, active=False, expected_version=expected_version)


@command
def reactivate_product(
    *, actor: Actor, sku: str, expected_version: int | None = None
) -> CommandResult:
    """Staff put a discontinued product back on the catalog."""
    return _set_active(actor=actor, sku=sku, active=True, expected_version=expected_version)


def _set_active(
    *, actor: Actor, sku: str, active: bool, expected_version: int | None
) -> CommandResult:
    require_permission(actor, CHANGE_PRODUCT)
    with transaction.atomic():
        product = _lock_product(sku, expected_version=expected_version)
        if product.active == active:  # already so: nothing happened, nothing to record
            return _result(product, None)
        return _change(
            product,
            actor=actor,
            event=events.ProductReactivated if active else events.ProductDiscontinued,
            active=active,
        )
