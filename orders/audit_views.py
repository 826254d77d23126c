"""Staff pages over the event log: the audit trail and a product's history."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.http import urlencode

from core.errors import NotFound
from orders.history_chart import history_chart
from orders.staff_views import staff_required
from readmodels import audit
from readmodels.audit_api import AsOf, AuditFilters

AUDIT_PAGE_SIZE = 50


@staff_required
def audit_trail(request):
    filters = AuditFilters(data=request.GET)
    events, older = [], None
    if filters.is_valid():
        found = audit.search_events(**filters.validated_data)
        before = request.GET.get("before", "")
        if before.isdigit():
            found = found.filter(id__lt=int(before))
        events = list(found[: AUDIT_PAGE_SIZE + 1])
        if len(events) > AUDIT_PAGE_SIZE:
            events = events[:AUDIT_PAGE_SIZE]
            kept = {k: v for k, v in request.GET.items() if k != "before" and v}
            older = "?" + urlencode({**kept, "before": events[-1].id})
    return render(
        request,
        "staff/audit.html",
        {
            "events": events,
            "older": older,
            "errors": filters.errors,
            "values": request.GET,
            "aggregate_types": audit.AGGREGATE_TYPES,
            "event_types": audit.event_types(),
        },
        status=200 if not filters.errors else 400,
    )


@staff_required
def product_history(request, sku):
    params = AsOf(data=request.GET)
    as_of = params.validated_data.get("as_of") if params.is_valid() else None
    try:
        history = audit.product_history(sku=sku, as_of=as_of)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(
        request,
        "staff/product_history.html",
        {
            "history": history,
            "chart": history_chart(history.timeline),
            "errors": params.errors,
            "values": request.GET,
        },
        status=200 if not params.errors else 400,
    )
