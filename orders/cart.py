"""The shopping cart: SKUs and quantities in the session. Prices and names always come from the
read side when the cart is shown, and the order's total from place_order, never from here."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from catalog import queries as catalog_queries
from config.errors import NotFound

SESSION_KEY = "cart"
MAX_QUANTITY = 1000


@dataclasses.dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    unit_price: Decimal
    currency: str
    quantity: int
    stock: int
    available: bool

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


def quantities(session) -> dict[str, int]:
    return dict(session.get(SESSION_KEY, {}))


def _save(session, cart: dict[str, int]) -> None:
    session[SESSION_KEY] = cart


def add(session, sku: str, quantity: int) -> None:
    cart = quantities(session)
    cart[sku] = min(cart.get(sku, 0) + quantity, MAX_QUANTITY)
    _save(session, cart)


def set_quantity(session, sku: str, quantity: int) -> None:
    cart = quantities(session)
    if sku in cart:
        cart[sku] = quantity
        _save(session, cart)


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
            )
        )
    return shown


def total(cart_lines: list[CartLine]) -> Decimal:
    return sum((line.line_total for line in cart_lines), Decimal("0.00"))
