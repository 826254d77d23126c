"""Celery tasks. Commands wake run_projections after commit; beat runs it every few seconds as
a safety net (events committed while Redis was down are still projected)."""

import functools

import redis
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.devservices import redis_client_url
from readmodels import engine
from readmodels.models import ProjectionCheckpoint

# Set while a run is queued and has not started yet. The beat sweep covers a wake-up lost while
# the flag stood (a worker that died holding the message), so the flag need not outlive it.
RUN_QUEUED = "readmodels:projection-run-queued"
RUN_QUEUED_TIMEOUT = 10


@functools.cache
def _redis() -> redis.Redis:
    # A plain client on the cache's database: every commit sets the flag, and SET NX costs a
    # third of cache.add (no key versioning, no pickling).
    return redis.Redis.from_url(redis_client_url(settings.CELERY_BROKER_URL, db=1))


def wake_projections() -> None:
    """Queue a projection run, unless one is queued already: a run takes every event committed
    before it starts, so commits made while it waits need no run of their own."""
    if _redis().set(RUN_QUEUED, 1, nx=True, ex=RUN_QUEUED_TIMEOUT):
        run_projections.delay()


def run_queued() -> bool:
    return bool(_redis().exists(RUN_QUEUED))


@shared_task(
    acks_late=True,
    autoretry_for=(engine.ProjectionFailed,),
    retry_backoff=1,
    retry_backoff_max=settings.PROJECTION_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.PROJECTION_MAX_ATTEMPTS,
)
def run_projections():
    _redis().delete(RUN_QUEUED)  # before reading: a commit from now on queues the next run
    return engine.run_all()


@shared_task(acks_late=True)
def rebuild_projections(names=None):
    """The admin's "rebuild" action, run in the background; it notes on each checkpoint when
    the rebuild started and finished."""
    rebuilt = {}
    for projection in engine.get_projections(names):
        checkpoint = ProjectionCheckpoint.objects.filter(name=projection.name)
        checkpoint.update(rebuild_started_at=timezone.now(), rebuild_finished_at=None)
        rebuilt[projection.name] = engine.rebuild(projection)
        checkpoint.update(rebuild_finished_at=timezone.now())
    return rebuilt
