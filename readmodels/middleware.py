import re

from readmodels.eventlog import event_context

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def correlation_id_middleware(get_response):
    """Every event a request records carries the request's correlation id (the client's
    X-Correlation-ID or X-Request-ID when it sent a sane one, otherwise a fresh one)."""

    def middleware(request):
        supplied = request.headers.get("X-Correlation-ID") or request.headers.get("X-Request-ID")
        correlation_id = supplied if supplied and _VALID_ID.match(supplied) else None
        with event_context(correlation_id=correlation_id):
            return get_response(request)

    return middleware
