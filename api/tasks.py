"""Housekeeping on a beat schedule: stores that would otherwise only grow."""

from importlib import import_module

from celery import shared_task
from django.conf import settings

from api import idempotency


@shared_task
def purge_expired() -> int:
    """Idempotency keys past their TTL, and expired sessions (carts live in them), as
    `manage.py clearsessions` would. Returns how many keys went."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return idempotency.purge_expired()
