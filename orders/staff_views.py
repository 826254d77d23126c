"""Staff pages: the dashboard (reports and projection health) and fulfilment (ship, deliver)."""

from datetime import UTC, timedelta
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog import queries as catalog_queries
from orders import commands, queries
from orders.charts import sales_chart
from orders.forms import ShipForm
from pages.commands import submit
from readmodels import replicas
from readmodels.status import projection_status

CHART_DAYS = 30
TOP_ROWS = 10
# What the fulfilment page reads: after a command, it waits for these to show the change.
FULFILMENT_PAGE = ("order_summary",)


def staff_required(view):
    """Anonymous visitors go to log in and back; logged-in non-staff get 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapped


@staff_required
def dashboard(request):
    # Daily sales are counted per UTC day (the projection's key), so "today" is the UTC one.
    today = timezone.now().astimezone(UTC).date()
    days = queries.daily_sales(start=today - timedelta(days=CHART_DAYS - 1), end=today)
    statuses, horizon_holders = projection_status()
    return render(
        request,
        "staff/dashboard.html",
        {
            "chart": sales_chart(days, currency=settings.SHOP_CURRENCY),
            "revenue_total": sum(day.net_revenue for day in days),
            "orders_total": sum(day.orders_placed for day in days),
            "best_by_revenue": catalog_queries.best_sellers(by="revenue")[:TOP_ROWS],
            "best_by_units": catalog_queries.best_sellers(by="units")[:TOP_ROWS],
            "top_customers": queries.top_customers(buyers_only=True)[:TOP_ROWS],
            "projections": statuses,
            "lagging": [status for status in statuses if status.lagging],
            "horizon_holders": horizon_holders,
            "replicas": replicas.report(),
            "days_in_utc": settings.TIME_ZONE != "UTC",
        },
    )


def _render_fulfilment(request, *, ship_forms=None, errors=None, status=200):
    ship_forms = ship_forms or {}
    to_ship = [
        (order, ship_forms.get(order.order_id) or ShipForm())
        for order in queries.list_orders(status="paid")
    ]
    return render(
        request,
        "staff/fulfilment.html",
        {
            "to_ship": to_ship,
            "to_deliver": queries.list_orders(status="shipped"),
            "errors": errors or {},
        },
        status=status,
    )


@staff_required
def fulfilment(request):
    return _render_fulfilment(request)


@staff_required
@require_POST
def ship(request, order_id):
    form = ShipForm(request.POST)
    if form.is_valid():
        tracking_number = form.cleaned_data["tracking_number"]
        shipped = submit(
            form,
            commands.ship_order,
            shows_in=FULFILMENT_PAGE,
            actor=request.user,
            order_id=order_id,
            tracking_number=tracking_number,
        )
        if shipped is not None:
            messages.success(request, f"Order {order_id} is shipped ({tracking_number}).")
            return redirect("staff:fulfilment")
    return _render_fulfilment(
        request, ship_forms={order_id: form}, errors={order_id: form.non_field_errors()}, status=400
    )


@staff_required
@require_POST
def deliver(request, order_id):
    form = forms.Form({})  # no fields: a refusal lands on the form as a whole
    delivered = submit(
        form,
        commands.deliver_order,
        shows_in=FULFILMENT_PAGE,
        actor=request.user,
        order_id=order_id,
    )
    if delivered is None:
        return _render_fulfilment(request, errors={order_id: form.non_field_errors()}, status=400)
    messages.success(request, f"Order {order_id} is marked delivered.")
    return redirect("staff:fulfilment")
