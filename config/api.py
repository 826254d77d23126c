"""API plumbing shared by every app.

- `exception_handler`: the one place errors become `{"error": {"code", "message", "fields"}}`.
- `CommandView`: POST → a command, with Idempotency-Key replay and the consistency token in the
  body, the `X-Consistency-Token` header and `Location`.
- `QueryView`: GET → a query, with `?after=TOKEN&wait=MS` read-your-writes and an ETag derived
  from the positions of the projections it reads.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import math
from decimal import Decimal
from urllib import parse

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from config import idempotency
from config.commands import CommandResult
from config.errors import DomainError, NotProjectedYet
from readmodels import consistency
from readmodels.eventlog import Position
from readmodels.models import ProjectionCheckpoint

MAX_WAIT_MS = 5000


# --- errors ---


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
            error_body("too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _drf_fields(exc.detail)
        message = "Please correct the errors." if fields else " ".join(map(str, exc.detail))
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response.data = error_body("not_authenticated", str(exc.detail))
    else:
        code = getattr(exc, "default_code", "error")
        response.data = error_body(str(code), str(getattr(exc, "detail", exc)))
    return response


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


# --- commands ---


def client_scope(request) -> str:
    """Who is asking, for per-client state (idempotency keys, wait budgets)."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"anon:{request.META.get('REMOTE_ADDR', '')}"


class CommandOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    consistency_token = serializers.CharField(allow_null=True)


class VersionedIn(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you last saw; a mismatch is a 409."
    )


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Retrying with the same key and body replays the first response.",
)
COMMAND_ERRORS = error_responses(400, 401, 403, 404, 409, 415, 422, 429)


def command_response(
    result: CommandResult, *, location: str, created: bool = False, **extra
) -> Response:
    body = {
        "id": result.id,
        "version": result.version,
        **extra,
        "consistency_token": result.consistency_token,
    }
    headers = {"Location": location}
    if result.consistency_token:
        headers["X-Consistency-Token"] = result.consistency_token
        # Following Location then reads consistently: waiting (or 202) until the change shows.
        headers["Location"] = f"{location}?{parse.urlencode({'after': result.consistency_token})}"
    return Response(
        body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK, headers=headers
    )


class CommandView(APIView):
    """A POST that runs one command. Subclasses implement `run(request, data, **kwargs)` and
    set `input_serializer`; this class adds the Idempotency-Key contract."""

    input_serializer: type[serializers.Serializer] | None = None
    replayed_headers = ("Location", "X-Consistency-Token")

    def post(self, request, *args, **kwargs):
        data = self._validated(request)
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self.run(request, data, **kwargs)
        return self._idempotent(request, key, lambda: self.run(request, data, **kwargs))

    def run(self, request, data, **kwargs) -> Response:
        raise NotImplementedError

    @classmethod
    def for_command(cls, command, input_serializer, *, response=None, permission_classes=None):
        """A view running `command` with `input_serializer`'s data: one per action of a
        resource (pay, ship, restock…), each with its own documented request body."""

        @extend_schema(
            request=input_serializer,
            parameters=[IDEMPOTENCY_HEADER],
            responses={200: response or CommandOut, **COMMAND_ERRORS},
            operation_id=command.__name__,
            description=inspect.getdoc(command),
        )
        def post(self, request, *args, **kwargs):
            return CommandView.post(self, request, *args, **kwargs)

        attributes = {
            "command": staticmethod(command),
            "input_serializer": input_serializer,
            "post": post,
        }
        if permission_classes is not None:
            attributes["permission_classes"] = permission_classes
        view = type(f"{command.__name__.title().replace('_', '')}View", (cls,), attributes)
        return view.as_view()

    def _validated(self, request) -> dict:
        if self.input_serializer is None:
            return {}
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _idempotent(self, request, key: str, run) -> Response:
        # Control characters (NUL above all, which Postgres refuses in text) would be a 500.
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise exceptions.ValidationError(
                {"Idempotency-Key": ["Use 1 to 255 printable characters."]}
            )
        scope = client_scope(request)
        body = json.dumps(request.data, sort_keys=True, default=str)
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n{body}".encode()
        ).hexdigest()
        # One transaction for the claim, the command and the stored response: the command's
        # own atomic() becomes a savepoint, so a refusal (DomainError) is stored and replayed,
        # while any other exception rolls everything back and leaves the key free.
        with transaction.atomic():
            claimed = idempotency.claim(scope=scope, key=key, fingerprint=fingerprint)
            if claimed.id is None:
                return Response(claimed.body, status=claimed.status, headers=claimed.headers)
            try:
                response = run()
            except DomainError as error:
                response = exception_handler(error, {})
            idempotency.store(
                claimed,
                status=response.status_code,
                body=response.data,
                headers={h: response[h] for h in self.replayed_headers if h in response},
            )
        return response


# --- queries ---


class ConsistencyParams(serializers.Serializer):
    after = serializers.CharField(required=False, max_length=60)
    wait = serializers.IntegerField(required=False, min_value=0, max_value=MAX_WAIT_MS, default=0)

    def validate_after(self, value):
        try:
            return Position.parse(value)
        except ValueError:
            raise serializers.ValidationError("Not a consistency token.") from None


CONSISTENCY_PARAMETERS = [
    OpenApiParameter(
        "after",
        {"type": "string", "pattern": r"^[0-9]+-[0-9]+$", "maxLength": 60},
        description="A consistency token from a command response.",
    ),
    OpenApiParameter(
        "wait",
        {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_MS, "default": 0},
        description="Milliseconds to wait for `after`. Waiting is bounded per client (a budget "
        "per minute) and per server; past either the answer is 202 at once. A token ahead of "
        "the event log is 400.",
    ),
]
PROCESSING = OpenApiResponse(
    inline_serializer(
        "Processing",
        {"status": serializers.CharField(), "consistency_token": serializers.CharField()},
    ),
    "The projections have not reached `after` yet (or, without `after`, what was asked for "
    "exists but is not readable yet, such as your order right after placing it); retry after "
    "Retry-After seconds, or read again with `after` set to this `consistency_token`.",
)
QUERY_ERRORS = error_responses(400, 401, 403, 404, 429)


def query_responses(ok) -> dict:
    return {
        200: ok,
        202: PROCESSING,
        304: OpenApiResponse(description="Not modified"),
        **QUERY_ERRORS,
    }


def processing(position) -> Response:
    return Response(
        {"status": "processing", "consistency_token": str(position)},
        status=status.HTTP_202_ACCEPTED,
        headers={"Retry-After": "1"},
    )


class QueryView(APIView):
    # A GET served from summary tables; `projections` names the ones it reads. (A comment, not
    # a docstring: the schema would show it as every subclass's description.)

    projections: tuple[str, ...] = ()
    # GETs are served by a replica in rotation, pinned for the request (readmodels.replicas).
    replica_reads = True
    # Whether an anonymous caller's answer may be kept by shared caches for a few seconds (the
    # catalog). Everything else depends on who asks: private, revalidated with the ETag.
    public = False
    # The serializer of the view's own query parameters; `read` finds them in `self.filtered`.
    filters: type[serializers.Serializer] | None = None
    # The pagination of a list (its `cursor` and `page_size` are checked with the rest).
    paginator: type[CursorPagination] | None = None

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD"):
            return response
        # Every answer may differ by caller (orders, reports; staff see more of the catalog).
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if response.status_code == status.HTTP_202_ACCEPTED:
            patch_cache_control(response, no_store=True)
        elif (
            self.public and response.status_code in (200, 304) and not request.user.is_authenticated
        ):
            patch_cache_control(response, public=True, max_age=settings.API_PUBLIC_MAX_AGE)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        return response

    def get(self, request, *args, **kwargs):
        # The filters are checked with `after` and `wait`, before any waiting: a bad filter is
        # reported at once, and with every other bad parameter.
        asked, self.filtered = self._checked_parameters(request)
        after = asked.get("after")
        if after is not None and not self._reached(request, after, asked["wait"]):
            return processing(after)
        # The ETag is taken before the read, so it can only be older than the data, never newer.
        etag = self._etag(request)
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        try:
            response = self.read(request, *args, **kwargs)
        except NotProjectedYet as pending:
            return processing(pending.position)
        response["ETag"] = etag
        return response

    def read(self, request, *args, **kwargs) -> Response:
        raise NotImplementedError

    def _reached(self, request, after: Position, wait_ms: int) -> bool:
        """Whether the projections read here have passed `after`, waiting up to `wait_ms`
        within the client's budget (readmodels.consistency)."""
        if consistency.has_passed(after, self.projections):
            return True
        if consistency.beyond_head(after):
            raise exceptions.ValidationError(
                {"after": ["No command handed out this token: it is ahead of the event log."]}
            )
        return consistency.wait_as(client_scope(request), after, self.projections, wait_ms / 1000)

    def _checked_parameters(self, request) -> tuple[dict, dict]:
        """`after`/`wait` and the filters' values, checked with every other query parameter
        before anything is read or waited for (a bad filter was reported only after `after`
        had been waited for)."""
        paginator = self.paginator() if self.paginator else None
        consistency_params, filtered = checked_parameters(
            request, ConsistencyParams, self.filters, paginator=paginator
        )
        return consistency_params, filtered or {}

    def _etag(self, request) -> str:
        positions = ProjectionCheckpoint.objects.filter(name__in=self.projections).order_by("name")
        state = ",".join(f"{c.name}:{c.generation}:{c.txid}-{c.event_id}" for c in positions)
        user = request.user.pk if request.user.is_authenticated else "-"
        digest = hashlib.sha256(f"{state}|{user}|{request.get_full_path()}".encode()).hexdigest()
        return f'W/"{digest[:32]}"'


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


def checked_parameters(
    request, *serializer_classes, paginator: CursorPagination | None = None
) -> list[dict | None]:
    """Every query parameter of a GET: the validated data of each serializer class (None for
    a class that is None), or a 400 naming every bad parameter (unknown, empty, or invalid),
    or a 404 for a cursor the API did not hand out."""
    serializers_ = [cls(data=request.query_params) if cls else None for cls in serializer_classes]
    present = [s for s in serializers_ if s is not None]
    known = {name for serializer in present for name in serializer.fields}
    if paginator is not None:
        known |= {paginator.cursor_query_param, paginator.page_size_query_param}
    errors = {}
    for serializer in present:
        if not serializer.is_valid():
            errors.update(serializer.errors)
    for name, value in request.query_params.items():
        if name not in known:
            # A misspelt filter used to be ignored: the client got everything, unfiltered.
            errors.setdefault(name or "?", ["Unknown parameter."])
        elif value == "":
            # DRF takes an empty optional parameter (`?status=`) as absent.
            errors.setdefault(name, ["Must not be empty; leave it out instead."])
    if paginator is not None and paginator.page_size_query_param not in errors:
        try:
            paginator.get_page_size(request)
        except exceptions.ValidationError as error:
            errors.update(error.detail)
    if errors:
        raise exceptions.ValidationError(errors)
    if paginator is not None:
        paginator.check_cursor(request)
    return [s.validated_data if s is not None else None for s in serializers_]


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
