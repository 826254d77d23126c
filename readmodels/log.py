"""Reading the event log back: the horizon below which no transaction can still commit, the
positions after a checkpoint, and an aggregate's history. (Events are written by
core.eventlog.record.)"""

from __future__ import annotations

from django.db import connection

from core.eventlog import ORIGIN, Position, current_payload_sql
from readmodels.models import DomainEvent

# Rebuilds and verifies hold a transaction id for as long as they work, but never write an
# event: they name their session MAINTENANCE, and the horizon looks past their transactions,
# so a long rebuild of one projection does not freeze the others.
MAINTENANCE = "projection-maintenance"
HORIZON_CTE = f"""
    horizon AS (
        SELECT COALESCE(
            (SELECT MIN(running) FROM pg_snapshot_xip(pg_current_snapshot()) AS running
             WHERE running::text::bigint %% 4294967296 NOT IN (
                 SELECT backend_xid::text::bigint FROM pg_stat_activity
                 WHERE application_name = '{MAINTENANCE}' AND backend_xid IS NOT NULL)),
            pg_snapshot_xmax(pg_current_snapshot())
        ) AS xmin
    )
"""


def as_maintenance() -> None:
    """Mark the current transaction as one the horizon need not wait for (it writes no event)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('application_name', %s, true)", [MAINTENANCE])


def positions_after(position: Position, *, limit: int) -> list[Position]:
    """The positions of the next events after `position` whose transactions can no longer
    commit behind them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH {HORIZON_CTE}
            SELECT e.txid::text, e.id FROM {DomainEvent._meta.db_table} e, horizon
            WHERE (e.txid, e.id) > (%s::xid8, %s) AND e.txid < horizon.xmin
            ORDER BY e.txid, e.id
            LIMIT %s
            """,
            [str(position.txid), position.event_id, limit],
        )
        return [Position(int(txid), event_id) for txid, event_id in cursor.fetchall()]


def horizon_position() -> Position:
    """The last event that no running transaction can still commit behind."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH {HORIZON_CTE}
            SELECT e.txid::text, e.id FROM {DomainEvent._meta.db_table} e, horizon
            WHERE e.txid < horizon.xmin
            ORDER BY e.txid DESC, e.id DESC LIMIT 1
            """,
            [],
        )
        row = cursor.fetchone()
    return ORIGIN if row is None else Position(int(row[0]), row[1])


def aggregate_history(aggregate_type: str, aggregate_id: str | int) -> list[DomainEvent]:
    """An aggregate's events, oldest first (for timelines and audits), payloads upcast to the
    current shape."""
    table = DomainEvent._meta.db_table
    return list(
        DomainEvent.objects.raw(
            f"""
            SELECT e.id, e.event_type, e.event_version, e.aggregate_type, e.aggregate_id,
                   {current_payload_sql("e")} AS payload, e.metadata, e.occurred_at, e.txid
            FROM {table} e WHERE e.aggregate_type = %s AND e.aggregate_id = %s ORDER BY e.id
            """,
            [aggregate_type, str(aggregate_id)],
        )
    )
