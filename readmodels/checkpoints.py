"""How far each projection has read the log: its checkpoint row, locked by the one runner that
moves it (FOR UPDATE SKIP LOCKED, so a second runner leaves at once instead of waiting or doing
the work twice).

A run's batch begins with `claim`: one statement locks the checkpoints nobody else holds and
stamps them as run, a second reads the positions after the earliest of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.eventlog import Position
from readmodels.log import positions_after
from readmodels.models import ProjectionCheckpoint

CHECKPOINTS = ProjectionCheckpoint._meta.db_table


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
    claimed = _claim(names, now=now)
    if len(claimed) < len(names) and not _all_exist(names):
        ensure(names)  # the first run of a new projection
        claimed = _claim(names, now=now)
    if not claimed:
        return claimed, []
    return claimed, positions_after(min(claimed.values()), limit=limit)


def _claim(names: Sequence[str], *, now: datetime) -> dict[str, Position]:
    # The events are read by their own statement, whose position is a parameter: joined to the
    # claimed rows instead, the planner scans the whole log on every pass.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {CHECKPOINTS} c SET last_run_at = %s
            WHERE c.name IN (
                SELECT name FROM {CHECKPOINTS} WHERE name = ANY(%s)
                ORDER BY name FOR UPDATE SKIP LOCKED
            )
            RETURNING c.name, c.txid::text, c.event_id
            """,
            [now, list(names)],
        )
        return {name: Position(int(txid), event_id) for name, txid, event_id in cursor}


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
