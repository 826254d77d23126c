"""How far each projection has read the log: its checkpoint row, locked by the one runner that
moves it (FOR UPDATE SKIP LOCKED, so a second runner leaves at once instead of waiting or doing
the work twice).

A run's batch begins with `claim`: one statement that locks the checkpoints nobody else holds,
stamps them as run, and reads the positions after the earliest of them. A pass with nothing to
apply is that statement alone, inside its transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.eventlog import Position
from readmodels.log import HORIZON_CTE
from readmodels.models import DomainEvent, ProjectionCheckpoint

CHECKPOINTS = ProjectionCheckpoint._meta.db_table
EVENTS = DomainEvent._meta.db_table


def ensure(names: Iterable[str]) -> None:
    """Create the checkpoints these projections do not have yet, at the log's origin."""
    ProjectionCheckpoint.objects.bulk_create(
        [ProjectionCheckpoint(name=name) for name in names], ignore_conflicts=True
    )


def lock(name: str, *, wait: bool) -> ProjectionCheckpoint | None:
    """The projection's checkpoint, locked (created first if need be); without `wait`, None
    when another runner holds it."""
    ensure([name])
    rows = ProjectionCheckpoint.objects.select_for_update(skip_locked=not wait)
    return rows.filter(name=name).first()


def position(checkpoint: ProjectionCheckpoint) -> Position:
    return Position(checkpoint.txid, checkpoint.event_id)


def advance(checkpoint: ProjectionCheckpoint, to: Position) -> None:
    """Move a locked checkpoint to `to`, as a run just did."""
    checkpoint.txid, checkpoint.event_id = to
    checkpoint.updated_at = checkpoint.last_run_at = timezone.now()
    checkpoint.save()


def claim(
    names: Sequence[str], *, limit: int, now: datetime
) -> tuple[dict[str, Position], list[Position]]:
    """Lock the checkpoints of `names` that no other runner holds and stamp them run at `now`;
    return where each stands and the first `limit` positions after the earliest, below the
    horizon. Call it inside the transaction that applies them and `moved` advances."""
    claimed, batch = _claim(names, limit=limit, now=now)
    if len(claimed) < len(names) and not _all_exist(names):
        ensure(names)  # the first run of a new projection
        claimed, batch = _claim(names, limit=limit, now=now)
    return claimed, batch


def _claim(
    names: Sequence[str], *, limit: int, now: datetime
) -> tuple[dict[str, Position], list[Position]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH {HORIZON_CTE},
            claimed AS (
                UPDATE {CHECKPOINTS} c SET last_run_at = %s
                WHERE c.name IN (
                    SELECT name FROM {CHECKPOINTS} WHERE name = ANY(%s)
                    ORDER BY name FOR UPDATE SKIP LOCKED
                )
                RETURNING c.name, c.txid, c.event_id
            ),
            start AS (SELECT txid, event_id FROM claimed ORDER BY txid, event_id LIMIT 1),
            batch AS (
                SELECT e.txid, e.id FROM {EVENTS} e, start, horizon
                WHERE (e.txid, e.id) > (start.txid, start.event_id) AND e.txid < horizon.xmin
                ORDER BY e.txid, e.id
                LIMIT %s
            )
            SELECT name, txid::text, event_id FROM (
                SELECT name, txid, event_id FROM claimed
                UNION ALL
                SELECT NULL, txid, id FROM batch
            ) rows
            ORDER BY name NULLS LAST, txid, event_id
            """,
            [now, list(names), limit],
        )
        rows = cursor.fetchall()
    claimed = {name: Position(int(txid), event_id) for name, txid, event_id in rows if name}
    batch = [Position(int(txid), event_id) for name, txid, event_id in rows if name is None]
    return claimed, batch


def _all_exist(names: Sequence[str]) -> bool:
    return ProjectionCheckpoint.objects.filter(name__in=names).count() == len(names)


def moved(positions: dict[str, Position], *, now: datetime) -> None:
    """Advance claimed checkpoints to the positions their run applied up to, in one UPDATE (the
    ORM's bulk_update builds a CASE per column, which costs more than the rest of a pass)."""
    if not positions:
        return
    row = "(%s, %s::xid8, %s::bigint)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {CHECKPOINTS} c
            SET txid = v.txid, event_id = v.event_id, updated_at = %s
            FROM (VALUES {", ".join([row] * len(positions))}) AS v (name, txid, event_id)
            WHERE c.name = v.name
            """,
            [now]
            + [
                value
                for name, at in positions.items()
                for value in (name, str(at.txid), at.event_id)
            ],
        )
