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
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import pgtrigger
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from readmodels import metrics
from readmodels.eventlog import (
    HORIZON_CTE,
    Position,
    as_maintenance,
    horizon_position,
    positions_after,
)
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
    return _lock_checkpoints([projection], wait=wait).get(projection.name)


def _lock_checkpoints(
    projections: Sequence[Projection], *, wait: bool = False
) -> dict[str, ProjectionCheckpoint]:
    """The checkpoints of these projections, locked; without `wait`, those another runner
    holds are left out. One statement, once the rows exist."""
    names = [p.name for p in projections]

    def lock():
        rows = ProjectionCheckpoint.objects.select_for_update(skip_locked=not wait)
        return {cp.name: cp for cp in rows.filter(name__in=names).order_by("name")}

    locked = lock()
    if len(locked) < len(names):
        existing = ProjectionCheckpoint.objects.filter(name__in=names).values_list("name")
        if len(existing) < len(names):  # the first run of a new projection
            _ensure_checkpoints(projections)
            locked = lock()
    return locked


def _position(checkpoint: ProjectionCheckpoint) -> Position:
    return Position(checkpoint.txid, checkpoint.event_id)


def _advance(checkpoint: ProjectionCheckpoint, position: Position) -> None:
    checkpoint.txid, checkpoint.event_id = position
    checkpoint.updated_at = checkpoint.last_run_at = timezone.now()
    checkpoint.save()


def _save_checkpoints(checkpoints: Iterable[ProjectionCheckpoint]) -> None:
    """One UPDATE for every checkpoint of a batch (the ORM's bulk_update builds a CASE per
    column, which cost more than the rest of an empty pass)."""
    checkpoints = list(checkpoints)
    if not checkpoints:
        return
    row = "(%s, %s::xid8, %s::bigint, %s::timestamptz, %s::timestamptz)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {ProjectionCheckpoint._meta.db_table} c
            SET txid = v.txid, event_id = v.event_id, updated_at = v.updated_at,
                last_run_at = v.last_run_at
            FROM (VALUES {", ".join([row] * len(checkpoints))})
                AS v (name, txid, event_id, updated_at, last_run_at)
            WHERE c.name = v.name
            """,
            [
                value
                for cp in checkpoints
                for value in (cp.name, str(cp.txid), cp.event_id, cp.updated_at, cp.last_run_at)
            ],
        )


def run_projection(projection: Projection, *, batch_size: int | None = None) -> int:
    """Apply every event that is ready to one projection; see run_all."""
    return run_all([projection.name], batch_size=batch_size)[projection.name]


def run_all(names: Iterable[str] | None = None, *, batch_size: int | None = None) -> dict[str, int]:
    """Apply every event that is ready, batch by batch, to every projection (all by default).
    Returns how many events each applied: 0 for one that another runner holds.

    A batch is one transaction for all the projections it moves, in a handful of round trips
    however many projections there are: one statement locks their checkpoints (skipping those
    another runner holds), one reads the events, one applies every projection's share, and one
    advances the checkpoints. (A round trip, not the SQL, is what a busy host makes expensive:
    each waits for the scheduler twice.) If the shares fail together, the batch is rolled back
    and applied again one projection at a time, each in a savepoint, so a projection that fails
    does not hold up the others; the first failure is raised at the end, after everything else
    has committed, so the caller can retry it with backoff."""
    batch_size = batch_size or settings.PROJECTION_BATCH_SIZE
    projections = get_projections(names)
    applied = {p.name: 0 for p in projections}
    failures: list[ProjectionFailed] = []
    active = projections
    while active:
        try:
            moved = _run_batch(active, batch_size, _apply_together)
        except (OperationalError, InterfaceError):
            raise  # the database went away: no projection is to blame
        except Exception as error:
            log.info("projections failed together (%s); applying them one by one", error)
            moved = _run_batch(active, batch_size, _apply_one_by_one)
        if moved is None:
            break
        batch, handled, batch_failures = moved
        for name, events in handled.items():
            applied[name] += len(events)
        failures += batch_failures
        if len(batch) < batch_size:
            break
        failed = {str(failure).partition(":")[0] for failure in failures}
        active = [p for p in active if p.name in handled and p.name not in failed]
    if failures:
        raise failures[0]
    return applied


def events_waiting() -> bool:
    """Has some projection committed events still to apply? Including those a pass cannot take
    yet, because a transaction that began before they were recorded is still open."""
    names = [p.name for p in get_projections()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT EXISTS (
                SELECT 1 FROM {DomainEvent._meta.db_table} e, (
                    SELECT txid, event_id FROM {ProjectionCheckpoint._meta.db_table}
                    WHERE name = ANY(%s) ORDER BY txid, event_id LIMIT 1
                ) c
                WHERE (e.txid, e.id) > (c.txid, c.event_id)
            )
            """,
            [names],
        )
        return cursor.fetchone()[0]


Shares = dict[Projection, list[Position]]
Handled = dict[str, list[Position]]


def _run_batch(
    active: Sequence[Projection],
    batch_size: int,
    apply_shares: Callable[[Shares], tuple[Handled, list[ProjectionFailed]]],
) -> tuple[list[Position], Handled, list[ProjectionFailed]] | None:
    """One batch in one transaction: lock, read, apply each projection's share of the events
    after its checkpoint, advance. None when another runner holds every checkpoint."""
    with transaction.atomic():
        checkpoints = _lock_checkpoints(active)
        if not checkpoints:
            return None
        batch = positions_after(min(_position(cp) for cp in checkpoints.values()), limit=batch_size)
        now = timezone.now()
        shares = {
            projection: [event for event in batch if event > _position(checkpoint)]
            for projection in active
            if (checkpoint := checkpoints.get(projection.name)) is not None
        }
        handled, failures = apply_shares(shares)
        for name, checkpoint in checkpoints.items():
            checkpoint.last_run_at = now
            if handled[name]:
                checkpoint.txid, checkpoint.event_id = handled[name][-1]
                checkpoint.updated_at = now
        _save_checkpoints(checkpoints.values())
    return batch, handled, failures


def _apply_together(shares: Shares) -> tuple[Handled, list[ProjectionFailed]]:
    """Every projection's share, and the resolution of the letters they cover, as one
    multi-statement round trip. A failure raises: the caller rolls the batch back."""
    moving = {projection: share for projection, share in shares.items() if share}
    if moving:
        statements = [s for p, share in moving.items() for s in p.apply_statements(share)]
        statements.append(_resolve_letters_statement(moving))
        started = time.perf_counter()
        with pgtrigger.ignore(*(p.trigger_uri for p in moving)), connection.cursor() as cursor:
            # In a savepoint of its own, so that a failure leaves the transaction usable for
            # pgtrigger's reset on the way out, and the error raised is the statement's own.
            try:
                cursor.execute(
                    ";\n".join(
                        ["SAVEPOINT together", *(sql for sql, _ in statements), "RELEASE together"]
                    ),
                    [value for _, params in statements for value in params],
                )
            except DatabaseError as error:
                if not isinstance(error, OperationalError | InterfaceError):
                    cursor.execute("ROLLBACK TO SAVEPOINT together")
                raise
        metrics.batches_applied(
            {p.name: share for p, share in moving.items()}, time.perf_counter() - started
        )
    return {projection.name: share for projection, share in shares.items()}, []


def _resolve_letters_statement(shares: Shares) -> tuple[str, list]:
    # A letter still being retried holds its projection's checkpoint before its event, so an
    # event of the batch with a letter is in that projection's share: applied now.
    return (
        f"""
        UPDATE {DeadLetter._meta.db_table} SET status = %s, resolved_at = now()
        WHERE status = %s AND projection = ANY(%s) AND event_id = ANY(%s)
        """,
        [
            DeadLetter.Status.RESOLVED.value,
            DeadLetter.Status.RETRYING.value,
            [projection.name for projection in shares],
            sorted({event.event_id for share in shares.values() for event in share}),
        ],
    )


def _apply_one_by_one(shares: Shares) -> tuple[Handled, list[ProjectionFailed]]:
    """Each projection's share in its own savepoint, a failing one cornered by halving."""
    handled: Handled = {}
    failures: list[ProjectionFailed] = []
    for projection, share in shares.items():
        handled[projection.name], failure = (
            metrics.apply_batch(projection, share, apply=_apply) if share else ([], None)
        )
        if failure is not None:
            failures.append(ProjectionFailed(f"{projection.name}: {failure}"))
            failures[-1].__cause__ = failure
    return handled, failures


def _apply(
    projection: Projection, batch: list[Position]
) -> tuple[list[Position], Exception | None]:
    """Refresh for the whole batch; if that fails, halve it until the failing event is cornered.
    Returns the events handled (applied, or dead-lettered) and the error that stopped it."""
    if not batch:
        return [], None
    with pgtrigger.ignore(projection.trigger_uri):
        return _apply_part(projection, batch)


def _apply_part(
    projection: Projection, part: list[Position]
) -> tuple[list[Position], Exception | None]:
    # Each part runs in its own savepoint, so a failed part leaves no delta behind, and applying
    # a batch in halves leaves the same rows as applying it whole; the left half goes first so
    # the handled events stay a prefix of the batch. A big batch costs about twice its apply and
    # log2(size) failures.
    try:
        with transaction.atomic():
            projection.apply(part)
        _resolve_letters(projection, part)
        return part, None
    except (OperationalError, InterfaceError):
        raise  # the database went away (a restart, a lost connection): no event is to blame
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
    metrics.event_failed(projection.name)
    letter.error = f"{type(error).__name__}: {error}"
    letter.traceback = "".join(traceback.format_exception(error))
    # Runs come from every wake-up, the sweep and the retries, so attempts can pile up within
    # seconds: a brief outage must not dead-letter a good event. Only attempts that span
    # PROJECTION_DEAD_LETTER_AFTER_SECONDS count towards giving up.
    failing_for = (timezone.now() - (letter.first_failed_at or timezone.now())).total_seconds()
    letter.status = (
        DeadLetter.Status.DEAD
        if letter.attempts >= settings.PROJECTION_MAX_ATTEMPTS
        and failing_for >= settings.PROJECTION_DEAD_LETTER_AFTER_SECONDS
        else DeadLetter.Status.RETRYING
    )
    letter.save()
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


def replay_dead_letters(names: Iterable[str] | None = None) -> tuple[int, int]:
    """Apply every dead letter again, once. Returns (resolved, still failing).

    A replay holds the projection's checkpoint lock, so it never interleaves with a run or a
    rebuild of the same projection; the letter is marked resolved in the transaction that
    applies its deltas, so replaying twice does nothing the second time."""
    resolved = failing = 0
    for projection in get_projections(names):
        with transaction.atomic():
            checkpoint = _lock_checkpoint(projection, wait=True)
            before = resolved
            letters = DeadLetter.objects.select_for_update().filter(
                projection=projection.name, status=DeadLetter.Status.DEAD
            )
            for letter in letters.select_related("event").order_by("event_id"):
                try:
                    with transaction.atomic(), pgtrigger.ignore(projection.trigger_uri):
                        projection.apply([Position(letter.event.txid, letter.event_id)])
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
            if resolved > before:  # rows changed at the same position
                checkpoint.generation += 1
                checkpoint.save(update_fields=["generation"])
    return resolved, failing


def rebuild(projection: Projection, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the table as a fold of the event log, in one transaction.

    The fold sums every event's delta up to the horizon position, and that same position
    becomes the checkpoint: the events after it are applied as deltas afterwards, and none
    before it can be, so no event counts twice or never. Descriptive fields are copied from the
    current rows, which is idempotent. Readers keep seeing the old rows until the commit (MVCC),
    never an empty or half-built table. `progress(done, total)` is called when it is written."""
    with transaction.atomic():
        as_maintenance()
        checkpoint = _lock_checkpoint(projection, wait=True)
        position = horizon_position()
        with pgtrigger.ignore(projection.trigger_uri):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {projection.table}")
            rows = projection.fold(position)
        # Letters still being retried are now covered by the fold; dead ones stay for a replay.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {DeadLetter._meta.db_table} d SET status = %s, resolved_at = now()
                FROM {DomainEvent._meta.db_table} e
                WHERE e.id = d.event_id AND d.projection = %s AND d.status = %s
                  AND (e.txid, e.id) <= (%s::xid8, %s)
                """,
                [
                    DeadLetter.Status.RESOLVED,
                    projection.name,
                    DeadLetter.Status.RETRYING,
                    str(position.txid),
                    position.event_id,
                ],
            )
        checkpoint.generation += 1
        _advance(checkpoint, position)
    if progress:
        progress(rows, rows)
    return rows


# The three sources --verify compares, and what it means when one of them stands alone.
SOURCES = ("live", "log", "tables")
CULPRITS = {
    "live": "the live rows disagree with the event log and the tables",
    "log": "the event log and the tables disagree (the log's fold is the odd one)",
    "tables": "the event log and the tables disagree (the tables' recompute is the odd one)",
}


@dataclasses.dataclass
class Drift:
    """A row on which the three sources do not agree. `values` maps each column that differs to
    its value in each source (None where a source has no such row, listed in `missing`)."""

    key: object
    culprit: str | None  # the one source that disagrees with the other two; None: all differ
    missing: tuple[str, ...]
    values: dict  # column -> {source: value}

    @property
    def problem(self) -> str:
        if self.culprit is None:
            return "all three sources disagree"
        return CULPRITS[self.culprit]

    def __str__(self) -> str:
        parts = [f"missing from {', '.join(self.missing)}"] if self.missing else []
        parts += [
            f"{column}: " + " ".join(f"{source}={value!r}" for source, value in by_source.items())
            for column, by_source in self.values.items()
        ]
        return f"{self.key}: {self.problem}; {'; '.join(parts)}"


def verify(projection: Projection, *, attempts: int = 5) -> list[Drift]:
    """Compare, row by row, the live table, a fold of the event log up to the live checkpoint,
    and a recompute from the normalized tables, all read in one snapshot.

    The tables can be ahead of the checkpoint when commands commit meanwhile; then the snapshot
    is not a fair comparison, so the projection catches up and the check starts again."""
    for _ in range(attempts):
        run_projection(projection)
        drift = _compare(projection)
        if drift is not None:
            return drift
    raise RuntimeError(f"{projection.name}: the log kept moving; verify at a quieter moment")


def _compare(projection: Projection) -> list[Drift] | None:
    keys = projection.keys
    compared = projection.compared_columns
    sources = {"live": projection.table, "log": "verify_log", "tables": "verify_tables"}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        as_maintenance()
        checkpoint = ProjectionCheckpoint.objects.get(name=projection.name)
        position = Position(checkpoint.txid, checkpoint.event_id)
        # Any event after the checkpoint in this snapshot (even one the horizon still holds
        # back) may already show in the tables: not a fair comparison yet.
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {DomainEvent._meta.db_table} "
            "WHERE (txid, id) > (%s::xid8, %s))",
            [str(position.txid), position.event_id],
        )
        if cursor.fetchone()[0]:
            return None
        for scratch in ("verify_log", "verify_tables"):
            cursor.execute(
                f"CREATE TEMP TABLE {scratch} (LIKE {projection.table} INCLUDING INDEXES) "
                "ON COMMIT DROP"
            )
        projection.fold(position, into="verify_log")
        projection.recompute(into="verify_tables")
        key_list = ", ".join(keys)
        rows = ", ".join(f"to_jsonb({alias})" for alias in sources)
        joined = " ".join(
            f"LEFT JOIN {table} {alias} ON " + " AND ".join(f"{alias}.{k} = keys.{k}" for k in keys)
            for alias, table in sources.items()
        )
        differs = " OR ".join(
            f"({', '.join(f'{a}.{c}' for c in compared)}) "
            f"IS DISTINCT FROM ({', '.join(f'{b}.{c}' for c in compared)})"
            for a, b in (("live", "log"), ("log", "tables"))
        )
        missing = " OR ".join(f"{alias}.{keys[0]} IS NULL" for alias in sources)
        cursor.execute(
            f"""
            WITH keys AS (
                SELECT {key_list} FROM {projection.table} UNION SELECT {key_list} FROM verify_log
                UNION SELECT {key_list} FROM verify_tables
            )
            SELECT {rows} FROM keys {joined}
            WHERE {missing} OR {differs}
            ORDER BY {", ".join(f"keys.{k}" for k in keys)}
            """
        )
        found = cursor.fetchall()
    return [_drift(keys, compared, row) for row in found]


def _drift(keys: tuple[str, ...], compared: list[str], row) -> Drift:
    # psycopg hands jsonb from a raw cursor back as text.
    by_source = {
        source: json.loads(value) if isinstance(value, str) else value
        for source, value in zip(SOURCES, row, strict=True)
    }
    present = {source: value for source, value in by_source.items() if value is not None}
    values = {}
    for column in compared:
        seen = {source: value[column] for source, value in present.items()}
        if len(set(map(json.dumps, seen.values()))) > 1 or len(present) < 3:
            values[column] = {source: seen.get(source) for source in SOURCES}
    # The odd one out is the source whose row differs from the other two, which agree.
    signature = {
        source: json.dumps({c: value[c] for c in compared}, sort_keys=True) if value else None
        for source, value in by_source.items()
    }
    culprit = None
    for source in SOURCES:
        others = {signature[other] for other in SOURCES if other != source}
        if len(others) == 1 and signature[source] not in others:
            culprit = source
    any_row = next(iter(present.values()))
    key = tuple(any_row[k] for k in keys)
    return Drift(
        key=key[0] if len(key) == 1 else key,
        culprit=culprit,
        missing=tuple(source for source in SOURCES if by_source[source] is None),
        values={c: v for c, v in values.items() if len(set(map(json.dumps, v.values()))) > 1},
    )


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
            WITH {HORIZON_CTE}
            SELECT a.pid, EXTRACT(EPOCH FROM now() - a.xact_start), a.state, LEFT(a.query, 300)
            FROM pg_stat_activity a, horizon
            WHERE a.backend_xid IS NOT NULL
              AND a.backend_xid::text::bigint = horizon.xmin::text::bigint %% 4294967296
              AND EXISTS (SELECT 1 FROM {DomainEvent._meta.db_table} e WHERE e.txid >= horizon.xmin)
            """,
            [],
        )
        return [
            HorizonHolder(pid, float(age or 0), state, query)
            for pid, age, state, query in cursor.fetchall()
        ]
