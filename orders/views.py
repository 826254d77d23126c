"""Shopper pages for sign-up, the cart, checkout and orders. Forms check the shape, commands
decide; pages read through the queries only. Every action ends with a message saying what
happened (Django's messages framework), shown on the next page."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog import queries as catalog_queries
from catalog.forms import AddToCartForm
from catalog.templatetags.shop import money
from core.errors import DomainError, NotFound, NotProjectedYet
from orders import cart, commands, queries
from orders.forms import CancelForm, CartQuantityForm, CheckoutForm, PaymentForm, SignUpForm
from pages.commands import submit
from pages.forms import add_domain_error
from readmodels.replicas import replica_reads

# What the order page reads: after a command, it waits for these to show the change.
ORDER_PAGE = ("order_summary",)
SIGNUP_FIELDS = ("username", "email", "password", "display_name")


def _next_url(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _add_rule_errors(form, error: DomainError) -> None:
    """The command's messages for fields the form has not already complained about."""
    fresh = {field: message for field, message in error.fields.items() if field not in form.errors}
    if fresh or not error.fields:
        add_domain_error(form, type(error)(error.message, code=error.code, fields=fresh))


def signup(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        try:
            if form.is_valid():
                data = form.cleaned_data
                result = commands.register_customer(
                    actor=None, **{name: data[name] for name in SIGNUP_FIELDS}
                )
            else:  # the form's own errors, and every rule's too: all at once, not one a try
                commands.check_registration(
                    **{name: form.data.get(name, "") for name in SIGNUP_FIELDS}
                )
        except DomainError as error:
            _add_rule_errors(form, error)
        if not form.errors:
            user = get_user_model().objects.get(customer__pk=result.id)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, f"Welcome, {form.cleaned_data['display_name']}! Your account is ready."
            )
            return redirect(_next_url(request, "catalog:home"))
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": _next_url(request, "")},
        status=400 if form.errors else 200,
    )


class LoginView(auth_views.LoginView):
    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome back, {form.get_user().get_username()}.")
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # After logout: the message lives in the new, anonymous session.
        messages.info(request, "You are logged out. See you soon.")
        return response


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
            "errors": errors,
            "line_errors": line_errors or {},
        },
        status=status,
    )


def cart_detail(request):
    return _render_cart(request)


def _product(sku: str):
    try:
        return catalog_queries.get_product(sku=sku)
    except NotFound as error:
        raise Http404(error.message) from None


@require_POST
def cart_add(request, sku):
    product = _product(sku)
    form = AddToCartForm.for_product(product, request.POST)
    if not product.active:
        form.add_error(None, "This product is no longer available.")
    elif not product.in_stock:
        form.add_error(None, "Sorry, this product has just sold out.")
    elif form.is_valid():
        wanted = cart.quantities(request.session).get(sku, 0) + form.cleaned_data["quantity"]
        now = cart.add(request.session, sku, form.cleaned_data["quantity"], stock=product.stock)
        if now < wanted:
            messages.warning(
                request,
                f"We have only {product.stock} of {product.name}, so your cart holds {now}.",
            )
        else:
            messages.success(request, f"Added {form.cleaned_data['quantity']} × {product.name}.")
        return redirect("orders:cart")
    return render(
        request, "catalog/product_detail.html", {"product": product, "form": form}, status=400
    )


@require_POST
def cart_update(request, sku):
    form = CartQuantityForm(request.POST)
    if not form.is_valid():
        return _render_cart(request, line_errors={sku: form.errors["quantity"]}, status=400)
    product = _product(sku)
    if sku not in cart.quantities(request.session):  # removed meanwhile, in another tab
        return redirect("orders:cart")
    now = cart.set_quantity(
        request.session, sku, form.cleaned_data["quantity"], stock=product.stock
    )
    if now < form.cleaned_data["quantity"]:
        messages.warning(request, f"We have only {product.stock} of {product.name}.")
    else:
        messages.success(request, f"Updated {product.name}: {now} in your cart.")
    return redirect("orders:cart")


@require_POST
def cart_remove(request, sku):
    cart.remove(request.session, sku)
    messages.info(request, "Removed from your cart.")
    return redirect("orders:cart")


# --- checkout: review, then place ---


def _line_errors(error: DomainError) -> dict:
    return {
        field.removeprefix("lines."): [message]
        for field, message in error.fields.items()
        if field.startswith("lines.")
    }


def _render_review(request, *, form=None, errors=(), line_errors=None, status=200):
    cart_lines = cart.lines(request.session)
    if not cart_lines:
        return redirect("orders:cart")
    if form is None:  # the address the customer's last order went to, to start from
        customer_id = queries.customer_id_of(request.user)
        last = customer_id and queries.last_shipping_address(customer_id=customer_id)
        form = CheckoutForm.fresh(last)
    return render(
        request,
        "orders/review.html",
        {
            "lines": cart_lines,
            "total": cart.total(cart_lines),
            "currency": cart_lines[0].currency,
            # A new key per rendering: a refused order used none, so the next try may reuse it.
            "checkout_form": form,
            "errors": errors,
            "line_errors": line_errors or {},
            "blocked": any(not line.available or line.over_stock for line in cart_lines),
        },
        status=status,
    )


@login_required
def checkout(request):
    if request.method != "POST":
        return _render_review(request)
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _render_review(
            request, errors=["The checkout form was incomplete; please try again."], status=400
        )
    # The form's key is the page's idempotency: the same form sent again (a double click, a
    # resubmission after the cart was emptied) answers with the order it placed.
    key = form.cleaned_data["idempotency_key"]
    lines = [{"sku": sku, "quantity": qty} for sku, qty in cart.quantities(request.session).items()]
    try:
        result = commands.place_order(
            actor=request.user,
            lines=lines,
            shipping_address=form.shipping_address,
            idempotency_key=key,
        )
    except DomainError as error:
        if any(field in form.COMMAND_FIELDS for field in error.fields):  # next to the address
            add_domain_error(form, error, field_names=form.COMMAND_FIELDS)
            return _render_review(request, form=form, status=400)
        line_errors = _line_errors(error)
        message = "Please check the lines marked below." if line_errors else error.message
        return _render_cart(request, errors=[message], line_errors=line_errors, status=400)
    cart.clear(request.session)
    return redirect("orders:order_thanks", order_id=result.id)


# --- orders ---


def _customer_id(request) -> int:
    customer_id = queries.customer_id_of(request.user)
    if customer_id is None:  # staff without a customer profile have no orders of their own
        raise Http404("This account has no orders.")
    return customer_id


@replica_reads
@login_required
def order_list(request):
    customer_id = queries.customer_id_of(request.user)
    orders = [] if customer_id is None else queries.list_orders(customer_id=customer_id)
    return render(request, "orders/order_list.html", {"orders": orders})


def _render_order(request, order_id: int, *, thanks=False, status=200, **forms):
    """The order, or "confirming…" while the read side has not got it yet (htmx polls)."""
    context = {"order_id": order_id, "thanks": thanks}
    try:
        order = queries.get_order(order_id=order_id, customer_id=_customer_id(request))
    except NotFound as missing:
        if not isinstance(missing, NotProjectedYet):
            raise Http404("There is no such order.") from None
        # The shopper's own order, not yet on the read side: say it is being confirmed, and poll.
        template = "orders/_confirming.html" if request.htmx else "orders/order_page.html"
        return render(request, template, context)
    context.update(
        order=order,
        timeline=queries.order_history(order_id=order_id, viewer=request.user),
        payment_form=forms.get("payment_form") or PaymentForm(),
    )
    template = "orders/_order.html" if request.htmx else "orders/order_page.html"
    return render(request, template, context, status=status)


@replica_reads
@login_required
def order_detail(request, order_id):
    return _render_order(request, order_id)


@replica_reads
@login_required
def order_thanks(request, order_id):
    return _render_order(request, order_id, thanks=True)


def _own_order(request, order_id: int):
    """Pay and cancel act on the shopper's own orders only, whatever else the account may do."""
    try:
        return queries.get_order(order_id=order_id, customer_id=_customer_id(request))
    except NotFound:
        raise Http404("There is no such order.") from None


def payment_reference(order_id: int) -> str:
    """Made on the server, the same for every try at paying one order: a double click or a
    retry sends the same reference, which pay_order answers with the first payment."""
    return "WEB-" + salted_hmac("shop.payment-reference", str(order_id)).hexdigest()[:12].upper()


@login_required
@require_POST
def order_pay(request, order_id):
    order = _own_order(request, order_id)
    form = PaymentForm(request.POST)
    paid = submit(
        form,
        commands.pay_order,
        shows_in=ORDER_PAGE,
        actor=request.user,
        order_id=order_id,
        amount=order.total,
        payment_reference=payment_reference(order_id),
    )
    if paid is None:
        return _render_order(request, order_id, status=400, payment_form=form)
    if order.status == "pending":  # not for the second click of a double click
        messages.success(request, f"Thank you! We received your payment of {money(order.total)}.")
    return redirect("orders:order", order_id=order_id)


@login_required
def order_cancel(request, order_id):
    """GET asks "are you sure?"; only the POST from that page cancels."""
    order = _own_order(request, order_id)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cancelled = submit(
            form,
            commands.cancel_order,
            shows_in=ORDER_PAGE,
            actor=request.user,
            order_id=order_id,
            reason=form.cleaned_data["reason"],
        )
        if cancelled is not None:
            messages.success(request, f"Order {order_id} is cancelled. Nothing will be charged.")
            return redirect("orders:order", order_id=order_id)
    return render(
        request,
        "orders/cancel_confirm.html",
        {"order": order, "form": form},
        status=400 if form.errors else 200,
    )
