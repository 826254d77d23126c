"""Read replicas for the read side (issue 14): which database serves the reads of the queries.

Postgres streaming replicas (DATABASE_REPLICA_URLS) carry the summary tables, the event log and
the projection checkpoints, all replayed from the primary's WAL in commit order. So a replica
can tell by itself whether it has passed a consistency token: its checkpoints are exactly as
far as its summary rows.

- A request whose view reads through the queries (`QueryView`s, and pages marked with
  `@replica_reads`) is *pinned* to one healthy replica, chosen at random, for the whole request:
  the token wait, the ETag and the read all use that alias, so a wait never checks one server
  and reads another.
- `ReplicaRouter` sends the reads of the read models (`READ_MODELS`) of a pinned request there.
  Everything else stays on the primary: writes, commands, projections (their raw SQL and
  `select_for_update`), auth, sessions, the idempotency store, dead letters, and any read inside
  a transaction open on the primary.
- Health is cheap: each process checks a replica's replay lag at most every
  REPLICA_CHECK_SECONDS, not per request. A replica whose lag exceeds REPLICA_MAX_LAG_SECONDS
  leaves rotation until it catches up; one that cannot be reached is retried after
  REPLICA_RETRY_SECONDS. With no healthy replica, reads go to the primary. Every change of a
  replica's state is logged once.
- A pinned read that fails because its replica went away (stopped between two checks) is run
  again on the primary: a GET reads only, so running it twice is harmless, and the client sees
  no 500.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections

from readmodels import models

log = logging.getLogger(__name__)

# What the queries read: the summary tables, the checkpoints (token waits, ETags) and the
# event log (timelines, audits). Dead letters and the idempotency store are the primary's.
READ_MODELS = frozenset(
    {
        models.ProductSummary,
        models.ProductSearchTerm,
        models.OrderSummary,
        models.CustomerSummary,
        models.DailySales,
        models.CategorySummary,
        models.ProjectionCheckpoint,
        models.DomainEvent,
    }
)

OK, LAGGING, UNREACHABLE, UNKNOWN = "ok", "lagging", "unreachable", "unknown"

# Replay lag as the issue defines it: how old the last replayed transaction is, but only while
# received WAL waits to be replayed (an idle primary sends nothing, and its replica is not late).
# A replica that has replayed no transaction since it started is late since it started.
LAG_SQL = """
    SELECT CASE
        WHEN pg_last_wal_receive_lsn() IS NULL
          OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
        ELSE EXTRACT(EPOCH FROM now() - COALESCE(
            pg_last_xact_replay_timestamp(), pg_postmaster_start_time()))
    END::float8, pg_is_in_recovery()
"""

_pinned: contextvars.ContextVar[str | None] = contextvars.ContextVar("replica", default=None)


def aliases() -> list[str]:
    """The database aliases of the configured replicas (none by default)."""
    return list(settings.DATABASE_REPLICAS)


def pinned() -> str | None:
    """The replica this request reads from, or None (the primary)."""
    return _pinned.get()


@contextlib.contextmanager
def reading_from(alias: str | None) -> Iterator[None]:
    """Pin the reads of the read models to `alias` (None: the primary) within the block."""
    token = _pinned.set(alias)
    try:
        yield
    finally:
        _pinned.reset(token)


def serving_alias() -> str:
    """The alias that serves this request's reads of the read models."""
    return _pinned.get() or DEFAULT_DB_ALIAS


# --- health ---


@dataclasses.dataclass
class ReplicaState:
    alias: str
    status: str = UNKNOWN
    lag_seconds: float | None = None
    error: str = ""
    checked_at: float | None = None  # time.monotonic() of the last check; None: never

    @property
    def in_rotation(self) -> bool:
        return self.status == OK

    def due(self) -> bool:
        # time.monotonic() counts from an arbitrary point (the boot, on Linux), so "never" is
        # not a time: a state never checked is due whatever the interval.
        if self.checked_at is None:
            return True
        unreachable = self.status == UNREACHABLE
        every = settings.REPLICA_RETRY_SECONDS if unreachable else settings.REPLICA_CHECK_SECONDS
        return time.monotonic() - self.checked_at >= every


_states: dict[str, ReplicaState] = {}
_states_lock = threading.Lock()
_checking: dict[str, threading.Lock] = {}


def _state(alias: str) -> tuple[ReplicaState, threading.Lock]:
    """The replica's cached state, and the lock of whoever checks it."""
    with _states_lock:
        return _states.setdefault(alias, ReplicaState(alias)), _checking.setdefault(
            alias, threading.Lock()
        )


def forget() -> None:
    """Drop every cached state (tests; a process that changed its replicas)."""
    with _states_lock:
        _states.clear()
        _checking.clear()


def measure_lag(alias: str) -> float:
    """The replica's replay lag in seconds, asked now. Raises DatabaseError if unreachable."""
    with connections[alias].cursor() as cursor:
        cursor.execute(LAG_SQL)
        lag, in_recovery = cursor.fetchone()
    if not in_recovery:
        # Promoted, or not a replica at all: its checkpoints no longer follow the primary's.
        raise DatabaseError(f"{alias} is not in recovery: not a replica of the primary")
    return max(0.0, float(lag))


def check(alias: str) -> ReplicaState:
    """Ask the replica its lag now, update its state, and log the change if there is one."""
    try:
        lag = measure_lag(alias)
    except (DatabaseError, InterfaceError) as failure:
        connections[alias].close()
        error = (str(failure).strip().splitlines() or [type(failure).__name__])[0]
        return _update(alias, status=UNREACHABLE, lag=None, error=error)
    status = OK if lag <= settings.REPLICA_MAX_LAG_SECONDS else LAGGING
    return _update(alias, status=status, lag=lag, error="")


def _update(alias: str, *, status: str, lag: float | None, error: str) -> ReplicaState:
    state, _ = _state(alias)
    with _states_lock:
        before = state.status
        state.status, state.lag_seconds, state.error = status, lag, error
        state.checked_at = time.monotonic()
    if status != before:
        _log_change(alias, before, state)
    return state


def _log_change(alias: str, before: str, state: ReplicaState) -> None:
    if state.status == LAGGING:
        log.warning(
            "replica %s out of rotation: %.1f s behind (REPLICA_MAX_LAG_SECONDS=%s)",
            alias,
            state.lag_seconds,
            settings.REPLICA_MAX_LAG_SECONDS,
        )
    elif state.status == UNREACHABLE:
        log.warning(
            "replica %s unreachable, out of rotation; retried every %s s (%s)",
            alias,
            settings.REPLICA_RETRY_SECONDS,
            state.error,
        )
    elif before == UNKNOWN:
        log.info("replica %s in rotation (%.1f s behind)", alias, state.lag_seconds)
    else:
        log.warning("replica %s back in rotation (%.1f s behind)", alias, state.lag_seconds)


def state(alias: str) -> ReplicaState:
    """The replica's state, checked again when the last check is older than its interval.
    While one thread checks, the others use the last known state instead of queueing."""
    current, checking = _state(alias)
    if not current.due():
        return current
    if not checking.acquire(blocking=False):
        return current
    try:
        return check(alias) if current.due() else current
    finally:
        checking.release()


def choose() -> str | None:
    """A replica in rotation, at random; None when there is none (read from the primary)."""
    healthy = [alias for alias in aliases() if state(alias).in_rotation]
    return random.choice(healthy) if healthy else None


def note_failure(alias: str, error: Exception) -> None:
    """A read on `alias` failed: check it now, so an unreachable one leaves rotation at once."""
    log.info("a read on replica %s failed (%s); checking it", alias, error)
    connections[alias].close()
    check(alias)


def serving_aliases() -> list[str]:
    """Where this request's next reads may come from: its pinned replica; or, unpinned (a POST
    that waits before redirecting to a page), every replica in rotation, or the primary when
    none is."""
    if _pinned.get():
        return [_pinned.get()]
    return [alias for alias in aliases() if state(alias).in_rotation] or [DEFAULT_DB_ALIAS]


# --- routing ---


class ReplicaRouter:
    """Reads of the read models go to the request's pinned replica; everything else, and every
    read inside a transaction open on the primary, to the primary."""

    def db_for_read(self, model, **hints):
        alias = _pinned.get()
        if alias is None or model not in READ_MODELS:
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None  # a transaction on the primary reads what it is about to write
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replicas hold the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return None if db not in aliases() else False


def replica_reads(view: Callable) -> Callable:
    """Mark a page view whose GETs read through the queries only: served from a replica."""
    view.replica_reads = True
    return view


def _reads_from_replica(view_func) -> bool:
    view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
    return bool(
        getattr(view_func, "replica_reads", False) or getattr(view_class, "replica_reads", False)
    )


class ReplicaReadsMiddleware:
    """Pins the GETs of the views that read through the queries to a healthy replica, and runs
    such a request again on the primary when its replica fails under it. Last in MIDDLEWARE,
    so its process_exception comes first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _pinned.set(None)
        try:
            return self.get_response(request)
        finally:
            _pinned.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in ("GET", "HEAD") and aliases() and _reads_from_replica(view_func):
            _pinned.set(choose())
        return None

    def process_exception(self, request, exception):
        alias = _pinned.get()
        if alias is None or not isinstance(exception, OperationalError | InterfaceError):
            return None
        note_failure(alias, exception)
        _pinned.set(None)
        match = request.resolver_match
        return match.func(request, *match.args, **match.kwargs)


# --- status ---


@dataclasses.dataclass(frozen=True)
class ReplicaStatus:
    alias: str
    status: str  # ok, lagging, unreachable
    lag_seconds: float | None
    in_rotation: bool
    error: str


def report() -> list[ReplicaStatus]:
    """Every replica's state for projection_status, /healthz, /api/projections/ and the staff
    dashboard: checked again when due, as for routing, so a monitor polling /healthz neither
    queries each replica per poll nor waits for an unreachable one's connect timeout."""
    return [
        ReplicaStatus(s.alias, s.status, s.lag_seconds, s.in_rotation, s.error)
        for s in (state(alias) for alias in aliases())
    ]
