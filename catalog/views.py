"""Shopper pages for the catalog: read through catalog.queries only."""

from django.core.paginator import Paginator
from django.shortcuts import render

from catalog import queries


def home(request):
    products = queries.list_products(q=request.GET.get("q") or None)
    page = Paginator(products, 24).get_page(request.GET.get("page"))
    return render(request, "catalog/home.html", {"page": page, "q": request.GET.get("q", "")})
