"""Shopper pages for sign-up, the cart, checkout and orders. Forms check the shape, commands
decide; pages read through the queries only."""

from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog import queries as catalog_queries
from catalog.forms import AddToCartForm
from config.errors import DomainError, NotFound, NotProjectedYet
from config.forms import add_domain_error
from orders import cart, commands, queries
from orders.forms import CancelForm, CartQuantityForm, CheckoutForm, PaymentForm, SignUpForm
from readmodels.consistency import wait_for

# Orders this session placed, by the checkout's idempotency key: a resubmitted checkout goes to
# its order, and an order not yet on the read side shows as "processing" instead of "not found".
PLACED_ORDERS = "placed_orders"
READ_YOUR_WRITES_SECONDS = 2.0


def _next_url(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def signup(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = commands.register_customer(
                actor=None,
                username=data["username"],
                email=data["email"],
                password=data["password"],
                display_name=data["display_name"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            user = get_user_model().objects.get(customer__pk=result.id)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_next_url(request, "catalog:home"))
    status = 400 if form.errors else 200
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": _next_url(request, "")},
        status=status,
    )


# --- the cart ---


def _render_cart(request, *, errors=(), line_errors=None, status=200):
    cart_lines = cart.lines(request.session)
    return render(
        request,
        "orders/cart.html",
        {
            "lines": cart_lines,
            "total": cart.total(cart_lines),
            "currency": cart_lines[0].currency if cart_lines else "",
            # A new key per rendering: a refused order used none, so the next try may reuse it.
            "checkout_form": CheckoutForm.fresh(),
            "errors": errors,
            "line_errors": line_errors or {},
        },
        status=status,
    )


def cart_detail(request):
    return _render_cart(request)


@require_POST
def cart_add(request, sku):
    try:
        product = catalog_queries.get_product(sku=sku)
    except NotFound as error:
        raise Http404(error.message) from None
    form = AddToCartForm(request.POST)
    if form.is_valid() and product.active:
        cart.add(request.session, sku, form.cleaned_data["quantity"])
        return redirect("orders:cart")
    if not product.active:
        form.add_error(None, "This product is no longer sold.")
    return render(
        request,
        "catalog/product_detail.html",
        {"product": product, "form": form},
        status=400,
    )


@require_POST
def cart_update(request, sku):
    form = CartQuantityForm(request.POST)
    if not form.is_valid():
        return _render_cart(request, line_errors={sku: form.errors["quantity"]}, status=400)
    cart.set_quantity(request.session, sku, form.cleaned_data["quantity"])
    return redirect("orders:cart")


@require_POST
def cart_remove(request, sku):
    cart.remove(request.session, sku)
    return redirect("orders:cart")


@login_required
def checkout(request):
    if request.method != "POST":
        return redirect("orders:cart")
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _render_cart(
            request, errors=["The checkout form was incomplete; please try again."], status=400
        )
    key = form.cleaned_data["idempotency_key"]
    placed = request.session.get(PLACED_ORDERS, {})
    if key in placed:  # this very form was submitted before: show that order
        return redirect("orders:order", order_id=placed[key])
    lines = [{"sku": sku, "quantity": qty} for sku, qty in cart.quantities(request.session).items()]
    try:
        result = commands.place_order(actor=request.user, lines=lines, idempotency_key=key)
    except DomainError as error:
        line_errors = {
            field.removeprefix("lines."): [message]
            for field, message in error.fields.items()
            if field.startswith("lines.")
        }
        message = "Please check the lines marked below." if line_errors else error.message
        return _render_cart(request, errors=[message], line_errors=line_errors, status=400)
    request.session[PLACED_ORDERS] = {**placed, key: result.id}
    cart.clear(request.session)
    return redirect("orders:order", order_id=result.id)


# --- orders ---


def _customer_id(request) -> int:
    customer_id = queries.customer_id_of(request.user)
    if customer_id is None:  # staff without a customer profile have no orders of their own
        raise Http404("This account has no orders.")
    return customer_id


@login_required
def order_list(request):
    customer_id = queries.customer_id_of(request.user)
    orders = [] if customer_id is None else queries.list_orders(customer_id=customer_id)
    return render(request, "orders/order_list.html", {"orders": orders})


def _order_context(request, order_id: int) -> dict:
    order = queries.get_order(order_id=order_id, customer_id=_customer_id(request))
    return {
        "order": order,
        "timeline": queries.order_history(order_id=order_id),
        "payment_form": PaymentForm.for_order(order),
        "cancel_form": CancelForm(),
    }


def _render_order(request, order_id: int, *, status=200, **forms):
    try:
        context = _order_context(request, order_id)
    except NotFound as missing:
        placed_here = order_id in request.session.get(PLACED_ORDERS, {}).values()
        if not (placed_here or isinstance(missing, NotProjectedYet)):
            raise Http404("There is no such order.") from None
        # The shopper's own order, not yet on the read side: say so and poll until it is.
        template = "orders/_processing.html" if request.htmx else "orders/processing.html"
        return render(request, template, {"order_id": order_id})
    context.update(forms)
    template = "orders/_order.html" if request.htmx else "orders/order_detail.html"
    return render(request, template, context, status=status)


@login_required
def order_detail(request, order_id):
    return _render_order(request, order_id)


def _require_own_order(request, order_id: int) -> None:
    """Pay and cancel act on the shopper's own orders only, whatever else the account may do."""
    try:
        queries.get_order(order_id=order_id, customer_id=_customer_id(request))
    except NotFound:
        raise Http404("There is no such order.") from None


def _after_command(result, order_id):
    # Read your writes: the order page should show what the shopper just did.
    wait_for(result.token, ["order_summary"], timeout=READ_YOUR_WRITES_SECONDS)
    return redirect("orders:order", order_id=order_id)


@login_required
@require_POST
def order_pay(request, order_id):
    _require_own_order(request, order_id)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            result = commands.pay_order(
                actor=request.user,
                order_id=order_id,
                amount=form.cleaned_data["amount"],
                payment_reference=form.cleaned_data["payment_reference"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _after_command(result, order_id)
    return _render_order(request, order_id, status=400, payment_form=form)


@login_required
@require_POST
def order_cancel(request, order_id):
    _require_own_order(request, order_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            result = commands.cancel_order(
                actor=request.user, order_id=order_id, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _after_command(result, order_id)
    return _render_order(request, order_id, status=400, cancel_form=form)
