"""Celery tasks. Commands wake run_projections after commit; beat runs sweep_projections every
few seconds as a safety net (events committed while Redis was down are still projected).

Runs are coalesced. A commit queues a run only when none is queued or draining (a Redis flag,
SET NX). The run drains: it applies what is ready, and starts its next pass
PROJECTION_COALESCE_SECONDS after the last one started, so that the commits arriving meanwhile
share it, and goes on until a pass finds nothing (and no committed event waits behind a
transaction still open).
Only then does it clear the flag, and it looks once more: a commit made before the flag was
cleared is seen by that last look, and one made after it queues the next run. So a busy shop
pays one pass per window instead of one run per order, and the lag stays about one window.

Redis is a helper, never a point of failure: when it is down, the wake-up is skipped (logged
once) and the beat sweep projects the events once it is back.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

import redis
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from core.failopen import FailOpen, redis_client_url, thread_client
from readmodels import engine, rebuild
from readmodels.models import ProjectionCheckpoint

log = logging.getLogger(__name__)

# Set while a run is queued or draining, to the time it was set. It expires on its own after
# PROJECTION_RUN_FLAG_SECONDS, and the draining run renews it after each pass, so a worker that
# died holding it (SIGKILL, a lost host) delays the next wake-up by at most that long; the beat
# sweep runs once it has expired. projection_status and /api/projections/ show its age.
RUN_QUEUED = "readmodels:projection-run-queued"
RUN_QUEUED_TIMEOUT = settings.PROJECTION_RUN_FLAG_SECONDS


def _redis() -> redis.Redis:
    # A plain client on the cache's database: every commit sets the flag, and SET NX costs a
    # third of cache.add (no key versioning, no pickling).
    return thread_client(
        redis_client_url(settings.CELERY_BROKER_URL, db=1),
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
    )


# Wake-ups skip Redis while it is down (logged once): the beat sweep projects meanwhile.
_fail_open = FailOpen(
    log,
    down="Redis unreachable, projections wait for the sweep",
    up="Redis reachable again",
    level=logging.WARNING,
)


def wake_projections() -> None:
    """Queue a projection run, unless one is queued or draining already."""

    def wake():
        if _redis().set(RUN_QUEUED, time.time(), nx=True, px=int(RUN_QUEUED_TIMEOUT * 1000)):
            run_projections.delay()

    _fail_open(wake)


class Waker:
    """Wakes the projections from a thread of the process's own, after the commits that asked.

    A commit only notes that a wake-up is due and returns: the Redis round trip leaves the
    command's request, and the commits of one process within `delay` seconds share one
    wake-up. Delaying a wake-up is always safe (it still comes after every commit it covers);
    skipping one is not, so every note the thread takes is followed by a wake-up. `flush()`
    does a due wake-up at once and waits for one in progress: at exit, and wherever something
    must see the run queued (the tests, before they empty the tables). A process that dies
    between a commit and its wake-up leaves the event to the beat sweep, as a wake-up lost
    while Redis is down does."""

    def __init__(self, wake: Callable[[], None], *, delay: float):
        self.wake, self.delay = wake, delay
        self._reset()
        # A forked child (gunicorn's and Celery's workers) inherits no thread, and may inherit
        # a lock some other thread held at the fork.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._due = threading.Event()
        self._waking = threading.Lock()  # held while a wake-up runs
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None

    def note(self) -> None:
        """A commit recorded events: a wake-up is due."""
        self._due.set()
        if self._thread is None:
            with self._starting:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="projection-waker", daemon=True
                    )
                    self._thread.start()

    def flush(self) -> None:
        with self._waking:
            if self._due.is_set():
                self._due.clear()
                self.wake()

    def _run(self) -> None:
        while True:
            self._due.wait()
            time.sleep(self.delay)  # the commits of the next moment share this wake-up
            try:
                self.flush()
            except Exception:  # the thread outlives any one failure: the next commit wakes
                log.exception("projection wake-up failed")


# 20 ms: a fifth of the default coalescing window, so the lag it adds stays small beside it.
waker = Waker(wake_projections, delay=0.02)
atexit.register(waker.flush)  # a process that ends cleanly (gunicorn, a script) leaves none due


def wake_on_commit(sender, **kwargs) -> None:
    """Receiver of core.eventlog.events_committed (connected in readmodels/apps.py)."""
    waker.note()


def run_queued() -> bool:
    return bool(_fail_open(lambda: _redis().exists(RUN_QUEUED), default=False))


def run_flag() -> tuple[float, float] | None:
    """(seconds since the queued-run flag was set, seconds until it expires), or None when no
    run is queued or draining (or Redis cannot say)."""

    def read():
        set_at, expires_in_ms = _redis().pipeline().get(RUN_QUEUED).pttl(RUN_QUEUED).execute()
        if set_at is None or expires_in_ms < 0:
            return None
        return max(0.0, time.time() - float(set_at)), expires_in_ms / 1000

    return _fail_open(read)


@shared_task(
    acks_late=True,
    # A failing event, or a database that is restarting: retried with the same backoff.
    autoretry_for=(engine.ProjectionFailed, OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=settings.PROJECTION_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.PROJECTION_MAX_ATTEMPTS,
)
def run_projections():
    applied = {}
    deadline = time.monotonic() + settings.PROJECTION_DRAIN_SECONDS
    try:
        while True:
            started = time.monotonic()
            passed = engine.run_all()
            for name, count in passed.items():
                applied[name] = applied.get(name, 0) + count
            if time.monotonic() > deadline:
                break
            # A pass that found nothing ends the drain, unless events wait behind a transaction
            # still open: the drain takes them as soon as it ends, with no new run to queue.
            if not any(passed.values()) and not engine.events_waiting():
                break
            # Still draining: the flag lives on with this run, and dies soon after it.
            _fail_open(lambda: _redis().pexpire(RUN_QUEUED, int(RUN_QUEUED_TIMEOUT * 1000)))
            # Passes start at most one window apart: a pass that took the window (a busy host)
            # is followed at once, so the lag stays about one window plus one pass.
            time.sleep(max(0.0, started + settings.PROJECTION_COALESCE_SECONDS - time.monotonic()))
    finally:
        _fail_open(lambda: _redis().delete(RUN_QUEUED))
    for name, count in engine.run_all().items():  # the last look, after the flag is cleared
        applied[name] = applied.get(name, 0) + count
    return applied


@shared_task(acks_late=True)
def sweep_projections():
    """Beat's safety net, for events that no wake-up announced (Redis was down, a worker died
    before its run). It leaves at once while a run is queued or draining: two runners would
    take the checkpoints from each other pass after pass, and the one left with none would end
    its drain and clear the flag under the other. A failure is already noted on its event; the
    next sweep tries again."""
    if run_queued():
        return {}
    try:
        return engine.run_all()
    except engine.ProjectionFailed:
        return {}


@shared_task(acks_late=True)
def rebuild_projections(names=None):
    """The admin's "rebuild" action, run in the background; it notes on each checkpoint when
    the rebuild started and finished."""
    rebuilt = {}
    for projection in engine.get_projections(names):
        checkpoint = ProjectionCheckpoint.objects.filter(name=projection.name)
        checkpoint.update(rebuild_started_at=timezone.now(), rebuild_finished_at=None)
        rebuilt[projection.name] = rebuild.rebuild(projection)
        checkpoint.update(rebuild_finished_at=timezone.now())
    return rebuilt
