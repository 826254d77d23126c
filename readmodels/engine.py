"""The projection engine's run: apply new events to every projection, and replay dead letters.
(Rebuilding and verifying a table is readmodels.rebuild; how far behind each projection is,
readmodels.status.)

Correctness rests on three things:
- events are read in (txid, id) order below the pg_snapshot_xmin horizon (readmodels.log), so
  no event is skipped when transactions commit out of id order;
- a batch's summary writes and its checkpoint advance commit in one transaction;
- one runner per projection: its checkpoint row is locked FOR UPDATE SKIP LOCKED
  (readmodels.checkpoints), so a second runner leaves at once instead of waiting or doing the
  work twice.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterable, Sequence

import pgtrigger
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from core.eventlog import Position
from readmodels import checkpoints, metrics
from readmodels.models import DeadLetter, DomainEvent, ProjectionCheckpoint
from readmodels.projections import Projection, get_projections

log = logging.getLogger(__name__)


class ProjectionFailed(Exception):
    """A projector could not apply an event; it will be retried (and dead-lettered in the end)."""

    def __init__(self, projection: str, error: Exception):
        super().__init__(f"{projection}: {error}")
        self.projection = projection


def run_projection(projection: Projection, *, batch_size: int | None = None) -> int:
    """Apply every event that is ready to one projection; see run_all."""
    return run_all([projection.name], batch_size=batch_size)[projection.name]


def run_all(names: Iterable[str] | None = None, *, batch_size: int | None = None) -> dict[str, int]:
    """Apply every event that is ready, batch by batch, to every projection (all by default).
    Returns how many events each applied: 0 for one that another runner holds.

    A batch is one transaction for all the projections it moves, in four round trips however
    many projections there are: one statement claims their checkpoints (skipping those another
    runner holds), one reads the events after them, one applies every projection's share, and
    one advances the checkpoints; a pass with nothing to apply is the first two alone. (A round
    trip, not the SQL, is what a busy host makes expensive: each waits for the scheduler
    twice.) If the shares fail together, the batch is rolled back
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
        failed = {failure.projection for failure in failures}
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
    """One batch in one transaction: claim the checkpoints and read the events after them,
    apply each projection's share, advance. None when another runner holds every checkpoint."""
    with transaction.atomic():
        now = timezone.now()
        claimed, batch = checkpoints.claim([p.name for p in active], limit=batch_size, now=now)
        if not claimed:
            return None
        shares = {
            projection: [event for event in batch if event > at]
            for projection in active
            if (at := claimed.get(projection.name)) is not None
        }
        handled, failures = apply_shares(shares)
        checkpoints.moved({name: events[-1] for name, events in handled.items() if events}, now=now)
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
            failures.append(ProjectionFailed(projection.name, failure))
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
        with connection.cursor() as cursor:
            cursor.execute(*_resolve_letters_statement({projection: part}))
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


def replay_dead_letters(names: Iterable[str] | None = None) -> tuple[int, int]:
    """Apply every dead letter again, once. Returns (resolved, still failing).

    A replay holds the projection's checkpoint lock, so it never interleaves with a run or a
    rebuild of the same projection; the letter is marked resolved in the transaction that
    applies its deltas, so replaying twice does nothing the second time."""
    resolved = failing = 0
    for projection in get_projections(names):
        with transaction.atomic():
            checkpoint = checkpoints.lock(projection.name, wait=True)
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
