"""Customers, orders and sales reports as JSON. POST → orders.commands, GET → orders.queries."""

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.commands import (
    CommandOut,
    CommandView,
    VersionedIn,
    command_response,
)
from api.errors import error_responses
from api.pagination import (
    CursorPagination,
    QueryOrderedCursor,
)
from api.queries import QueryView
from api.throttling import LoginRefused, authenticate_limited
from catalog import queries as catalog_queries
from catalog.api import ProductOut
from core.error_codes import CommonErrorCode
from orders import commands, queries
from orders.address import COUNTRY_CHOICES, MAX_LENGTHS, ShippingAddress
from orders.models import MAX_QUANTITY, OrderStatus

# --- output ---


class OrderLineOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class AddressOut(serializers.Serializer):
    name = serializers.CharField(help_text="the recipient")
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_blank=True)
    postal_code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.ChoiceField(choices=COUNTRY_CHOICES)


class OrderOut(serializers.Serializer):
    id = serializers.IntegerField(source="order_id")
    customer_id = serializers.IntegerField()
    customer_name = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    line_count = serializers.IntegerField()
    units = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    lines = OrderLineOut(many=True)
    placed_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    tracking_number = serializers.CharField(allow_blank=True)
    cancel_reason = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField()
    shipping_address = AddressOut(
        allow_null=True, help_text="Null for orders placed before checkout asked for one."
    )


class HistoryEntryOut(serializers.Serializer):
    event_type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    position = serializers.CharField()
    actor = serializers.CharField(
        allow_null=True,
        help_text='Who acted: a username, or "shop staff" when a customer reads a staff action.',
    )
    payload = serializers.DictField()
    status = serializers.ChoiceField(
        choices=OrderStatus.choices, help_text="the order's status right after this event"
    )
    correlation_id = serializers.CharField(allow_null=True)


class HistoryIn(serializers.Serializer):
    as_of = serializers.DateTimeField(
        required=False,
        help_text="only the events up to this moment: the last entry's status is the order's "
        "status then",
    )


class DaySalesOut(serializers.Serializer):
    date = serializers.DateField()
    orders_placed = serializers.IntegerField()
    orders_cancelled = serializers.IntegerField()
    units_sold = serializers.IntegerField()
    gross_revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    net_revenue = serializers.DecimalField(max_digits=16, decimal_places=2)


class CustomerReportOut(serializers.Serializer):
    customer_id = serializers.IntegerField()
    username = serializers.CharField(help_text="What the customer logs in with.")
    name = serializers.CharField(help_text="The customer's display name.")
    email = serializers.EmailField()
    order_count = serializers.IntegerField()
    lifetime_value = serializers.DecimalField(max_digits=16, decimal_places=2)
    last_order_at = serializers.DateTimeField(allow_null=True)


class OrderStateOut(serializers.Serializer):
    """The order as the command left it (from the command itself, not the read side)."""

    status = serializers.ChoiceField(choices=OrderStatus.choices)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    payment_reference = serializers.CharField(allow_blank=True)
    tracking_number = serializers.CharField(allow_blank=True)


class PlacedOrderStateOut(OrderStateOut):
    lines = OrderLineOut(many=True)
    shipping_address = AddressOut()


class OrderCommandOut(CommandOut, OrderStateOut):
    pass


class PlacedOrderOut(CommandOut, PlacedOrderStateOut):
    pass


def order_answer(result, *, state_out=OrderStateOut, created: bool = False):
    """A command's answer for an order: id, version, token and the order's new state."""
    return command_response(
        result,
        location=order_location(result.id),
        created=created,
        **state_out(result.state).data,
    )


class TokenOut(serializers.Serializer):
    token = serializers.CharField()


# --- input ---


class SignUpIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True)
    display_name = serializers.CharField(max_length=150)


class TokenIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128)


class LineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=32)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class AddressIn(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_LENGTHS["name"], help_text="The recipient.")
    line1 = serializers.CharField(max_length=MAX_LENGTHS["line1"], help_text="Street and number.")
    line2 = serializers.CharField(
        max_length=MAX_LENGTHS["line2"], required=False, default="", allow_blank=True
    )
    postal_code = serializers.CharField(
        max_length=MAX_LENGTHS["postal_code"], help_text="As written in the country, e.g. 10115."
    )
    city = serializers.CharField(max_length=MAX_LENGTHS["city"])
    country = serializers.ChoiceField(
        choices=COUNTRY_CHOICES,
        help_text="The ISO 3166-1 alpha-2 code of a country the shop ships to.",
    )

    def validate(self, attrs):
        return ShippingAddress(**attrs)  # what place_order takes


class PlaceOrderIn(serializers.Serializer):
    lines = LineIn(many=True, min_length=1, max_length=commands.MAX_LINES)
    shipping_address = AddressIn()


class PayIn(VersionedIn):
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=commands.MAX_PAYMENT,
        help_text="The order's total, exactly.",
    )
    payment_reference = serializers.CharField(max_length=64)


class CancelIn(VersionedIn):
    reason = serializers.CharField(max_length=500)


class ShipIn(VersionedIn):
    tracking_number = serializers.CharField(max_length=64)


class OrderFilters(serializers.Serializer):
    status = serializers.ChoiceField(required=False, choices=OrderStatus.choices)
    customer = serializers.IntegerField(required=False, min_value=1, help_text="staff only")


DEFAULT_DAYS = timedelta(days=29)


class DateRange(serializers.Serializer):
    # "from" is a Python keyword: the field is declared below under its wire name.
    to = serializers.DateField(required=False)

    def validate(self, attrs):
        end = attrs.get("to") or timezone.now().date()
        # The default window is the 30 days up to `end`, cut short at 0001-01-01 (a plain
        # subtraction overflows there, which was a 500).
        start = attrs.get("from") or max(end, date.min + DEFAULT_DAYS) - DEFAULT_DAYS
        if start > end:
            raise serializers.ValidationError({"from": "Must not be after 'to'."})
        if (end - start).days > 366:
            raise serializers.ValidationError({"from": "At most 367 days at once."})
        return {"start": start, "end": end}


DateRange._declared_fields["from"] = serializers.DateField(required=False)


class CustomerReportFilters(serializers.Serializer):
    ordering = serializers.ChoiceField(
        required=False, choices=list(queries.CUSTOMER_ORDERINGS), default="-lifetime_value"
    )


# --- views ---


class NewestFirst(CursorPagination):
    page_size = 25
    max_page_size = 100
    page_size_query_param = "page_size"
    ordering = ("-placed_at", "-order_id")


def order_location(order_id: int) -> str:
    return reverse("order-detail", kwargs={"order_id": order_id})


def visible_to(user) -> int | None:
    """Staff see every order; a customer only their own (None means no restriction)."""
    if user.is_staff:
        return None
    customer_id = queries.customer_id_of(user)
    if customer_id is None:
        raise CommonErrorCode.NOT_A_CUSTOMER.error("This account has no customer profile.")
    return customer_id


class SignUpOut(CommandOut):
    username = serializers.CharField()
    display_name = serializers.CharField()
    token = serializers.CharField(
        allow_null=True,
        help_text="The new customer's API token (send `Authorization: Token <token>`); null "
        "when staff signed the customer up.",
    )


class OrdersQuery(QueryView):
    tags = ("orders",)


class ReportQuery(QueryView):
    tags = ("reports",)


class OrdersCommand(CommandView):
    tags = ("orders",)


class SignUp(OrdersCommand):
    def answer(self, request, result, data):
        # The token is API access, not shop state: the API hands it out, as /api/auth/token/
        # does, and only to the customers themselves, never to staff signing someone up.
        token = None
        if not request.user.is_authenticated:
            token = Token.objects.get_or_create(user_id=result.state["user_id"])[0].key
        return self.respond(
            result,
            location=reverse("order-list"),
            username=result.state["username"],
            display_name=result.state["display_name"],
            token=token,
        )


class ObtainToken(APIView):
    """Username and password in, an API token out (the same token on every call)."""

    # 401 and 403 come before the view runs: an invalid `Authorization: Token` header, or a
    # session cookie without its CSRF token.
    @extend_schema(
        operation_id="obtain_token",
        tags=["orders"],
        request=TokenIn,
        responses={200: TokenOut, **error_responses(400, 401, 403, 415, 429)},
    )
    def post(self, request):
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate_limited(request, **data.validated_data)
        if isinstance(user, LoginRefused):
            raise exceptions.Throttled(wait=user.retry_after, detail=LoginRefused.message)
        if user is None:
            raise serializers.ValidationError({"password": ["Wrong username or password."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class PlaceOrder(OrdersCommand):
    def answer(self, request, result, data):
        return order_answer(result, state_out=PlacedOrderStateOut, created=True)


class OrderCommand(OrdersCommand):
    """POST /api/orders/{id}/<action>."""

    def answer(self, request, result, data, order_id):
        return order_answer(result)


# --- queries ---


def orders_list(request, *, status=None, customer=None):
    """Orders, newest first: a customer sees their own; staff see all and can filter by
    status and customer."""
    customer_id = visible_to(request.user)
    if customer_id is None:
        customer_id = customer
    return queries.list_orders(customer_id=customer_id, status=status)


def get_order(request, order_id):
    """One order (another customer's order is a 404)."""
    return queries.get_order(order_id=order_id, customer_id=visible_to(request.user))


def order_history(request, order_id, **as_of):
    """One order's events, oldest first, each with the status it left the order in; with
    `as_of`, those up to that moment."""
    get_order(request, order_id)  # 404 if not theirs
    return queries.order_history(order_id=order_id, viewer=request.user, **as_of)


def daily_sales_report(request, *, start, end):
    """Staff: sales per UTC day from `from` to `to` (30 days up to today by default)."""
    return queries.daily_sales(start=start, end=end)


def customers_report(request, **ordering):
    """Staff: customers by lifetime value or by order count."""
    return queries.top_customers(**ordering)


def best_sellers_report(request):
    """Staff: products by units sold, then revenue."""
    return catalog_queries.best_sellers()[:20]


class CustomerCursor(QueryOrderedCursor):
    page_size = 20


# --- the operations ---

ANYONE = [AllowAny]
CUSTOMERS = [IsAuthenticated]  # and staff; the commands and queries say who may do what
STAFF = [IsAdminUser]

register_customer = SignUp.for_command(
    commands.register_customer,
    input=SignUpIn,
    output=SignUpOut,
    created=True,
    permissions=ANYONE,
    description="Sign up as a customer (no login needed). The answer carries the new customer's API\n"
    "token, so the client can go on at once; `Location` is their order list.\n"
    "(/api/auth/token/ gives the same token later from the username and password.)",
)
orders = OrdersQuery.for_query(
    orders_list,
    output=OrderOut,
    filters=OrderFilters,
    paginator=NewestFirst,
    projections=("order_summary",),
    permissions=CUSTOMERS,
)
place_order = PlaceOrder.for_command(
    commands.place_order,
    input=PlaceOrderIn,
    output=PlacedOrderOut,
    created=True,
    permissions=CUSTOMERS,
    description="Place an order for the logged-in customer, to ship to `shipping_address`; stock is\n"
    "taken at once. The answer has the lines with their unit prices, the total to pay and\n"
    "the address.",
)
order = OrdersQuery.for_query(
    get_order, output=OrderOut, projections=("order_summary",), permissions=CUSTOMERS
)
history = OrdersQuery.for_query(
    order_history,
    output=HistoryEntryOut,
    many=True,
    filters=HistoryIn,
    projections=("order_summary",),
    permissions=CUSTOMERS,
)
pay = OrderCommand.for_command(
    commands.pay_order, input=PayIn, output=OrderCommandOut, permissions=CUSTOMERS
)
cancel = OrderCommand.for_command(
    commands.cancel_order, input=CancelIn, output=OrderCommandOut, permissions=CUSTOMERS
)
ship = OrderCommand.for_command(
    commands.ship_order, input=ShipIn, output=OrderCommandOut, permissions=STAFF
)
deliver = OrderCommand.for_command(
    commands.deliver_order, input=VersionedIn, output=OrderCommandOut, permissions=STAFF
)
daily_sales = ReportQuery.for_query(
    daily_sales_report,
    output=DaySalesOut,
    many=True,
    filters=DateRange,
    # "from" is a Python keyword: DateRange declares it by hand, and so does its schema.
    parameters=[
        OpenApiParameter(
            "from", OpenApiTypes.DATE, description="first day (default: 29 days before 'to')"
        ),
        OpenApiParameter("to", OpenApiTypes.DATE, description="last day (default: today)"),
    ],
    projections=("daily_sales",),
    permissions=STAFF,
)
customers = ReportQuery.for_query(
    customers_report,
    output=CustomerReportOut,
    filters=CustomerReportFilters,
    paginator=CustomerCursor,
    projections=("customer_summary",),
    permissions=STAFF,
)
best_sellers = ReportQuery.for_query(
    best_sellers_report,
    output=ProductOut,
    many=True,
    projections=("product_summary",),
    permissions=STAFF,
)
