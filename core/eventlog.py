"""The event log's write side: the Event base class, positions, and `record`, which commands
call to append events in their transaction. The read side (readmodels.log) reads them back.

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
from django.dispatch import Signal

# The log's table. Its model (readmodels.models.DomainEvent) lives with the read side, which
# owns its migrations and the trigger that keeps it append-only; the write side only appends
# to it through `record`, so the kernel needs its name, not the model (a test checks they agree).
EVENT_TABLE = "readmodels_domainevent"

# Sent once after each transaction that recorded events commits. The read side connects its
# wake-up here (readmodels/apps.py): the log does not know who reads it.
events_committed = Signal()


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


def _fields(instance) -> dict[str, Any]:
    """A dataclass's fields by name, as they are. (`dataclasses.asdict` deep-copies every list
    and dict first, which was three quarters of the cost of writing an order's payload.)"""
    return {field.name: getattr(instance, field.name) for field in dataclasses.fields(instance)}


class _PayloadEncoder(DjangoJSONEncoder):
    # Decimals become strings and datetimes ISO 8601 with every digit: DjangoJSONEncoder keeps
    # milliseconds only, and a payload must say exactly what the row says. A dataclass inside a
    # payload is written as its fields, as dataclasses.asdict would have.
    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat()
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return _fields(o)
        return super().default(o)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event. A subclass is named in the past tense, declares its payload
    as dataclass fields, its `aggregate_type`, and which field holds the aggregate's id.

    It declares the ids it names in `touches` (and `touches_lines`). A type that changes shape
    raises its `schema_version` and declares `upcasters`: for each old
    version, the fields it lacked, as SQL expressions over the stored event row `{e}`. Every
    reader of the log sees payloads in the current shape (`current_payload_sql`), so an old
    database rebuilds, verifies and projects like a new one.
    """

    aggregate_type: ClassVar[str]
    aggregate_id_field: ClassVar[str]
    # The ids the event names, so the read side finds the rows it changes without knowing each
    # type: payload field -> the kind of id it holds ("previous_category_id" holds a
    # "category_id"); `touches_lines` are the list fields whose items each name a "product_id".
    touches: ClassVar[dict[str, str]] = {}
    touches_lines: ClassVar[tuple[str, ...]] = ()
    schema_version: ClassVar[int] = 1
    upcasters: ClassVar[dict[int, dict[str, str]]] = {}
    _types: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Event._types[cls.event_type()] = cls

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    @staticmethod
    def types() -> list[type[Event]]:
        """Every event type defined so far (the apps' events modules define them)."""
        return [Event._types[name] for name in sorted(Event._types)]

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_id_field))

    def payload_json(self) -> str:
        return json.dumps(_fields(self), cls=_PayloadEncoder)


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
    INSERT INTO {EVENT_TABLE}
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
    _announce_on_commit()
    return position


def _announce_on_commit() -> None:
    # One announcement per transaction is enough: a projection run after it projects
    # everything committed before it.
    if any(callback is _announce_commit for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_announce_commit, robust=True)


def _announce_commit() -> None:
    events_committed.send(sender=Event)


def position_of(event) -> Position:
    """The position of a stored event row (anything with its `txid` and `id`)."""
    return Position(event.txid, event.id)


def last_position(event_type: type[Event], aggregate_id: str | int) -> Position:
    """The position of the aggregate's latest event of `event_type` (a replayed command's token)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT txid::text, id FROM {EVENT_TABLE}
            WHERE aggregate_type = %s AND aggregate_id = %s AND event_type = %s
            ORDER BY id DESC LIMIT 1
            """,
            [event_type.aggregate_type, str(aggregate_id), event_type.event_type()],
        )
        txid, event_id = cursor.fetchone()
    return Position(int(txid), event_id)
