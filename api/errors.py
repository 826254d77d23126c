"""The API's errors: every answer that is not a success has the shape
`{"error": {"code", "message", "fields"}}` (`exception_handler`, DRF's EXCEPTION_HANDLER), and
each operation documents the statuses it can answer (`error_responses`)."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from api.error_codes import ApiErrorCode
from core.error_codes import CommonErrorCode
from core.errors import DomainError


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _drf_fields(detail, prefix: str = "") -> dict:
    """DRF's nested errors as flat field paths, the way the commands name them:
    {"lines": [{}, {"quantity": [...]}]} -> {"lines[1].quantity": "..."}."""
    fields = {}
    if isinstance(detail, dict):
        for name, messages in detail.items():
            if isinstance(name, int):  # a list's items, by index
                path = f"{prefix}[{name}]"
            elif name == api_settings.NON_FIELD_ERRORS_KEY and prefix:
                path = prefix  # about the nested object or list as a whole
            else:
                path = f"{prefix}.{name}" if prefix else str(name)
            fields.update(_drf_fields(messages, path))
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, item in enumerate(detail):
            if item:
                fields.update(_drf_fields(item, f"{prefix}[{index}]"))
    elif detail:
        fields[prefix or "non_field_errors"] = " ".join(map(str, detail))
    return fields


def exception_handler(exc, context):
    """Every error the API returns has the shape {"error": {"code", "message", "fields"}}."""
    if isinstance(exc, DomainError):
        return Response({"error": exc.as_dict()}, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        return Response(
            error_body(ApiErrorCode.TOO_LARGE, "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _drf_fields(exc.detail)
        message = "Please correct the errors." if fields else " ".join(map(str, exc.detail))
        response.data = error_body(CommonErrorCode.INVALID, message, fields)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response.data = error_body(CommonErrorCode.NOT_AUTHENTICATED, str(exc.detail))
    else:
        code = str(getattr(exc, "default_code", "error"))
        response.data = error_body(KNOWN_CODES.get(code, code), str(getattr(exc, "detail", exc)))
    return response


# DRF's own exceptions name their codes as strings; these are the API's members for them.
KNOWN_CODES = {code.value: code for code in [*CommonErrorCode, *ApiErrorCode]}


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.JSONField())


class ErrorOut(serializers.Serializer):
    error = ErrorDetail()


def error_responses(*statuses: int) -> dict:
    descriptions = {
        400: "Malformed JSON, wrong types, or a broken rule",
        401: "Not authenticated",
        403: "Not allowed",
        404: "Not found (another customer's order looks the same)",
        409: "Version conflict, illegal status change, or too little stock",
        415: "The body is not JSON (or has no Content-Type)",
        422: "Idempotency-Key reused with a different body",
        429: "Throttled",
    }
    return {code: OpenApiResponse(ErrorOut, descriptions[code]) for code in statuses}
