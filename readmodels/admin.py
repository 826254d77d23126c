"""Staff screens for the read side: summary tables and the event log (browse only), and the
projections (status, dead-letter retry, background rebuild)."""

import json
import threading

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.http import urlencode

from pages.admin import ReadOnlyAdmin
from readmodels import engine, status
from readmodels.models import (
    CategorySummary,
    CustomerSummary,
    DailySales,
    DeadLetter,
    DomainEvent,
    OrderSummary,
    ProductSummary,
    ProjectionCheckpoint,
)
from readmodels.projections import PROJECTIONS
from readmodels.tasks import rebuild_projections

NOT_A_PROJECTION = "no longer a projection"


def _known(modeladmin, request, names) -> list[str]:
    """The names that are still projections; a checkpoint or letter left by a projection
    removed from the code is reported, not passed on (the engine refuses unknown names)."""
    names = sorted(set(names))
    gone = [name for name in names if name not in PROJECTIONS]
    if gone:
        modeladmin.message_user(
            request,
            f"Skipped {', '.join(gone)}: no longer a projection.",
            level=messages.WARNING,
        )
    return [name for name in names if name in PROJECTIONS]


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@admin.register(ProductSummary)
class ProductSummaryAdmin(ReadOnlyAdmin):
    list_display = ["sku", "name", "category_name", "price", "stock", "active", "units_sold"]
    list_filter = ["active", "in_stock", "category_name"]
    search_fields = ["sku", "name"]


@admin.register(OrderSummary)
class OrderSummaryAdmin(ReadOnlyAdmin):
    list_display = ["order_id", "customer_name", "status", "total", "placed_at"]
    list_filter = ["status", "placed_at"]
    search_fields = ["order_id", "customer_name", "customer_email", "tracking_number"]


@admin.register(CustomerSummary)
class CustomerSummaryAdmin(ReadOnlyAdmin):
    list_display = ["customer_id", "name", "email", "order_count", "lifetime_value"]
    list_filter = ["last_order_at"]
    search_fields = ["name", "email"]


@admin.register(DailySales)
class DailySalesAdmin(ReadOnlyAdmin):
    list_display = ["date", "orders_placed", "orders_cancelled", "units_sold", "net_revenue"]
    list_filter = ["date"]
    search_fields = ["date"]


@admin.register(CategorySummary)
class CategorySummaryAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "product_count", "active_product_count", "min_price"]
    list_filter = ["active_product_count"]
    search_fields = ["name", "slug"]


class MetadataFilter(admin.SimpleListFilter):
    """Filter by a value of the event's metadata given in the URL (?correlation_id=…), as the
    audit page, a log line or a response's X-Request-ID gives it; shown once it is set."""

    lookup: str

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.lookup: value}) if value else queryset


class CorrelationIdFilter(MetadataFilter):
    title = "correlation id"
    parameter_name = "correlation_id"
    lookup = "metadata__correlation_id"


class ActorFilter(MetadataFilter):
    title = "actor"
    parameter_name = "actor"
    lookup = "metadata__actor__username"


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "event_type", "aggregate_type", "aggregate_id", "occurred_at",
                    "actor", "correlation"]  # fmt: skip
    list_filter = ["event_type", "aggregate_type", "occurred_at", CorrelationIdFilter, ActorFilter]
    # The search box takes an aggregate id, a correlation (request) id or a username.
    search_fields = ["=aggregate_id", "=metadata__correlation_id", "=metadata__actor__username"]
    date_hierarchy = "occurred_at"
    fields = ["id", "event_type", "event_version", "aggregate_type", "aggregate_id",
              "occurred_at", "txid", "payload_json", "metadata_json"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="actor")
    def actor(self, event):
        return event.actor_username or "–"

    @admin.display(description="correlation id")
    def correlation(self, event):
        if not event.correlation_id:
            return "–"
        query = urlencode({"correlation_id": event.correlation_id})
        return format_html('<a href="?{}">{}</a>', query, event.correlation_id)

    @admin.display(description="payload")
    def payload_json(self, event):
        return _pretty_json(event.payload)

    @admin.display(description="metadata")
    def metadata_json(self, event):
        return _pretty_json(event.metadata)


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ["id", "projection", "event", "status", "attempts", "last_failed_at"]
    list_filter = ["status", "projection"]
    actions = ["retry"]

    @admin.action(description="Retry the dead letters of the selected letters' projections")
    def retry(self, request, queryset):
        names = _known(self, request, queryset.values_list("projection", flat=True))
        if not names:
            return
        resolved, failing = engine.replay_dead_letters(names)
        self.message_user(request, f"Retried {', '.join(names)}: {resolved} resolved.")
        if failing:
            self.message_user(request, f"{failing} still failing.", level=messages.ERROR)


@admin.register(ProjectionCheckpoint)
class ProjectionAdmin(ReadOnlyAdmin):
    """Position and lag per projection, from status.projection_status()."""

    list_display = ["name", "position", "events_behind", "seconds_behind", "dead_letters",
                    "last_run_at", "rebuild"]  # fmt: skip
    actions = ["retry_dead_letters", "rebuild_in_background"]

    # One status query per list, shared with the row columns of the same request; the admin
    # instance serves every thread, so the statuses live in a thread-local.
    _statuses = threading.local()

    def changelist_view(self, request, extra_context=None):
        self._statuses.by_name = {s.name: s for s in status.projection_status()[0]}
        return super().changelist_view(request, extra_context)

    def _status(self, checkpoint):
        # None for the checkpoint of a projection no longer in the code: its row stays (the
        # admin is read-only) and shows as such instead of failing the whole page.
        return self._statuses.by_name.get(checkpoint.name)

    def position(self, checkpoint):
        status = self._status(checkpoint)
        return status.position if status else f"{checkpoint.txid}-{checkpoint.event_id}"

    def events_behind(self, checkpoint):
        status = self._status(checkpoint)
        return status.events_behind if status else NOT_A_PROJECTION

    def seconds_behind(self, checkpoint):
        status = self._status(checkpoint)
        if status is None:
            return NOT_A_PROJECTION
        lag = f"{status.seconds_behind:.1f}"
        return format_html("<strong>{} (lagging)</strong>", lag) if status.lagging else lag

    def dead_letters(self, checkpoint):
        status = self._status(checkpoint)
        return status.dead_letters if status else NOT_A_PROJECTION

    def rebuild(self, checkpoint):
        if checkpoint.rebuild_started_at is None:
            return "never rebuilt here"
        if checkpoint.rebuild_finished_at is None:
            return f"running since {checkpoint.rebuild_started_at:%Y-%m-%d %H:%M:%S}"
        return f"finished {checkpoint.rebuild_finished_at:%Y-%m-%d %H:%M:%S}"

    @admin.action(description="Retry dead letters of the selected projections")
    def retry_dead_letters(self, request, queryset):
        names = _known(self, request, queryset.values_list("name", flat=True))
        if not names:
            return
        resolved, failing = engine.replay_dead_letters(names)
        self.message_user(request, f"{resolved} dead letter(s) resolved, {failing} still failing.")

    @admin.action(description="Rebuild the selected projections in the background")
    def rebuild_in_background(self, request, queryset):
        names = _known(self, request, queryset.values_list("name", flat=True))
        if not names:
            return
        rebuild_projections.delay(names)
        self.message_user(
            request, f"Rebuild of {', '.join(names)} started; reload to see when it finished."
        )
