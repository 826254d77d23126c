"""Catalog JSON API. POST → catalog.commands, GET → catalog.queries."""

import re
from decimal import Decimal

from django.urls import reverse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser

from api.commands import (
    CommandOut,
    CommandView,
    VersionedIn,
)
from api.pagination import (
    CursorPagination,
    QueryOrderedCursor,
)
from api.queries import QueryView
from catalog import commands, queries
from catalog.models import MAX_PRICE, SKU_PATTERN
from core.errors import NotFound

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


class CatalogQuery(QueryView):
    tags = ("catalog",)


class CatalogCommand(CommandView):
    tags = ("catalog",)


class CreateCategory(CatalogCommand):
    def answer(self, request, result, data):
        return self.respond(result, location=reverse("category-list"))


class CreateProduct(CatalogCommand):
    def answer(self, request, result, data):
        return self.respond(result, location=product_location(data["sku"]), sku=data["sku"])


class ProductCommand(CatalogCommand):
    """POST /api/products/{sku}/<action>: one staff command on one product."""

    def arguments(self, sku):
        return {"sku": known_shape(sku)}

    def answer(self, request, result, data, sku):
        return self.respond(result, location=product_location(sku), sku=sku)


# --- queries ---


def categories_list(request):
    """Every category, by name, with its product counts and price range."""
    return queries.list_categories()


def products_list(request, **filters):
    """Active products: full-text `q` (best matches first), category, price and stock
    filters, and orderings."""
    return queries.list_products(**filters)


def get_product(request, sku):
    """One product by SKU."""
    return queries.get_product(sku=known_shape(sku))


# --- the operations ---

STAFF = [IsAdminUser]
ANYONE = [AllowAny]

categories = CatalogQuery.for_query(
    categories_list,
    output=CategoryOut,
    paginator=CategoryCursor,
    projections=("category_summary",),
    public=True,
    permissions=ANYONE,
)
create_category = CreateCategory.for_command(
    commands.create_category,
    input=CategoryIn,
    created=True,
    permissions=STAFF,
    description="Staff: create a category (its slug is made from the name).",
)
products = CatalogQuery.for_query(
    products_list,
    output=ProductOut,
    filters=ProductFilters,
    paginator=ProductCursor,
    projections=CATALOG_PROJECTIONS,
    public=True,
    permissions=ANYONE,
)
create_product = CreateProduct.for_command(
    commands.create_product,
    input=ProductIn,
    output=ProductCommandOut,
    created=True,
    permissions=STAFF,
    description="Staff: create a product.",
)
product = CatalogQuery.for_query(
    get_product,
    output=ProductOut,
    projections=("product_summary",),
    public=True,
    permissions=ANYONE,
)
change_details = ProductCommand.for_command(
    commands.update_product_details, input=DetailsIn, output=ProductCommandOut, permissions=STAFF
)
change_price = ProductCommand.for_command(
    commands.change_price, input=PriceIn, output=ProductCommandOut, permissions=STAFF
)
restock = ProductCommand.for_command(
    commands.restock, input=RestockIn, output=ProductCommandOut, permissions=STAFF
)
discontinue = ProductCommand.for_command(
    commands.discontinue_product, input=VersionedIn, output=ProductCommandOut, permissions=STAFF
)
reactivate = ProductCommand.for_command(
    commands.reactivate_product, input=VersionedIn, output=ProductCommandOut, permissions=STAFF
)
