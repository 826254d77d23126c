"""API plumbing shared by every app: the one place domain errors become HTTP responses."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _drf_fields(detail) -> dict:
    if isinstance(detail, dict):
        return {
            field: " ".join(str(m) for m in messages)
            if isinstance(messages, list)
            else _drf_fields(messages)
            for field, messages in detail.items()
        }
    return {}


def exception_handler(exc, context):
    """Every error the API returns has the shape {"error": {"code", "message", "fields"}}."""
    if isinstance(exc, DomainError):
        return Response({"error": exc.as_dict()}, status=exc.http_status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _drf_fields(exc.detail)
        message = "Please correct the errors." if fields else " ".join(map(str, exc.detail))
        response.data = error_body("invalid", message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or "error"
        response.data = error_body(str(code), str(detail))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.data["error"]["code"] = "not_authenticated"
    return response
