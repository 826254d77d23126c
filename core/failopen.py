"""Redis is a helper, never a point of failure: the actions of the helpers that use it (rate
limits, projection wake-ups) fail open, and an outage is logged once when it starts and once
when it ends, not on every request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis

T = TypeVar("T")


class FailOpen:
    """Call `guard(action, default)`: the action's result, or `default` while Redis cannot be
    reached."""

    def __init__(self, log: logging.Logger, *, down: str, up: str, level: int = logging.ERROR):
        self.log, self.down_message, self.up_message, self.level = log, down, up, level
        self.down = False

    def __call__(self, action: Callable[[], T], default: T | None = None) -> T | None:
        try:
            result = action()
        except Exception as error:
            # Not only RedisError: a connection torn down under a thread surfaces from the
            # client as an AttributeError or a ValueError, and a helper must never be a 500.
            if not self.down:
                self.log.log(self.level, "%s (%s)", self.down_message, error)
            self.down = True
            return default
        if self.down:
            self.log.warning(self.up_message)
            self.down = False
        return result


_clients = threading.local()


def thread_client(url: str, **options) -> redis.Redis:
    """A Redis client of this thread's own for `url`: gunicorn's threads never share a
    connection (a shared client's connections were seen torn down under a concurrent thread)."""
    clients = _clients.__dict__.setdefault("by_url", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(url, **options)
    return clients[url]


def redis_client_url(broker_url: str, *, db: int) -> str:
    """The broker's Redis as redis-py spells it (kombu says redis+socket://, redis-py unix://),
    with another database number."""
    if broker_url.startswith("redis+socket://"):
        return f"unix://{broker_url.removeprefix('redis+socket://')}?db={db}"
    return urlunsplit(urlsplit(broker_url)._replace(path=f"/{db}"))
