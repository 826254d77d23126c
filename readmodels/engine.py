"""The projection engine: run projectors over new events, rebuild and verify summary tables,
replay dead letters, and report how far behind each projection is.

Correctness rests on three things:
- events are read in (txid, id) order below the pg_snapshot_xmin horizon (eventlog.positions_after),
  so no event is skipped when transactions commit out of id order;
- a batch's summary writes and its checkpoint advance commit in one transaction;
- one runner per projection: the checkpoint row is locked FOR UPDATE SKIP LOCKED, so a second
  runner leaves at once instead of waiting or doing the work twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import pgtrigger
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from readmodels import metrics
from readmodels.eventlog import Position, horizon_position, positions_after
from readmodels.models import DeadLetter, DomainEvent, ProjectionCheckpoint
from readmodels.projections import Projection, get_projections

log = logging.getLogger(__name__)

REBUILD_CHUNK = 5000


class ProjectionFailed(Exception):
    """A projector could not apply an event; it will be retried (and dead-lettered in the end)."""


def _ensure_checkpoints(projections: Iterable[Projection]) -> None:
    ProjectionCheckpoint.objects.bulk_create(
        [ProjectionCheckpoint(name=p.name) for p in projections], ignore_conflicts=True
    )


def _lock_checkpoint(projection: Projection, *, wait: bool) -> ProjectionCheckpoint | None:
    _ensure_checkpoints([projection])
    return (
        ProjectionCheckpoint.objects.select_for_update(skip_locked=not wait)
        .filter(name=projection.name)
        .first()
    )


def _advance(checkpoint: ProjectionCheckpoint, position: Position) -> None:
    checkpoint.txid, checkpoint.event_id = position
    checkpoint.updated_at = checkpoint.last_run_at = timezone.now()
    checkpoint.save()


def run_projection(projection: Projection, *, batch_size: int | None = None) -> int:
    """Apply every event that is ready, batch by batch. Returns how many were applied; 0 at
    once if another runner holds this projection. Raises ProjectionFailed when an event fails
    (after committing everything before it), so the caller can retry with backoff."""
    batch_size = batch_size or settings.PROJECTION_BATCH_SIZE
    applied = 0
    while True:
        with transaction.atomic():
            checkpoint = _lock_checkpoint(projection, wait=False)
            if checkpoint is None:
                return applied
            batch = positions_after(
                Position(checkpoint.txid, checkpoint.event_id), limit=batch_size
            )
            if not batch:
                checkpoint.last_run_at = timezone.now()
                checkpoint.save(update_fields=["last_run_at"])
                return applied
            handled, failure = metrics.apply_batch(projection, batch, apply=_apply)
            if handled:
                _advance(checkpoint, handled[-1])
        applied += len(handled)
        if failure is not None:
            raise ProjectionFailed(f"{projection.name}: {failure}") from failure
        if len(batch) < batch_size:
            return applied


def _apply(
    projection: Projection, batch: list[Position]
) -> tuple[list[Position], Exception | None]:
    """Refresh for the whole batch; if that fails, halve it until the failing event is cornered.
    Returns the events handled (applied, or dead-lettered) and the error that stopped it."""
    with pgtrigger.ignore(projection.trigger_uri):
        return _apply_part(projection, batch)


def _apply_part(
    projection: Projection, part: list[Position]
) -> tuple[list[Position], Exception | None]:
    # Refreshes recompute, so applying a batch in halves (each in its own savepoint) leaves the
    # same rows as applying it whole; the left half goes first so the handled events stay a
    # prefix of the batch. A big batch costs about twice its refresh and log2(size) failures.
    try:
        with transaction.atomic():
            projection.apply(part)
        _resolve_letters(projection, part)
        return part, None
    except Exception as error:
        if len(part) == 1:
            letter = _note_failure(projection, part[0], error)
            return (part, None) if letter.status == DeadLetter.Status.DEAD else ([], error)
        log.info("%s: %s events failed together, splitting", projection.name, len(part))
    middle = len(part) // 2
    handled, failure = _apply_part(projection, part[:middle])
    if failure is not None:
        return handled, failure
    rest, failure = _apply_part(projection, part[middle:])
    return handled + rest, failure


def _note_failure(projection: Projection, position: Position, error: Exception) -> DeadLetter:
    letter, _ = DeadLetter.objects.get_or_create(
        projection=projection.name, event_id=position.event_id, defaults={"error": ""}
    )
    letter.attempts += 1
    letter.error = f"{type(error).__name__}: {error}"
    letter.traceback = "".join(traceback.format_exception(error))
    letter.status = (
        DeadLetter.Status.DEAD
        if letter.attempts >= settings.PROJECTION_MAX_ATTEMPTS
        else DeadLetter.Status.RETRYING
    )
    letter.save()
    metrics.event_failed(projection.name)
    log.error(
        "%s: event #%s failed (%s), attempt %s",
        projection.name,
        position.event_id,
        letter.error,
        letter.attempts,
    )
    return letter


def _resolve_letters(projection: Projection, handled: Sequence[Position]) -> None:
    # Letters are rare: find this projection's few first, rather than send every id of a batch.
    retrying = DeadLetter.objects.filter(
        projection=projection.name, status=DeadLetter.Status.RETRYING
    )
    waiting = set(retrying.values_list("event_id", flat=True))
    resolved = [position.event_id for position in handled if position.event_id in waiting]
    if resolved:
        retrying.filter(event__in=resolved).update(
            status=DeadLetter.Status.RESOLVED, resolved_at=timezone.now()
        )


def run_all(names: Iterable[str] | None = None) -> dict[str, int]:
    """Run every projection (one failing does not hold up the others); re-raise the first
    failure at the end."""
    applied, failures = {}, []
    for projection in get_projections(names):
        try:
            applied[projection.name] = run_projection(projection)
        except ProjectionFailed as failure:
            failures.append(failure)
    if failures:
        raise failures[0]
    return applied


def replay_dead_letters(names: Iterable[str] | None = None) -> tuple[int, int]:
    """Try every dead letter again. Refreshes recompute from the normalized tables, so applying
    an old event late is safe. Returns (resolved, still failing)."""
    resolved = failing = 0
    projections = {p.name: p for p in get_projections(names)}
    letters = DeadLetter.objects.filter(
        projection__in=projections, status=DeadLetter.Status.DEAD
    ).select_related("event")
    for letter in letters:
        projection = projections[letter.projection]
        try:
            with transaction.atomic(), pgtrigger.ignore(projection.trigger_uri):
                position = Position(letter.event.txid, letter.event_id)
                projection.apply([position])
        except Exception as error:
            failing += 1
            letter.error = f"{type(error).__name__}: {error}"
            letter.traceback = "".join(traceback.format_exception(error))
            letter.save(update_fields=["error", "traceback", "last_failed_at"])
        else:
            resolved += 1
            letter.status = DeadLetter.Status.RESOLVED
            letter.resolved_at = timezone.now()
            letter.save(update_fields=["status", "resolved_at", "last_failed_at"])
    return resolved, failing


def rebuild(projection: Projection, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute the whole table from the normalized tables in one transaction.

    Readers keep seeing the old rows until the commit (MVCC), never an empty or half-built
    table. The checkpoint is set to the horizon read *before* the rows: everything up to it is
    in the rebuild, and anything later is applied again afterwards, which a recomputing refresh
    makes harmless. `progress(done, total)` is called after each chunk."""
    with transaction.atomic():
        checkpoint = _lock_checkpoint(projection, wait=True)
        position = horizon_position()
        keys = projection.all_keys()
        with pgtrigger.ignore(projection.trigger_uri):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {projection.table}")
            for start in range(0, len(keys), REBUILD_CHUNK):
                chunk = keys[start : start + REBUILD_CHUNK]
                projection.refresh(chunk, position=str(position))
                if progress:
                    progress(start + len(chunk), len(keys))
        _advance(checkpoint, position)
    return len(keys)


@dataclasses.dataclass
class Drift:
    key: object
    problem: str  # "missing" (rebuild has it, live does not), "extra", or "differs"
    differences: dict  # column -> (live, rebuilt)

    def __str__(self) -> str:
        if self.problem != "differs":
            return f"{self.key}: {self.problem}"
        changes = ", ".join(
            f"{c}: live={a!r} rebuilt={b!r}" for c, (a, b) in self.differences.items()
        )
        return f"{self.key}: {changes}"


def verify(projection: Projection) -> list[Drift]:
    """Rebuild into a scratch table and compare it with the live one, row by row."""
    key, *columns = projection.columns
    compared = [c for c in columns if c not in projection.bookkeeping_columns]
    scratch = f"verify_{projection.name}"
    with transaction.atomic(), connection.cursor() as cursor:
        # Live and scratch must be read from one snapshot.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(
            f"CREATE TEMP TABLE {scratch} (LIKE {projection.table} INCLUDING INDEXES) ON COMMIT DROP"
        )
        projection.refresh(projection.all_keys(), position="verify", into=scratch)
        cursor.execute(
            f"""
            SELECT to_jsonb(live), to_jsonb(rebuilt)
            FROM {projection.table} live
            FULL OUTER JOIN {scratch} rebuilt ON live.{key} = rebuilt.{key}
            WHERE live.{key} IS NULL OR rebuilt.{key} IS NULL
               OR ({", ".join(f"live.{c}" for c in compared)})
                  IS DISTINCT FROM ({", ".join(f"rebuilt.{c}" for c in compared)})
            ORDER BY COALESCE(live.{key}, rebuilt.{key})
            """
        )
        rows = cursor.fetchall()
    drift = []
    for live_json, rebuilt_json in rows:
        # psycopg hands jsonb from a raw cursor back as text.
        live, rebuilt = (
            json.loads(r) if isinstance(r, str) else r for r in (live_json, rebuilt_json)
        )
        if live is None:
            drift.append(Drift(rebuilt[key], "missing", {}))
        elif rebuilt is None:
            drift.append(Drift(live[key], "extra", {}))
        else:
            differences = {c: (live[c], rebuilt[c]) for c in compared if live[c] != rebuilt[c]}
            drift.append(Drift(live[key], "differs", differences))
    return drift


@dataclasses.dataclass
class ProjectionStatus:
    name: str
    position: str
    events_behind: int
    seconds_behind: float  # how long the oldest event it has not applied has been waiting
    dead_letters: int
    last_run_at: datetime | None
    updated_at: datetime | None

    @property
    def lagging(self) -> bool:
        return self.seconds_behind > settings.PROJECTION_LAG_WARNING_SECONDS


@dataclasses.dataclass
class HorizonHolder:
    """An open transaction older than some committed events: projections wait for it."""

    pid: int
    seconds: float
    state: str
    query: str


def projection_status() -> tuple[list[ProjectionStatus], list[HorizonHolder]]:
    projections = get_projections()
    _ensure_checkpoints(projections)
    table = DomainEvent._meta.db_table
    statuses = []
    for checkpoint in ProjectionCheckpoint.objects.filter(name__in=[p.name for p in projections]):
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT COUNT(*), EXTRACT(EPOCH FROM now() - MIN(occurred_at))
                FROM {table} WHERE (txid, id) > (%s::xid8, %s)
                """,
                [str(checkpoint.txid), checkpoint.event_id],
            )
            behind, seconds = cursor.fetchone()
        statuses.append(
            ProjectionStatus(
                name=checkpoint.name,
                position=str(Position(checkpoint.txid, checkpoint.event_id)),
                events_behind=behind,
                seconds_behind=max(0.0, float(seconds or 0)),
                dead_letters=DeadLetter.objects.filter(
                    projection=checkpoint.name, status=DeadLetter.Status.DEAD
                ).count(),
                last_run_at=checkpoint.last_run_at,
                updated_at=checkpoint.updated_at,
            )
        )
    return sorted(statuses, key=lambda s: s.name), horizon_holders()


def horizon_holders() -> list[HorizonHolder]:
    """Backends whose open transaction holds the horizon while committed events wait above it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
            SELECT a.pid, EXTRACT(EPOCH FROM now() - a.xact_start), a.state, LEFT(a.query, 300)
            FROM pg_stat_activity a, horizon
            WHERE a.backend_xid IS NOT NULL
              AND a.backend_xid::text::bigint = horizon.xmin::text::bigint % 4294967296
              AND EXISTS (SELECT 1 FROM {DomainEvent._meta.db_table} e WHERE e.txid >= horizon.xmin)
            """
        )
        return [
            HorizonHolder(pid, float(age or 0), state, query)
            for pid, age, state, query in cursor.fetchall()
        ]
