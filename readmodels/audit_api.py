"""Staff API over the event log: the audit trail (GET /api/audit/) and a product's history
(GET /api/products/{sku}/history/), both straight from the events."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import error_responses
from api.pagination import CursorPagination, cursor_parameters, page_of, paginated_response
from api.queries import checked_parameters
from readmodels import audit


class AuditFilters(serializers.Serializer):
    actor = serializers.CharField(required=False, max_length=150, help_text="a username")
    aggregate_type = serializers.ChoiceField(required=False, choices=audit.AGGREGATE_TYPES)
    aggregate_id = serializers.CharField(required=False, max_length=64)
    event_type = serializers.ChoiceField(required=False, choices=audit.event_types())
    correlation_id = serializers.CharField(
        required=False, max_length=64, help_text="the X-Request-ID (or X-Correlation-ID) sent"
    )
    since = serializers.DateTimeField(required=False, help_text="occurred at or after")
    until = serializers.DateTimeField(required=False, help_text="occurred at or before")

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"since": "Must not be after 'until'."})
        # Postgres refuses NUL in text: a filter holding one can match nothing anyway.
        for name, value in attrs.items():
            if isinstance(value, str) and "\x00" in value:
                raise serializers.ValidationError({name: "Null characters are not allowed."})
        return attrs


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.CharField()
    event_type = serializers.CharField()
    event_version = serializers.IntegerField()
    aggregate_type = serializers.CharField()
    aggregate_id = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_username", allow_null=True)
    correlation_id = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(help_text="actor, correlation_id, causation_id")
    payload = serializers.DictField()


class NewestEventsFirst(CursorPagination):
    ordering = ("-id",)
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class AuditLog(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["operations"],
        parameters=[AuditFilters, *cursor_parameters(NewestEventsFirst)],
        responses={200: page_of(AuditEventOut), **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request):
        """Staff: the event log, newest first: who did what to which aggregate, filtered by
        actor, aggregate, event type, correlation id and time range."""
        paginator = NewestEventsFirst()
        (filters,) = checked_parameters(request, AuditFilters, paginator=paginator)
        events = audit.search_events(**filters)
        return paginated_response(self, request, events, paginator, AuditEventOut)


class AsOf(serializers.Serializer):
    as_of = serializers.DateTimeField(
        required=False, help_text="the moment to look at (default: now)"
    )


class ProductMomentOut(serializers.Serializer):
    position = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    event_type = serializers.CharField()
    actor = serializers.CharField(allow_null=True)
    correlation_id = serializers.CharField(allow_null=True)
    change = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    stock = serializers.IntegerField()
    active = serializers.BooleanField()


class ProductHistoryOut(serializers.Serializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    as_of = serializers.DateTimeField(allow_null=True)
    state = ProductMomentOut(allow_null=True, help_text="at `as_of` (null: not created yet)")
    timeline = ProductMomentOut(many=True)


class ProductHistory(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["operations"],
        parameters=[AsOf],
        responses={200: ProductHistoryOut, **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request, sku):
        """Staff: a product's price and stock after each event that changed them (its own,
        and the orders that took or gave back stock), computed from the event log; with
        `as_of`, the product as it was at that moment."""
        (params,) = checked_parameters(request, AsOf)
        history = audit.product_history(sku=sku, as_of=params.get("as_of"))
        return Response(ProductHistoryOut(history).data)
