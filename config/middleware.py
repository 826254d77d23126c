"""The request id: taken from X-Request-ID (or made), returned on every response, errors
included, written on the request's log lines and carried into the metadata of every event the
request's commands record. This middleware comes first, so it also sees the answers of the
middleware after it."""

from __future__ import annotations

import logging
import re
import time
import uuid

from config import metrics
from config.logs import bound_request_id
from core.eventlog import event_context

log = logging.getLogger("shop.requests")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _sane(value: str | None) -> str | None:
    return value if value and _SANE_ID.match(value) else None


def _route(request) -> str:
    # The URL pattern, not the path: one series per route, whatever the ids in it.
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else "unmatched"


def _username(request) -> str | None:
    user = getattr(request, "user", None)
    return user.get_username() if user is not None and user.is_authenticated else None


def request_id_middleware(get_response):
    def middleware(request):
        request_id = _sane(request.headers.get("X-Request-ID")) or uuid.uuid4().hex
        # An upstream caller's correlation id groups several requests; by default the request
        # is its own conversation. The request is what caused its commands' events.
        correlation_id = _sane(request.headers.get("X-Correlation-ID")) or request_id
        started = time.perf_counter()
        with (
            bound_request_id(request_id),
            event_context(correlation_id=correlation_id, causation_id=request_id),
        ):
            response = get_response(request)
            seconds = time.perf_counter() - started
            route = _route(request)
            method = request.method if request.method in _METHODS else "other"
            metrics.request_answered(route, method, response.status_code, seconds)
            log.info(
                "%s %s %s in %.1f ms",
                request.method,
                request.path,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                    "user": _username(request),
                    "correlation_id": correlation_id,
                },
            )
        response["X-Request-ID"] = request_id
        if correlation_id != request_id:
            response["X-Correlation-ID"] = correlation_id
        return response

    return middleware
