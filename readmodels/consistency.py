"""Read your writes: wait, bounded, until projections have applied a command's events.

Waiting holds a web thread, so it is bounded three ways (issue 12 item 2):
- a token beyond the head of the event log can never be reached: `beyond_head` lets the API
  refuse it at once instead of holding a thread for the whole wait;
- each client has a budget of waiting per minute (WAIT_BUDGET_MS_PER_MINUTE), shared by every
  web process through the cache;
- each process lets at most WAIT_SLOTS requests wait at once; the others answer at once, so
  liveness probes and plain requests always find a free thread.
Polling backs off (POLL_FIRST_SECONDS doubling up to POLL_MAX_SECONDS), so a 5 s wait costs
about a hundred small queries, not several hundred.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from core.eventlog import Position
from readmodels import replicas
from readmodels.models import DomainEvent, ProjectionCheckpoint
from readmodels.projections import get_projections

POLL_FIRST_SECONDS = 0.005
POLL_MAX_SECONDS = 0.05

log = logging.getLogger(__name__)


def has_passed(
    position: Position, projections: Iterable[str] | None = None, *, using: str | None = None
) -> bool:
    """Whether the projections have applied `position` on the database that serves this
    request's reads (its replica, when it is pinned to one), or on `using`."""
    names = [p.name for p in get_projections(projections)]
    reached = ProjectionCheckpoint.objects.using(using or replicas.serving_alias())
    reached = list(reached.filter(name__in=names).values_list("txid", "event_id"))
    return len(reached) == len(names) and all(Position(*r) >= position for r in reached)


def _passed_where_read(position: Position, projections: list[str]) -> bool:
    """`has_passed` where the next read may come from: the pinned replica; unpinned (a POST
    that waits before redirecting to a page, which any replica may serve), every replica in
    rotation. A replica that fails to answer leaves rotation and is not waited for."""
    if replicas.pinned():
        return has_passed(position, projections)
    for alias in replicas.serving_aliases():
        try:
            if not has_passed(position, projections, using=alias):
                return False
        except DatabaseError as error:
            if alias == DEFAULT_DB_ALIAS:
                raise
            replicas.note_failure(alias, error)
    return True


def beyond_head(position: Position) -> bool:
    """True when no committed event is at or after `position`: no command handed it out, and
    no projection will ever reach it. (A real token names a committed event, so it is never
    beyond the head.)"""
    last = head()
    return last is None or position > last


def head() -> Position | None:
    """The position of the last committed event, on the primary (a replica's head may be behind
    a token the primary handed out); None while the log is empty."""
    events = DomainEvent.objects.using(DEFAULT_DB_ALIAS)
    last = events.order_by("-txid", "-id").values_list("txid", "id").first()
    return Position(*last) if last else None


def wait_for(
    token: Position | str | None, projections: Iterable[str] | None = None, timeout: float = 2.0
) -> bool:
    """True once every named projection (all by default) has applied the event at `token`
    where this request's reads come from (its replica; unpinned, every replica in rotation);
    False if `timeout` seconds pass first. A None token (a command that changed nothing) has
    nothing to wait for. Raises ValueError for a malformed token."""
    if token is None:
        return True
    position = token if isinstance(token, Position) else Position.parse(token)
    projections = list(projections or [])
    deadline = time.monotonic() + timeout
    pause = POLL_FIRST_SECONDS
    while not _passed_where_read(position, projections):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, POLL_MAX_SECONDS)
    return True


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _wait_slots() -> threading.BoundedSemaphore:
    # Per process; keyed by the setting so a test that changes it gets its own.
    with _slots_lock:
        return _slots.setdefault(
            settings.WAIT_SLOTS, threading.BoundedSemaphore(settings.WAIT_SLOTS)
        )


def wait_as(
    client: str, position: Position, projections: Iterable[str] | None, timeout: float
) -> bool:
    """`wait_for`, within this process's wait slots and `client`'s budget of waiting; the
    part of the budget a wait did not use goes back."""
    slots = _wait_slots()
    if timeout <= 0 or not slots.acquire(blocking=False):
        return False
    try:
        key = f"wait-budget:{client}:{budget_window()}"
        granted = _take_budget(key, timeout)
        if granted <= 0:
            return False
        started = time.monotonic()
        reached = wait_for(position, projections, timeout=granted)
        _give_back(key, granted - (time.monotonic() - started))
        return reached
    finally:
        slots.release()


def budget_window() -> int:
    """The minute a wait's budget is counted in."""
    return int(time.time() // 60)


def _take_budget(key: str, wanted: float) -> float:
    wanted_ms = int(wanted * 1000)
    try:
        cache.add(key, 0, timeout=120)
        spent = cache.incr(key, wanted_ms)
    except Exception:  # the cache is down: the per-process slots still bound the waiting
        log.warning("wait budget unavailable; allowing the wait", exc_info=True)
        return wanted
    left_ms = settings.WAIT_BUDGET_MS_PER_MINUTE - (spent - wanted_ms)
    if left_ms < wanted_ms:  # what this request cannot have stays unspent
        _give_back(key, (wanted_ms - max(0, left_ms)) / 1000)
    return max(0, min(wanted_ms, left_ms)) / 1000


def _give_back(key: str, seconds: float) -> None:
    if seconds > 0:
        with contextlib.suppress(Exception):
            cache.decr(key, int(seconds * 1000))
