"""Rate limits on Redis: the API's request throttles and the failed-login limits.

Each limit is a fixed-window counter: one `INCR` + `EXPIRE` in a single MULTI round trip, so
concurrent requests are counted exactly (DRF's own throttle read, appended to and re-pickled a
history list: 2,000 concurrent requests against a small limit let 721 through).

Redis down must not take the shop down (every API request used to answer 500): a limit that
cannot be counted lets the request through. The outage is logged once, and once more when Redis
answers again.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.contrib.auth import authenticate
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

from core.failopen import FailOpen, thread_client

log = logging.getLogger(__name__)


def _client(url: str) -> redis.Redis:
    # Short timeouts: a Redis that hangs must not hold every request for the default forever.
    return thread_client(url, socket_timeout=0.5, socket_connect_timeout=0.5)


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    period: int  # seconds


@dataclass(frozen=True)
class Counted:
    over: bool
    retry_after: int  # seconds until the window that is over its limit ends


def _window(limit: Limit, now: float) -> tuple[str, int]:
    """The Redis key of `limit`'s current window and the seconds until it ends."""
    index = int(now // limit.period)
    return f"ratelimit:{limit.key}:{index}", max(1, math.ceil((index + 1) * limit.period - now))


_guard = FailOpen(
    log,
    down="Rate limits are off: Redis cannot be reached",
    up="Rate limits are on again: Redis answers",
)


def _run(commands) -> list | None:
    """Run `commands(pipeline)` in one MULTI round trip; None when Redis cannot be reached."""

    def execute():
        pipeline = _client(settings.RATE_LIMIT_REDIS_URL).pipeline(transaction=True)
        commands(pipeline)
        return pipeline.execute()

    return _guard(execute)


def count(*limits: Limit, amount: int = 1) -> Counted:
    """Count one hit against each of `limits`. Over if any is past its limit; never over when
    Redis is down (fail open)."""
    now = time.time()
    windows = [_window(limit, now) for limit in limits]

    def commands(pipeline):
        for key, _ in windows:
            pipeline.incrby(key, amount)
        for (key, _), limit in zip(windows, limits, strict=True):
            pipeline.expire(key, limit.period + 1)

    results = _run(commands)
    if results is None:
        return Counted(over=False, retry_after=0)
    hits = results[: len(limits)]
    waits = [
        wait
        for count, (_, wait), limit in zip(hits, windows, limits, strict=True)
        if count > limit.limit
    ]
    return Counted(over=bool(waits), retry_after=max(waits, default=0))


def uncount(*limits: Limit) -> None:
    """Take back a hit counted a moment ago (a login that turned out not to fail)."""
    now = time.time()
    _run(lambda pipeline: [pipeline.decr(_window(limit, now)[0]) for limit in limits])


# --- the API's request throttles ---


class RedisRateThrottle(BaseThrottle):
    """DRF's rate throttle counted on Redis (see the module's docstring). Subclasses mix in one
    of DRF's throttles for the scope, the rate and the key."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        counted = count(Limit(key, self.num_requests, self.duration))
        self.retry_after = counted.retry_after
        return not counted.over

    def wait(self):
        return self.retry_after


class AnonThrottle(RedisRateThrottle, AnonRateThrottle):
    """Anonymous requests, per client IP (REMOTE_ADDR, or NUM_PROXIES from the end of
    X-Forwarded-For)."""


class UserThrottle(RedisRateThrottle, UserRateThrottle):
    """Authenticated requests, per user. (DRF's also counted anonymous requests a second time,
    by address: one count per request is enough.)"""

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


def client_ip(request) -> str:
    """The client's address as the throttles see it: REMOTE_ADDR unless NUM_PROXIES trusted
    proxies stand in front (X-Forwarded-For is the client's to write, so never trusted blindly:
    a new made-up address on each request slipped past every limit)."""
    return BaseThrottle().get_ident(request)


# --- failed logins ---


@dataclass(frozen=True)
class LoginRefused:
    """Too many failed logins for this account or from this address."""

    retry_after: int
    message = "Too many failed logins for this account or from this address. Try again later."


def login_limits(request, username: str) -> tuple[Limit, Limit]:
    period = settings.LOGIN_FAILURE_WINDOW_SECONDS
    return (
        Limit(
            f"login-failures:account:{username.casefold()}",
            settings.LOGIN_FAILURES_PER_ACCOUNT,
            period,
        ),
        Limit(f"login-failures:ip:{client_ip(request)}", settings.LOGIN_FAILURES_PER_IP, period),
    )


def authenticate_limited(request, *, username: str, password: str):
    """`authenticate()`, with failed logins limited per account and per client address: the
    user, None for wrong credentials, or a LoginRefused (the password is not even checked).

    Every attempt is counted as a failure before the password is checked and taken back when it
    was right (or refused unchecked), so concurrent guesses cannot all slip in before the first
    failure is counted."""
    limits = login_limits(request, username)
    counted = count(*limits)
    if counted.over:
        uncount(*limits)  # a refused attempt checked no password: it is not a failure
        return LoginRefused(retry_after=counted.retry_after)
    user = authenticate(request, username=username, password=password)
    if user is not None:
        uncount(*limits)
    return user


def client_scope(request) -> str:
    """Who is asking, for per-client state (idempotency keys, wait budgets)."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"anon:{request.META.get('REMOTE_ADDR', '')}"
