"""What every answer under /api/ gets, whichever layer produced it.

- `api_slash_middleware`: `/api/orders` and `/api/orders/` are the same route (and so are
  `/api/orders/1/pay` and `/api/orders/1/pay/`). Django's APPEND_SLASH would answer a POST
  without the slash with a 301 that clients follow as a GET (the order silently not placed), or
  a 500 with DEBUG on; the other spelling used to be an HTML 404.
- `api_errors_middleware`: an error that did not come from the API's own exception handler
  (an unmatched path, a 500, Django's 400s) is HTML; under /api/ it becomes the documented
  `{"error": {...}}` with the same status.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.urls import Resolver404, resolve

from api.error_codes import ApiErrorCode
from core.error_codes import CommonErrorCode

API_PREFIX = "/api/"

ERROR_CODES = {
    400: (ApiErrorCode.BAD_REQUEST, "The request could not be understood."),
    401: (CommonErrorCode.NOT_AUTHENTICATED, "Authentication credentials were not provided."),
    403: (CommonErrorCode.PERMISSION_DENIED, "You do not have permission to do this."),
    404: (CommonErrorCode.NOT_FOUND, "There is nothing at this address."),
    405: (ApiErrorCode.METHOD_NOT_ALLOWED, "This method is not allowed here."),
    406: (ApiErrorCode.NOT_ACCEPTABLE, "This API answers in JSON only."),
    413: (ApiErrorCode.TOO_LARGE, "The request body is too large."),
    414: (ApiErrorCode.URI_TOO_LONG, "The address is too long."),
    500: (ApiErrorCode.SERVER_ERROR, "Something went wrong on our side; it has been logged."),
}


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def api_slash_middleware(get_response):
    def middleware(request):
        path = request.path_info
        if path.startswith(API_PREFIX) and not _resolves(path):
            other = path[:-1] if path.endswith("/") else f"{path}/"
            if _resolves(other):
                # The rest of the request (idempotency fingerprints, pagination links) sees
                # the route's own spelling.
                request.path_info = other
                request.path = f"{request.path[: -len(path)]}{other}"
        return get_response(request)

    return middleware


def json_error(status: int, message: str | None = None) -> HttpResponse:
    code, default_message = ERROR_CODES.get(
        status, ("server_error" if status >= 500 else "error", "The request failed.")
    )
    body = {"error": {"code": code, "message": message or default_message, "fields": {}}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def api_errors_middleware(get_response):
    def middleware(request):
        response = get_response(request)
        if (
            request.path_info.startswith(API_PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = json_error(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response

    return middleware
