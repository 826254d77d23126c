"""Celery tasks. Commands wake run_projections after commit; beat runs it every few seconds as
a safety net (events committed while Redis was down are still projected)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from readmodels import engine
from readmodels.models import ProjectionCheckpoint


@shared_task(
    acks_late=True,
    autoretry_for=(engine.ProjectionFailed,),
    retry_backoff=1,
    retry_backoff_max=settings.PROJECTION_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.PROJECTION_MAX_ATTEMPTS,
)
def run_projections():
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
