"""Redis is a helper, never a point of failure: the actions of the helpers that use it (rate
limits, projection wake-ups) fail open, and an outage is logged once when it starts and once
when it ends, not on every request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import redis
from kombu.exceptions import OperationalError as BrokerError

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
        except (redis.RedisError, BrokerError, OSError) as error:
            if not self.down:
                self.log.log(self.level, "%s (%s)", self.down_message, error)
            self.down = True
            return default
        if self.down:
            self.log.warning(self.up_message)
            self.down = False
        return result
