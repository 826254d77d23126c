"""Orders commands: customers sign up, place, pay and cancel orders; staff ship and deliver.

Lock order, to keep concurrent commands free of deadlocks: products are always locked in id
order, and an order row before its products. place_order takes no order lock, so no cycle forms.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product
from core.commands import (
    Actor,
    CommandResult,
    check_expected_version,
    clean_int,
    clean_money,
    clean_text,
    command,
    raise_if_errors,
    require_customer,
    require_owner,
    require_permission,
)
from core.error_codes import CommonErrorCode
from core.errors import Conflict, NotFound
from core.eventlog import last_position, record
from orders import events
from orders.address import ShippingAddress, clean_address
from orders.error_codes import OrderErrorCode
from orders.models import (
    MAX_QUANTITY,
    ORDER_TRANSITIONS,
    Customer,
    Order,
    OrderLine,
    OrderStatus,
)

# Staff move orders on (ship, deliver, cancel) with this Django permission.
CHANGE_ORDER = "orders.change_order"

# One consistent set of limits: every order can be paid (its total is at most the largest
# payment), and every summary column holds whatever valid orders add up to (an order's total
# fits OrderSummary.total; sums of totals fit readmodels.models.SUM_OF_MONEY_DIGITS).
MAX_LINES = 50
MAX_ORDER_TOTAL = Decimal(100_000_000)
MAX_PAYMENT = MAX_ORDER_TOTAL
IDEMPOTENCY_CONSTRAINT = "one_order_per_idempotency_key"
USERNAME_TAKEN = "This username is taken."


def check_registration(
    *, username: str, email: str, password: str, display_name: str
) -> tuple[str, str, str]:
    """Every sign-up rule at once, writing nothing: a common password does not hide a taken
    username. Returns the cleaned (username, email, display_name). Sign-up pages call it on
    their own too, to show the rules' messages beside the form's own."""
    errors: dict = {}
    username = clean_text(errors, "username", username, max_length=150)
    if "username" not in errors:
        try:
            UnicodeUsernameValidator()(username)
        except DjangoValidationError:
            errors["username"] = "Use letters, digits and @/./+/-/_ only."
    if "username" not in errors and _username_exists(username):
        errors["username"] = USERNAME_TAKEN
    email = clean_text(errors, "email", email, max_length=254).lower()
    if "email" not in errors:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["email"] = "Enter a valid email address."
    display_name = clean_text(errors, "display_name", display_name, max_length=150)
    try:
        validate_password(password or "", get_user_model()(username=username, email=email))
    except DjangoValidationError as error:
        errors["password"] = " ".join(error.messages)
    if list(errors) == ["username"] and errors["username"] == USERNAME_TAKEN:
        _username_taken(username)  # alone, it keeps its own code
    raise_if_errors(errors)
    return username, email, display_name


@command
def register_customer(
    *, actor: Actor = None, username: str, email: str, password: str, display_name: str
) -> CommandResult:
    """Sign up: anyone may (actor is None or anonymous); staff may register on someone's behalf."""
    username, email, display_name = check_registration(
        username=username, email=email, password=password, display_name=display_name
    )
    User = get_user_model()
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            customer = Customer.objects.create(user=user, display_name=display_name, email=email)
            token = record(
                events.CustomerRegistered(
                    customer_id=customer.pk,
                    user_id=user.pk,
                    username=username,
                    display_name=display_name,
                    email=email,
                ),
                actor=actor,
            )
    except IntegrityError:  # a concurrent sign-up took the name between the check and the insert
        _username_taken(username)
    return CommandResult(
        id=customer.pk,
        version=1,
        token=token,
        state={"user_id": user.pk, "username": username, "display_name": display_name},
    )


def _username_exists(username: str) -> bool:
    return get_user_model().objects.filter(username__iexact=username).exists()


def _username_taken(username: str):
    raise OrderErrorCode.USERNAME_TAKEN.error(
        f"The username {username!r} is taken.",
        fields={"username": USERNAME_TAKEN},
    )


def _clean_lines(lines) -> dict[str, int]:
    """Shape checks for an order's lines, merging repeated SKUs: {sku: quantity}."""
    if not isinstance(lines, list | tuple) or not lines:
        raise OrderErrorCode.NO_LINES.error(
            "An order needs at least one line.", fields={"lines": "Add a product."}
        )
    if len(lines) > MAX_LINES:
        raise OrderErrorCode.TOO_MANY_LINES.error(
            f"An order can have at most {MAX_LINES} lines.",
            fields={"lines": f"At most {MAX_LINES} lines."},
        )
    errors: dict = {}
    merged: dict[str, int] = {}
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping):
            errors[f"lines[{index}]"] = "Each line needs a sku and a quantity."
            continue
        sku = clean_text(errors, f"lines[{index}].sku", line.get("sku"), max_length=32)
        quantity = clean_int(
            errors, f"lines[{index}].quantity", line.get("quantity"), low=1, high=MAX_QUANTITY
        )
        if sku and isinstance(quantity, int):
            merged[sku] = merged.get(sku, 0) + quantity
    for sku, quantity in merged.items():
        if quantity > MAX_QUANTITY:
            errors[f"lines.{sku}"] = f"At most {MAX_QUANTITY} of one product per order."
    raise_if_errors(errors)
    return merged


def request_digest(quantities: Mapping[str, int], address: ShippingAddress) -> str:
    """What an idempotency key's retry must repeat: the lines (merged) and the address."""
    request = [sorted(quantities.items()), sorted(address.as_dict().items())]
    return hashlib.sha256(json.dumps(request).encode()).hexdigest()


def _replay(order: Order, digest: str) -> CommandResult:
    if order.request_digest != digest:
        raise CommonErrorCode.IDEMPOTENCY_KEY_REUSED.error(
            "This idempotency key was already used for a different order.",
            fields={"idempotency_key": "Use a new key for a new order."},
        )
    return CommandResult(
        id=order.pk,
        version=order.version,
        token=last_position(events.OrderPlaced, order.pk),
        state=order_state(order, lines=order.lines.order_by("product_id")),
    )


@command
def place_order(
    *,
    actor: Actor,
    lines: Sequence[Mapping],
    shipping_address: ShippingAddress,
    idempotency_key: str | None = None,
) -> CommandResult:
    """Reserve stock for every line and create a pending order to ship to `shipping_address`,
    or change nothing at all.

    With an idempotency key (the checkout form's), a retry of the same order returns the
    original, and the same key with other lines or another address is refused. A form sent
    again with no lines (its first sending placed the order and emptied the cart) returns the
    order placed with it.
    """
    customer = require_customer(actor)
    errors: dict = {}
    address = clean_address(errors, "shipping_address", shipping_address)
    if idempotency_key is not None:
        idempotency_key = clean_text(errors, "idempotency_key", idempotency_key, max_length=100)
    resent = idempotency_key and not lines and not errors
    if resent and (original := _order_with_key(customer, idempotency_key)):
        return _replay(original, original.request_digest)
    quantities = _clean_lines(lines)
    raise_if_errors(errors)
    digest = request_digest(quantities, address)
    try:
        with transaction.atomic():
            if idempotency_key and (original := _order_with_key(customer, idempotency_key)):
                return _replay(original, digest)
            products = _lock_products(quantities)
            try:
                return _place(
                    actor, customer, products, quantities, address, idempotency_key, digest
                )
            except Conflict as refusal:
                # A double-clicked checkout: the first request may have committed while this
                # one waited for the product locks, taking the last units. Its order is the
                # answer, not "not enough stock". (A statement after the lock sees that commit;
                # when the stock suffices for both, the unique key below decides instead.)
                original = (
                    _order_with_key(customer, idempotency_key)
                    if refusal.code == OrderErrorCode.INSUFFICIENT_STOCK and idempotency_key
                    else None
                )
                if original is None:
                    raise
                return _replay(original, digest)
    except IntegrityError as error:
        # Two requests with one key raced; the unique constraint let the first one win.
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if not idempotency_key or constraint != IDEMPOTENCY_CONSTRAINT:
            raise
        return _replay(_order_with_key(customer, idempotency_key), digest)


def _order_with_key(customer: Customer, key: str) -> Order | None:
    return Order.objects.filter(customer=customer, idempotency_key=key).first()


def _lock_products(quantities: Mapping[str, int]) -> list[Product]:
    # Locking in id order means two orders sharing products queue up instead of deadlocking,
    # and the stock we check is the stock we decrement: no oversell.
    return list(Product.objects.select_for_update().filter(sku__in=quantities).order_by("id"))


def _place(
    actor: Actor,
    customer: Customer,
    products: list[Product],
    quantities: dict[str, int],
    address: ShippingAddress,
    key: str | None,
    digest: str,
) -> CommandResult:
    found = {product.sku: product for product in products}
    unknown = [sku for sku in quantities if sku not in found]
    if unknown:
        raise OrderErrorCode.UNKNOWN_PRODUCT.error(
            f"Unknown product: {', '.join(unknown)}.",
            fields={f"lines.{sku}": "No such product." for sku in unknown},
        )
    unavailable = [product.sku for product in products if not product.active]
    if unavailable:
        raise OrderErrorCode.PRODUCT_UNAVAILABLE.error(
            f"No longer sold: {', '.join(unavailable)}.",
            fields={f"lines.{sku}": "This product is no longer sold." for sku in unavailable},
        )
    short = {
        product.sku: product.stock
        for product in products
        if product.stock < quantities[product.sku]
    }
    if short:
        raise OrderErrorCode.INSUFFICIENT_STOCK.error(
            "Not enough stock for "
            + ", ".join(f"{sku} (only {left} left)" for sku, left in short.items())
            + ".",
            fields={
                f"lines.{sku}": f"Only {left} left, you asked for {quantities[sku]}."
                for sku, left in short.items()
            },
        )
    total = sum((product.price * quantities[product.sku] for product in products), Decimal(0))
    if total > MAX_ORDER_TOTAL:
        raise OrderErrorCode.ORDER_TOO_LARGE.error(
            f"An order can total at most {MAX_ORDER_TOTAL:,} {products[0].currency}; "
            f"this one is {total:,}. Split it into smaller orders.",
            fields={"lines": f"At most {MAX_ORDER_TOTAL:,} in one order."},
        )
    order = Order.objects.create(
        customer=customer,
        total=total,
        currency=products[0].currency,
        idempotency_key=key or None,
        request_digest=digest,
        **{f"shipping_{part}": value for part, value in address.as_dict().items()},
    )
    lines = [
        OrderLine(
            order=order,
            product=product,
            sku=product.sku,
            product_name=product.name,
            quantity=quantities[product.sku],
            unit_price=product.price,
        )
        for product in products
    ]
    OrderLine.objects.bulk_create(lines)
    Product.objects.add_stock({product.pk: -quantities[product.sku] for product in products})
    token = record(
        events.OrderPlaced(
            order_id=order.pk,
            customer_id=customer.pk,
            version=order.version,
            lines=[
                {
                    "sku": product.sku,
                    "product_id": product.pk,
                    "quantity": quantities[product.sku],
                    "unit_price": str(product.price),
                }
                for product in products
            ],
            total=total,
            currency=order.currency,
            placed_at=order.placed_at,
            shipping_address=address.as_dict(),
        ),
        actor=actor,
    )
    return CommandResult(
        id=order.pk, version=order.version, token=token, state=order_state(order, lines=lines)
    )


def order_state(order: Order, *, lines=None) -> dict:
    """An order as a command's answer shows it: what the command itself wrote (never read back
    from the read side, which may not have the order yet). Lines only where they were asked
    for, as place_order's answer (with the address the order ships to)."""
    state = {
        "status": order.status,
        "total": order.total,
        "currency": order.currency,
        "payment_reference": order.payment_reference,
        "tracking_number": order.tracking_number,
    }
    if lines is not None:
        address = order.shipping_address
        state["shipping_address"] = None if address is None else address.as_dict()
        state["lines"] = [
            {
                "sku": line.sku,
                "name": line.product_name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.unit_price * line.quantity,
            }
            for line in lines
        ]
    return state


def _lock_order(order_id, *, visible_to=None, expected_version: int | None = None) -> Order:
    """The order, locked, at the version the caller last saw (if it says). A customer asking
    for someone else's order gets the same 'not found' as for an order that does not exist: ids
    are not an oracle for other people's orders."""
    queryset = Order.objects.select_for_update()
    if visible_to is not None:
        queryset = queryset.filter(customer=visible_to)
    try:
        order = queryset.get(pk=int(order_id))
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound(
            f"There is no order {order_id}.", fields={"order_id": "Unknown order."}
        ) from None
    check_expected_version(order.version, expected_version, what="order")
    return order


def _require_transition(order: Order, new_status: OrderStatus) -> None:
    if (order.status, new_status) not in ORDER_TRANSITIONS:
        raise OrderErrorCode.INVALID_STATUS_TRANSITION.error(
            f"Order {order.pk} is {order.status} and cannot become {new_status}.",
            fields={"status": f"The order is {order.status}."},
        )


def _transition(
    order: Order, new_status: OrderStatus, *, actor: Actor, event, **changes
) -> CommandResult:
    _require_transition(order, new_status)
    order.status = new_status
    order.version += 1
    for field, value in changes.items():
        setattr(order, field, value)
    order.save(update_fields=["status", "version", *changes])
    token = record(
        event(order_id=order.pk, customer_id=order.customer_id, version=order.version),
        actor=actor,
    )
    return CommandResult(id=order.pk, version=order.version, token=token, state=order_state(order))


@command
def pay_order(
    *, actor: Actor, order_id, amount, payment_reference: str, expected_version: int | None = None
) -> CommandResult:
    """The owner pays the exact total. Repeating a payment with the same reference and amount
    is a safe retry that returns the first result; another reference, or the same reference
    with another amount, for a paid order is a conflict, and so is any payment once staff have
    cancelled the paid order."""
    customer = require_customer(actor)
    errors: dict = {}
    amount = clean_money(errors, "amount", amount, maximum=MAX_PAYMENT)
    payment_reference = clean_text(errors, "payment_reference", payment_reference, max_length=64)
    raise_if_errors(errors)
    with transaction.atomic():
        order = _lock_order(order_id, visible_to=customer)
        if order.payment_reference:
            if order.status == OrderStatus.CANCELLED:
                # A retry must not report success for an order staff have since cancelled:
                # the client would go on believing it is paid and on its way.
                raise OrderErrorCode.ORDER_CANCELLED.error(
                    f"Order {order.pk} was paid and then cancelled by our staff; "
                    "the payment is refunded.",
                    fields={"status": "The order is cancelled."},
                )
            if order.payment_reference != payment_reference:
                raise OrderErrorCode.ALREADY_PAID.error(
                    f"Order {order.pk} is already paid (reference {order.payment_reference}).",
                    fields={"payment_reference": "The order was paid with another reference."},
                )
            if amount != order.total:
                # A replay must be the same request: the same reference with another amount is
                # not a retry of the payment that was made.
                raise OrderErrorCode.PAYMENT_MISMATCH.error(
                    f"Order {order.pk} was paid with this reference for {order.total}.",
                    fields={"amount": f"The payment with this reference was {order.total}."},
                )
            return CommandResult(
                id=order.pk,
                version=order.version,
                token=last_position(events.OrderPaid, order.pk),
                state=order_state(order),
            )
        check_expected_version(order.version, expected_version, what="order")
        _require_transition(order, OrderStatus.PAID)
        if amount != order.total:
            raise OrderErrorCode.AMOUNT_MISMATCH.error(
                f"The amount must be the order total, {order.total} {order.currency}.",
                fields={"amount": f"Pay exactly {order.total}."},
            )
        return _transition(
            order,
            OrderStatus.PAID,
            actor=actor,
            event=lambda **ids: events.OrderPaid(
                **ids, amount=amount, payment_reference=payment_reference
            ),
            paid_at=timezone.now(),
            payment_reference=payment_reference,
        )


@command
def ship_order(
    *, actor: Actor, order_id, tracking_number: str, expected_version: int | None = None
) -> CommandResult:
    """Staff ship a paid order with its tracking number."""
    require_permission(actor, CHANGE_ORDER)
    errors: dict = {}
    tracking_number = clean_text(errors, "tracking_number", tracking_number, max_length=64)
    raise_if_errors(errors)
    with transaction.atomic():
        order = _lock_order(order_id, expected_version=expected_version)
        return _transition(
            order,
            OrderStatus.SHIPPED,
            actor=actor,
            event=lambda **ids: events.OrderShipped(**ids, tracking_number=tracking_number),
            shipped_at=timezone.now(),
            tracking_number=tracking_number,
        )


@command
def deliver_order(*, actor: Actor, order_id, expected_version: int | None = None) -> CommandResult:
    """Staff mark a shipped order as delivered."""
    require_permission(actor, CHANGE_ORDER)
    with transaction.atomic():
        order = _lock_order(order_id, expected_version=expected_version)
        return _transition(
            order,
            OrderStatus.DELIVERED,
            actor=actor,
            event=events.OrderDelivered,
            delivered_at=timezone.now(),
        )


@command
def cancel_order(
    *, actor: Actor, order_id, reason: str, expected_version: int | None = None
) -> CommandResult:
    """The owner may cancel while the order is pending, staff while pending or paid; either
    way every line's stock goes back on the shelf."""
    customer = require_owner(actor, permission=CHANGE_ORDER)
    errors: dict = {}
    reason = clean_text(errors, "reason", reason, max_length=500)
    raise_if_errors(errors)
    with transaction.atomic():
        order = _lock_order(order_id, visible_to=customer, expected_version=expected_version)
        _require_transition(order, OrderStatus.CANCELLED)
        if customer is not None and order.status != OrderStatus.PENDING:
            raise OrderErrorCode.CANCEL_NEEDS_STAFF.error(
                "A paid order can only be cancelled by our staff; please contact us."
            )
        lines = list(order.lines.order_by("product_id"))
        products = Product.objects.select_for_update().filter(
            pk__in=[line.product_id for line in lines]
        )
        list(products.order_by("id"))  # take the row locks in id order before changing stock
        Product.objects.add_stock({line.product_id: line.quantity for line in lines})
        previous_status = order.status
        return _transition(
            order,
            OrderStatus.CANCELLED,
            actor=actor,
            event=lambda **ids: events.OrderCancelled(
                **ids,
                reason=reason,
                previous_status=previous_status,
                restocked=[
                    {"sku": line.sku, "product_id": line.product_id, "quantity": line.quantity}
                    for line in lines
                ],
            ),
            cancelled_at=timezone.now(),
            cancel_reason=reason,
        )
