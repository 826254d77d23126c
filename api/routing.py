"""One path, one view per method: GET /api/orders/ lists orders and POST /api/orders/ places one,
and each is its own operation with its own view, permissions and schema. Django routes by path
only, so `by_method` puts the two views behind one URL pattern (and api.schema documents each)."""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt


def by_method(**views):
    """A view that hands each request to the view of its method (`get=…, post=…`). HEAD goes
    to GET's view; any other method to the first view, which answers 405 (or OPTIONS), with
    every method of the path in `Allow`."""
    allow = ", ".join(
        [*(m.upper() for m in views), *(["HEAD"] if "get" in views else []), "OPTIONS"]
    )
    first = next(iter(views.values()))

    # The views are DRF's, which are exempt from Django's CSRF check and do their own (for
    # session-authenticated requests only): the dispatcher must not check before them.
    @csrf_exempt
    def dispatch(request, *args, **kwargs):
        method = "get" if request.method == "HEAD" else request.method.lower()
        view = views.get(method)
        response = (view or first)(request, *args, **kwargs)
        if view is None:
            response["Allow"] = allow
        return response

    dispatch.views = views
    # Middleware that looks at the view before it runs (readmodels.replicas pins a GET to a
    # replica when its view reads through the queries only) sees what the GET's view declares.
    get_view = getattr(views.get("get"), "cls", None)
    dispatch.replica_reads = getattr(get_view, "replica_reads", False)
    return dispatch
