"""The OpenAPI schema says what the server enforces (checked by the schemathesis run in
tests/api/test_schema_fuzz.py, negative data included)."""

from __future__ import annotations

from drf_spectacular import generators
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from api.error_codes import ApiErrorCode
from core.errors import ErrorCode

# A text field that may not be blank is trimmed first, so it needs a character that is not
# whitespace; minLength alone would promise that " " is accepted.
NOT_BLANK = r"\S"


class EnforcedSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict):
            return schema
        if (
            type(field) is serializers.CharField
            and not field.allow_blank
            and field.trim_whitespace
            and "pattern" not in schema
        ):
            schema["pattern"] = NOT_BLANK
            note = "Surrounding whitespace is trimmed; it must not be blank."
            schema["description"] = f"{schema.get('description', '')} {note}".strip()
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            # DRF's pattern allows the empty string and a lone "-", which are refused.
            schema["pattern"] = schema["pattern"].replace(r"\d{0,", r"\d{1,", 1)
        return schema


class EndpointEnumerator(generators.EndpointEnumerator):
    """Sees through api.routing.by_method: a path's methods, each with its own view."""

    def should_include_endpoint(self, path, callback):
        views = getattr(callback, "views", None)
        if views is None:
            return super().should_include_endpoint(path, callback)
        return all(
            super(EndpointEnumerator, self).should_include_endpoint(path, view)
            for view in views.values()
        )

    def get_allowed_methods(self, callback):
        views = getattr(callback, "views", None)
        if views is None:
            return super().get_allowed_methods(callback)
        return [method.upper() for method in views]

    def get_api_endpoints(self, patterns=None, prefix=""):
        return [
            (path, path_regex, method, getattr(callback, "views", {}).get(method.lower(), callback))
            for path, path_regex, method, callback in super().get_api_endpoints(patterns, prefix)
        ]


class SchemaGenerator(generators.SchemaGenerator):
    endpoint_inspector_cls = EndpointEnumerator


def codes_by_status(tags) -> dict[int, list[str]]:
    """The error codes an operation tagged `tags` can answer, by HTTP status: the HTTP layer's,
    the shared ones (core), and those of the app the tag names (catalog, orders)."""
    found: dict[int, list[str]] = {}
    for code in [*ApiErrorCode, *ErrorCode.every_code()]:
        app = type(code).__module__.partition(".")[0]
        if app in ("api", "core", *tags):
            found.setdefault(code.http_status, []).append(code.value)
    return {status: sorted(codes) for status, codes in found.items()}


def document_error_codes(result, generator, request, public):
    """Each documented error status of an operation lists the codes answered with it (a
    spectacular postprocessing hook)."""
    for operations in result["paths"].values():
        for operation in operations.values():
            by_status = codes_by_status(operation.get("tags", ()))
            for status, response in operation.get("responses", {}).items():
                codes = by_status.get(int(status)) if status.isdigit() else None
                if codes:
                    listed = ", ".join(f"`{code}`" for code in codes)
                    response["description"] = f"{response.get('description', '')}. Codes: {listed}."
    return result
