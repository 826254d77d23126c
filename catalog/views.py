"""Shopper pages for the catalog: read through catalog.queries only."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from catalog import queries
from catalog.forms import AddToCartForm, CatalogFilterForm
from core.errors import NotFound
from readmodels.replicas import replica_reads

PAGE_SIZE = 12


@replica_reads
def home(request):
    form = CatalogFilterForm(request.GET or None)
    filters = {}
    if form.is_bound:
        # A field with an error (say, a maximum below the minimum) is left out of cleaned_data;
        # the other filters still apply, so fixing one field does not mean starting again.
        form.is_valid()
        filters = form.cleaned_data
    products = queries.list_products(
        q=filters.get("q") or None,
        category=filters.get("category") or None,
        min_price=filters.get("min_price"),
        max_price=filters.get("max_price"),
        in_stock=True if filters.get("in_stock") else None,
        ordering=filters.get("sort") or None,
    )
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    # Page links keep every filter: the query string without its page number.
    query = request.GET.copy()
    query.pop("page", None)
    active = [name for name, value in filters.items() if value not in (None, "", False)]
    return render(
        request,
        "catalog/home.html",
        {
            "form": form,
            "page": page,
            "filters": query.urlencode(),
            "filtered": bool(active),
            "active_filters": len([name for name in active if name not in {"q", "sort"}]),
        },
    )


@replica_reads
def product_detail(request, sku):
    try:
        product = queries.get_product(sku=sku)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(
        request,
        "catalog/product_detail.html",
        {"product": product, "form": AddToCartForm.for_product(product)},
        # A discontinued product's old link still answers, saying it is no longer available.
        status=200 if product.active else 410,
    )
