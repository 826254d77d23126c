"""Cursor pagination made strict (a cursor the API did not hand out is a 404), and the schema
helpers of a paginated list."""

from __future__ import annotations

import base64
import math
from decimal import Decimal
from urllib import parse

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response

CURSOR_TOKENS = {"o", "r", "p"}  # offset, reverse, position: what DRF's encode_cursor writes
BIGINT = 2**63
MAX_DECIMAL_EXPONENT = 40  # far beyond any amount or count here, far below numeric's limits


def _in_range(value) -> bool:
    """Whether a decoded cursor position can reach Postgres without overflowing its column
    type: `1e131072` or `1e-1000000` passed Python's checks and overflowed numeric (a 500)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -BIGINT <= value < BIGINT
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Decimal):
        return value.is_finite() and (
            value.is_zero() or abs(value.adjusted()) <= MAX_DECIMAL_EXPONENT
        )
    return True


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, made strict: a cursor that is not one this API handed out gets
    404 "Invalid cursor" (the README's promise), and a page size outside 1…max_page_size a 400.

    DRF decoded anything leniently: `cursor=%25%25%25` or a base64 word came back as the first
    page (a client with a corrupted cursor silently started again), and it put the position into
    the WHERE clause as it was: a position that does not fit the column was a 500."""

    def paginate_queryset(self, queryset, request, view=None):
        self._queryset = queryset
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        name = self.page_size_query_param
        if not name or name not in request.query_params:
            return self.page_size
        try:
            size = int(request.query_params[name])
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError({name: [f"Use 1 to {self.max_page_size}."]})
        return size

    def check_cursor(self, request) -> None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and not self._well_formed(encoded):
            raise exceptions.NotFound(self.invalid_cursor_message)

    def decode_cursor(self, request):
        self.check_cursor(request)
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        column = self._ordering_column()
        try:
            value = column.to_python(cursor.position)
            column.get_prep_value(value)
        except (DjangoValidationError, ValueError, TypeError, ArithmeticError):
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        if "\x00" in cursor.position or not _in_range(value):  # Postgres refuses NUL in text
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor

    @staticmethod
    def _well_formed(encoded: str) -> bool:
        try:
            querystring = base64.b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True, strict_parsing=True)
        except (ValueError, UnicodeError):
            return False
        return bool(tokens) and set(tokens) <= CURSOR_TOKENS

    def _ordering_column(self):
        name = self.ordering[0].lstrip("-")
        annotation = self._queryset.query.annotations.get(name)
        if annotation is not None:
            return annotation.output_field
        return self._queryset.model._meta.get_field(name)


class QueryOrderedCursor(CursorPagination):
    """Pages in whatever order the query chose (relevance, price, popularity…): the cursor
    follows the queryset's own ordering."""

    max_page_size = 100
    page_size_query_param = "page_size"

    def get_ordering(self, request, queryset, view):
        return tuple(queryset.query.order_by)


def cursor_parameters(paginator: type[CursorPagination]) -> list[OpenApiParameter]:
    """The query parameters of a paginated list: `cursor`, and `page_size` where it may be set."""
    parameters = [
        OpenApiParameter(
            "cursor",
            {"type": "string", "minLength": 1},
            description="From a page's `next` or `previous` link; any other value is a 404.",
        )
    ]
    if paginator.page_size_query_param:
        parameters.append(
            OpenApiParameter(
                paginator.page_size_query_param,
                {"type": "integer", "minimum": 1, "maximum": paginator.max_page_size},
                description=f"Items per page (default {paginator.page_size}, at most "
                f"{paginator.max_page_size}; outside 1…{paginator.max_page_size} is a 400).",
            )
        )
    return parameters


def page_of(item_serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The schema of a cursor-paginated list of `item_serializer`."""
    return type(
        f"{item_serializer.__name__.removesuffix('Out')}Page",
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )


def paginated_response(view, request, queryset, paginator, item_serializer) -> Response:
    page = paginator.paginate_queryset(queryset, request, view=view)
    items = item_serializer(page, many=True, context={"request": request})
    return paginator.get_paginated_response(items.data)
