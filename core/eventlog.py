"""The event log API: commands record events here; the projection engine reads them back.

An event's position is `(txid, id)`: the id of the transaction that wrote it and its row id.
Ids are handed out before commit, so transactions can commit out of id order; readers only
take events whose transaction is older than every transaction still running
(`pg_snapshot_xmin`), in `(txid, id)` order, and so never skip one.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from readmodels.models import DomainEvent


class Position(NamedTuple):
    """A place in the event log. Its string form is the consistency token clients see."""

    txid: int
    event_id: int

    def __str__(self) -> str:
        return f"{self.txid}-{self.event_id}"

    @classmethod
    def parse(cls, token: str) -> Position:
        """Raises ValueError for anything that is not a token this app handed out."""
        txid, sep, event_id = str(token).partition("-")
        if not sep or not txid.isdigit() or not event_id.isdigit():
            raise ValueError(f"not a consistency token: {token!r}")
        return cls(int(txid), int(event_id))


ORIGIN = Position(0, 0)


class _PayloadEncoder(DjangoJSONEncoder):
    # Decimals become strings and datetimes ISO 8601 with every digit: DjangoJSONEncoder keeps
    # milliseconds only, and a payload must say exactly what the row says.
    def default(self, o):
        return o.isoformat() if isinstance(o, datetime) else super().default(o)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event. A subclass is named in the past tense, declares its payload
    as dataclass fields, its `aggregate_type`, and which field holds the aggregate's id.

    A type that changes shape raises its `schema_version` and declares `upcasters`: for each old
    version, the fields it lacked, as SQL expressions over the stored event row `{e}`. Every
    reader of the log sees payloads in the current shape (`current_payload_sql`), so an old
    database rebuilds, verifies and projects like a new one.
    """

    aggregate_type: ClassVar[str]
    aggregate_id_field: ClassVar[str]
    schema_version: ClassVar[int] = 1
    upcasters: ClassVar[dict[int, dict[str, str]]] = {}
    _types: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Event._types[cls.event_type()] = cls

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_id_field))

    def payload_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), cls=_PayloadEncoder)


def current_payload_sql(alias: str) -> str:
    """SQL for the payload of the event row `alias` in its type's current shape."""
    cases = []
    for event_type, event in sorted(Event._types.items()):
        if not event.upcasters:
            continue
        payload = f"{alias}.payload"
        for version, fields in sorted(event.upcasters.items()):
            added = ", ".join(
                f"'{name}', {expression.format(e=alias)}" for name, expression in fields.items()
            )
            payload = (
                f"CASE WHEN {alias}.event_version <= {version} "
                f"THEN {payload} || jsonb_build_object({added}) ELSE {payload} END"
            )
        cases.append(f"WHEN '{event_type}' THEN {payload}")
    if not cases:
        return f"{alias}.payload"
    return f"(CASE {alias}.event_type {' '.join(cases)} ELSE {alias}.payload END)"


# Who caused what: set per request (middleware) or per task, carried into every event's metadata.
_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
_causation_id: contextvars.ContextVar[int | str | None] = contextvars.ContextVar(
    "causation_id", default=None
)


@contextlib.contextmanager
def event_context(
    *, correlation_id: str | None = None, causation_id: int | str | None = None
) -> Iterator[None]:
    tokens = [_correlation_id.set(correlation_id or _correlation_id.get() or uuid.uuid4().hex)]
    if causation_id is not None:
        tokens.append(_causation_id.set(causation_id))
    try:
        yield
    finally:
        _correlation_id.reset(tokens[0])
        if causation_id is not None:
            _causation_id.reset(tokens[1])


def _actor(user) -> dict[str, Any] | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return {"user_id": user.pk, "username": user.get_username(), "staff": user.is_staff}


_INSERT_EVENT = f"""
    INSERT INTO {DomainEvent._meta.db_table}
        (event_type, event_version, aggregate_type, aggregate_id, payload, metadata)
    VALUES (%s, %s, %s, %s, %s, %s)
    RETURNING txid::text, id
"""


def record(*events: Event, actor) -> Position:
    """Append events in the caller's transaction and return the position of the last one.

    The projection task is scheduled once per transaction, after commit: a rolled-back command
    leaves no event and wakes no worker.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record() must run inside the command's transaction.atomic()")
    metadata = json.dumps(
        {
            "actor": _actor(actor),
            "correlation_id": _correlation_id.get() or uuid.uuid4().hex,
            "causation_id": _causation_id.get(),
        }
    )
    position = ORIGIN
    with connection.cursor() as cursor:
        for event in events:
            cursor.execute(
                _INSERT_EVENT,
                [
                    event.event_type(),
                    event.schema_version,
                    event.aggregate_type,
                    event.aggregate_id,
                    event.payload_json(),
                    metadata,
                ],
            )
            txid, event_id = cursor.fetchone()
            position = Position(int(txid), event_id)
    _schedule_projection_on_commit()
    return position


def _schedule_projection_on_commit() -> None:
    # One wake-up per transaction is enough: a run projects everything committed before it.
    if any(callback is _wake_projections for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_wake_projections, robust=True)


def _wake_projections() -> None:
    from readmodels.tasks import wake_projections

    wake_projections()


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


def position_of(event: DomainEvent) -> Position:
    return Position(event.txid, event.id)
