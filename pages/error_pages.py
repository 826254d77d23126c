"""The shop's own 403, 404 and 500 pages, with its header and a way back.

Django shows its debug pages instead of these while DEBUG is on, and `make run` runs with DEBUG
on, so a shopper following a dead link there met a traceback-style page. The middleware renders
the shop's pages for "not found" and "not allowed" whatever DEBUG says; those are normal events
in a shop. A 500 is a bug: with DEBUG on it still shows Django's page, for the developer."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

# Shown under the heading; the exception's own text can be a developer's note, so it is not.
NOT_FOUND = "We could not find that page. It may have moved, or the link may be mistyped."
FORBIDDEN = "This page is for shop staff only."
STAFF_LACKS_PERMISSION = "Your staff account does not have permission for this page."
CSRF_EXPIRED = (
    "The form was too old to send (the page was open a long time, or cookies are off). "
    "Please go back, reload the page and try again."
)


def _is_page(request) -> bool:
    """The API answers its own errors in JSON; only HTML pages get the shop's error pages."""
    return not request.path.startswith("/api/")


def _shop_page(request, template: str, explanation: str, status: int):
    response = render(request, template, {"explanation": explanation}, status=status)
    response.shop_error_page = True
    return response


def page_not_found(request, exception=None):
    return _shop_page(request, "404.html", NOT_FOUND, 404)


def permission_denied(request, exception=None):
    user = getattr(request, "user", None)
    explanation = STAFF_LACKS_PERMISSION if getattr(user, "is_staff", False) else FORBIDDEN
    return _shop_page(request, "403.html", explanation, 403)


def csrf_failure(request, reason=""):
    return _shop_page(request, "403.html", CSRF_EXPIRED, 403)


def server_error(request):
    # No request context: whatever broke (the database, the session) must not break this too.
    html = loader.get_template("500.html").render({"shop_name": settings.SHOP_NAME})
    return HttpResponseServerError(html)


class ShopErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # With DEBUG on, an unknown URL comes back as Django's debug 404 before any view ran.
        if (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, "shop_error_page", False)
            and response.get("Content-Type", "").startswith("text/html")
            and _is_page(request)
        ):
            return page_not_found(request)
        return response

    def process_exception(self, request, exception):
        if not _is_page(request):
            return None
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request, exception)
        return None
