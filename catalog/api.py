"""Catalog JSON API. POST → catalog.commands, GET → catalog.queries."""

import re
from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from catalog import commands, queries
from catalog.models import MAX_PRICE, SKU_PATTERN
from config.api import (
    COMMAND_ERRORS,
    CONSISTENCY_PARAMETERS,
    IDEMPOTENCY_HEADER,
    CommandOut,
    CommandView,
    CursorPagination,
    QueryOrderedCursor,
    QueryView,
    VersionedIn,
    command_response,
    cursor_parameters,
    page_of,
    paginated_response,
    query_responses,
)
from config.errors import NotFound

CATALOG_PROJECTIONS = (
    "product_summary",
    "product_document",
    "product_search",
    "category_summary",
)
SALES_FIGURES = ("units_sold", "revenue", "order_count", "last_ordered_at")
STAFF_ONLY = "Staff only: absent for anyone else."


# --- output ---


class CategoryOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    product_count = serializers.IntegerField()
    active_product_count = serializers.IntegerField()
    in_stock_product_count = serializers.IntegerField()
    min_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    max_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class ProductOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    category = serializers.CharField(source="category_slug")
    category_name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    stock = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    active = serializers.BooleanField()
    # Sales figures are staff only, as in /api/reports/best-sellers/: anyone may list products
    # by popularity (?ordering=-units_sold), but the figures themselves are the shop's business.
    units_sold = serializers.IntegerField(required=False, help_text=STAFF_ONLY)
    revenue = serializers.DecimalField(
        max_digits=16, decimal_places=2, required=False, help_text=STAFF_ONLY
    )
    order_count = serializers.IntegerField(required=False, help_text=STAFF_ONLY)
    last_ordered_at = serializers.DateTimeField(
        allow_null=True, required=False, help_text=STAFF_ONLY
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not request.user.is_staff:
            for name in SALES_FIGURES:
                del data[name]
        return data


class ProductCommandOut(CommandOut):
    sku = serializers.CharField()


# --- input ---


def price_field():
    return serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_PRICE
    )


class ProductFilters(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=200)
    category = serializers.SlugField(required=False)
    min_price = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=0
    )
    max_price = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=0
    )
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    ordering = serializers.ChoiceField(required=False, choices=list(queries.PRODUCT_ORDERINGS))


class CategoryIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(required=False, max_length=120)


class ProductIn(serializers.Serializer):
    sku = serializers.RegexField(SKU_PATTERN, max_length=32, trim_whitespace=False)
    name = serializers.CharField(max_length=200)
    category = serializers.SlugField()
    price = price_field()
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, default=""
    )
    stock = serializers.IntegerField(
        required=False, min_value=0, max_value=commands.MAX_STOCK, default=0
    )


class DetailsIn(VersionedIn):
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    category = serializers.SlugField(required=False)


class PriceIn(VersionedIn):
    price = price_field()
    confirm_large_cut = serializers.BooleanField(required=False, default=False)


class RestockIn(VersionedIn):
    quantity = serializers.IntegerField(min_value=1, max_value=commands.MAX_RESTOCK)
    reason = serializers.CharField(max_length=200)


# --- views ---


class ProductCursor(QueryOrderedCursor):
    page_size = 24


class CategoryCursor(CursorPagination):
    page_size = 100
    ordering = ("name", "category_id")


def known_shape(sku: str) -> str:
    """A SKU from the URL. One that breaks the SKU rules names no product: a 404 like any
    unknown SKU, without asking the database (which refuses a NUL byte in text with a 500)."""
    if not re.fullmatch(SKU_PATTERN, sku):
        raise NotFound(f"There is no product {sku!r}.", fields={"sku": "Unknown SKU."})
    return sku


def product_location(sku: str) -> str:
    return reverse("product-detail", kwargs={"sku": sku})


class Categories(QueryView, CommandView):
    projections = ("category_summary",)
    paginator = CategoryCursor
    public = True

    def get_permissions(self):
        return [IsAdminUser()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(
        operation_id="categories_list",
        parameters=[*cursor_parameters(CategoryCursor), *CONSISTENCY_PARAMETERS],
        responses=query_responses(page_of(CategoryOut)),
    )
    def get(self, request, *args, **kwargs):
        """Every category, by name, with its product counts and price range."""
        return super().get(request, *args, **kwargs)

    def read(self, request):
        return paginated_response(
            self, request, queries.list_categories(), self.paginator(), CategoryOut
        )

    input_serializer = CategoryIn

    @extend_schema(
        operation_id="create_category",
        request=CategoryIn,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: CommandOut, **COMMAND_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        """Staff: create a category (its slug is made from the name)."""
        return super().post(request, *args, **kwargs)

    def run(self, request, data):
        result = commands.create_category(actor=request.user, **data)
        return command_response(result, location=reverse("category-list"), created=True)


class Products(QueryView, CommandView):
    projections = CATALOG_PROJECTIONS
    paginator = ProductCursor
    public = True
    filters = ProductFilters
    input_serializer = ProductIn

    def get_permissions(self):
        return [IsAdminUser()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(
        operation_id="products_list",
        parameters=[ProductFilters, *cursor_parameters(ProductCursor), *CONSISTENCY_PARAMETERS],
        responses=query_responses(page_of(ProductOut)),
    )
    def get(self, request, *args, **kwargs):
        """Active products: full-text `q` (best matches first), category, price and stock
        filters, and orderings."""
        return super().get(request, *args, **kwargs)

    def read(self, request):
        products = queries.list_products(**self.filtered)
        return paginated_response(self, request, products, self.paginator(), ProductOut)

    @extend_schema(
        operation_id="create_product",
        request=ProductIn,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ProductCommandOut, **COMMAND_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        """Staff: create a product."""
        return super().post(request, *args, **kwargs)

    def run(self, request, data):
        result = commands.create_product(actor=request.user, **data)
        return command_response(
            result, location=product_location(data["sku"]), created=True, sku=data["sku"]
        )


class ProductDetail(QueryView):
    projections = ("product_summary",)
    public = True

    @extend_schema(
        operation_id="get_product",
        parameters=CONSISTENCY_PARAMETERS,
        responses=query_responses(ProductOut),
    )
    def get(self, request, *args, **kwargs):
        """One product by SKU."""
        return super().get(request, *args, **kwargs)

    def read(self, request, sku):
        product = queries.get_product(sku=known_shape(sku))
        return Response(ProductOut(product, context={"request": request}).data)


class ProductCommand(CommandView):
    """POST /api/products/{sku}/<action>: one staff command on one product."""

    permission_classes = [IsAdminUser]
    command = None

    def run(self, request, data, sku):
        result = type(self).command(actor=request.user, sku=known_shape(sku), **data)
        return command_response(result, location=product_location(sku), sku=sku)


change_details = ProductCommand.for_command(
    commands.update_product_details, DetailsIn, response=ProductCommandOut
)
change_price = ProductCommand.for_command(
    commands.change_price, PriceIn, response=ProductCommandOut
)
restock = ProductCommand.for_command(commands.restock, RestockIn, response=ProductCommandOut)
discontinue = ProductCommand.for_command(
    commands.discontinue_product, VersionedIn, response=ProductCommandOut
)
reactivate = ProductCommand.for_command(
    commands.reactivate_product, VersionedIn, response=ProductCommandOut
)
