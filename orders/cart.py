"""The shopping cart: SKUs and quantities in the session. Prices and names always come from the
read side when the cart is shown, and the order's total from place_order, never from here.

Quantities are capped early at the stock the read side shows, so a shopper hears "only 3 left"
when adding, not at checkout. That figure may be a moment old: place_order re-checks the real
stock under lock, and that check is the guarantee."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from catalog import queries as catalog_queries
from core.errors import NotFound
from orders.models import MAX_QUANTITY

SESSION_KEY = "cart"


@dataclasses.dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    unit_price: Decimal
    currency: str
    quantity: int
    stock: int
    available: bool
    category_slug: str = ""
    category_name: str = ""

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def max_quantity(self) -> int:
        return max(1, min(self.stock, MAX_QUANTITY))

    @property
    def over_stock(self) -> bool:
        return self.quantity > self.stock


def quantities(session) -> dict[str, int]:
    return dict(session.get(SESSION_KEY, {}))


def _save(session, cart: dict[str, int]) -> None:
    session[SESSION_KEY] = cart


def item_count(session) -> int:
    """Items, not lines: two bags of one coffee count two."""
    return sum(quantities(session).values())


def add(session, sku: str, quantity: int, *, stock: int) -> int:
    """Add to the line, at most up to `stock`; returns the line's quantity afterwards."""
    cart = quantities(session)
    cart[sku] = max(min(cart.get(sku, 0) + quantity, stock, MAX_QUANTITY), 0)
    if not cart[sku]:
        del cart[sku]
    _save(session, cart)
    return cart.get(sku, 0)


def set_quantity(session, sku: str, quantity: int, *, stock: int) -> int:
    """Set the line's quantity, at most `stock`; returns what the line holds afterwards."""
    cart = quantities(session)
    if sku in cart:
        cart[sku] = max(min(quantity, stock), 1)
        _save(session, cart)
    return cart.get(sku, 0)


def remove(session, sku: str) -> None:
    cart = quantities(session)
    cart.pop(sku, None)
    _save(session, cart)


def clear(session) -> None:
    session.pop(SESSION_KEY, None)


def lines(session) -> list[CartLine]:
    """The cart as shown; a product that has vanished from the catalog is dropped."""
    shown = []
    for sku, quantity in quantities(session).items():
        try:
            product = catalog_queries.get_product(sku=sku)
        except NotFound:
            continue
        shown.append(
            CartLine(
                sku=sku,
                name=product.name,
                unit_price=product.price,
                currency=product.currency,
                quantity=quantity,
                stock=product.stock,
                available=product.active,
                category_slug=product.category_slug,
                category_name=product.category_name,
            )
        )
    return shown


def total(cart_lines: list[CartLine]) -> Decimal:
    return sum((line.line_total for line in cart_lines), Decimal("0.00"))
