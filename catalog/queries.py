"""Catalog reads. They touch summary tables only, never catalog.models."""

from __future__ import annotations

import re
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL

from catalog.models import SKU_PATTERN
from core.errors import NotFound
from readmodels.models import CategorySummary, ProductSummary

# Every ordering ends in the primary key, so pages are stable and cursors unambiguous.
PRODUCT_ORDERINGS = {
    "name": ("name", "product_id"),
    "price": ("price", "product_id"),
    "-price": ("-price", "product_id"),
    "-units_sold": ("-units_sold", "product_id"),
    "-last_ordered_at": ("-last_ordered_at", "product_id"),  # lists products ordered at least once
}
# A word that the English configuration turns into at most one lexeme, and that lexeme.
ONE_WORD = re.compile(r"[A-Za-z0-9]+")
LEXEME_OF_ONE_WORD = "trim(both '''' from websearch_to_tsquery('english', %s)::text)"


def list_products(
    *,
    q: str | None = None,
    category: str | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    in_stock: bool | None = None,
    ordering: str | None = None,
    include_inactive: bool = False,
) -> QuerySet[ProductSummary]:
    """Products for the catalog; with `q`, best matches first unless `ordering` says otherwise."""
    # The conditions go to one filter(): every chained call copies the query, which on a
    # sub-millisecond list read is a cost worth not paying.
    conditions = {}
    if not include_inactive:
        conditions["active"] = True
    if category:
        conditions["category_slug"] = category
    if min_price is not None:
        conditions["price__gte"] = min_price
    if max_price is not None:
        conditions["price__lte"] = max_price
    if in_stock is not None:
        conditions["in_stock"] = in_stock
    products = ProductSummary.objects.filter(**conditions)
    if q and not ordering and ONE_WORD.fullmatch(q.strip()):
        # One word: its matches come ranked off the search terms' btree (the same ranks as
        # below), instead of ranking every product that contains it.
        return (
            products.filter(search_terms__lexeme=RawSQL(LEXEME_OF_ONE_WORD, [q]))
            .annotate(rank=F("search_terms__rank"))
            .order_by("-rank", "product_id")
        )
    if q:
        query = SearchQuery(q, search_type="websearch", config="english")
        products = products.filter(search_document__search_vector=query)
        if not ordering:
            return products.annotate(
                rank=SearchRank(F("search_document__search_vector"), query)
            ).order_by("-rank", "product_id")
    if ordering == "-last_ordered_at":
        products = products.filter(last_ordered_at__isnull=False)
    return products.order_by(*PRODUCT_ORDERINGS[ordering or "name"])


def get_product(*, sku: str) -> ProductSummary:
    # A SKU that breaks the SKU rules names no product. Answer without asking the database,
    # which refuses text with a NUL byte (a 500 from any page that passed one through).
    if not re.fullmatch(SKU_PATTERN, sku):
        raise NotFound(f"There is no product {sku!r}.", fields={"sku": "Unknown SKU."})
    try:
        return ProductSummary.objects.get(sku=sku)
    except ProductSummary.DoesNotExist:
        raise NotFound(f"There is no product {sku!r}.") from None


def list_categories() -> QuerySet[CategorySummary]:
    return CategorySummary.objects.order_by("name", "category_id")


BEST_SELLER_ORDERINGS = {
    "units": ("-units_sold", "-revenue", "product_id"),
    "revenue": ("-revenue", "-units_sold", "product_id"),
}


def best_sellers(*, by: str = "units") -> QuerySet[ProductSummary]:
    """Products sold in non-cancelled orders, by units sold or by revenue."""
    return ProductSummary.objects.filter(units_sold__gt=0).order_by(*BEST_SELLER_ORDERINGS[by])
