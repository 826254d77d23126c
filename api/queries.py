"""GET → a query: `QueryView` checks every query parameter first, serves
`?after=TOKEN&wait=MS` read-your-writes (readmodels.consistency), and an ETag derived from the
positions of the projections it reads."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence

from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import error_responses
from api.pagination import CursorPagination, cursor_parameters, page_of, paginated_response
from api.throttling import client_scope
from core.errors import NotProjectedYet
from core.eventlog import Position
from readmodels import consistency
from readmodels.models import ProjectionCheckpoint

MAX_WAIT_MS = 5000


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
    query: Callable
    output: type[serializers.Serializer]
    many = False
    tags: tuple[str, ...] = ()
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

    def read(self, request, **kwargs) -> Response:
        found = type(self).query(request, **kwargs, **self.filtered)
        if self.paginator is not None:
            return paginated_response(self, request, found, self.paginator(), self.output)
        return Response(self.output(found, many=self.many, context={"request": request}).data)

    @classmethod
    def for_query(
        cls,
        query: Callable,
        *,
        output: type[serializers.Serializer],
        permissions: Sequence[type[BasePermission]],
        projections: Sequence[str],
        many: bool = False,
        paginator: type[CursorPagination] | None = None,
        filters: type[serializers.Serializer] | None = None,
        parameters: Sequence[OpenApiParameter] | None = None,
        public: bool = False,
    ):
        """The view of one query: `query(request, **url_arguments, **filters)` read from the
        summary tables in `projections`, answered in `output`'s shape (a page of them with a
        `paginator`, a list when `many`). Its operation id is the query's name and its
        description the query's docstring; `parameters` documents the filters where their
        serializer cannot (a parameter named like a Python keyword)."""
        view = type(
            f"{query.__name__.title().replace('_', '')}View",
            (cls,),
            {
                "query": staticmethod(query),
                "output": output,
                "many": many,
                "permission_classes": list(permissions),
                "projections": tuple(projections),
                "paginator": paginator,
                "filters": filters,
                "public": public,
            },
        )
        shape = page_of(output) if paginator else (output(many=True) if many else output)
        if parameters is None:
            parameters = [filters] if filters is not None else []
        schema = extend_schema(
            operation_id=query.__name__,
            description=inspect.getdoc(query),
            parameters=[
                *parameters,
                *(cursor_parameters(paginator) if paginator is not None else []),
                *CONSISTENCY_PARAMETERS,
            ],
            responses=query_responses(shape),
            tags=list(cls.tags),
        )
        return extend_schema_view(get=schema)(view).as_view()

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
