"""Shared fixtures. Everything runs against the real Postgres and Redis that `make test`
starts (or DATABASE_URL / REDIS_URL); the `worker` fixture is a real Celery worker."""

import contextlib
import itertools
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pgtrigger
import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun, task_prerun
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import TransactionTestCase

from catalog import commands as catalog
from config import celery_app, devservices
from core import eventlog
from core.failopen import redis_client_url
from orders import commands as orders
from readmodels import tasks
from readmodels.models import TRUNCATE_GUARDS, DomainEvent
from tests.replica_fixtures import replica, streaming_replica  # noqa: F401 (fixtures)

_names = itertools.count(1)

_flush = TransactionTestCase._fixture_teardown


def _flush_past_the_truncate_guards(self):
    # Between transactional tests Django empties every table with TRUNCATE; the event log and
    # the summary tables refuse it (readmodels.models.no_truncate) unless told otherwise.
    with pgtrigger.ignore(*TRUNCATE_GUARDS):
        _flush(self)


TransactionTestCase._fixture_teardown = _flush_past_the_truncate_guards


def wait_until(condition, *, timeout: float = 15.0, interval: float = 0.02):
    """Poll `condition` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)


class _Activity:
    """Counts tasks the worker started and finished, to tell when it is idle."""

    def __init__(self):
        self.started = self.finished = 0
        task_prerun.connect(self._start, weak=False)
        task_postrun.connect(self._finish, weak=False)

    def _start(self, **kwargs):
        self.started += 1

    def _finish(self, **kwargs):
        self.finished += 1

    def idle(self) -> bool:
        with celery_app.connection_for_write() as conn:
            queued = conn.default_channel.client.llen(celery_app.conf.task_default_queue)
        return queued == 0 and self.finished >= self.started


_worker_activity: _Activity | None = None


@pytest.fixture(scope="session")
def celery_worker_thread():
    """A real Celery worker consuming from the real Redis broker, in a thread of this process
    (so it uses the test database). Started once per session, by the first test that needs it."""
    global _worker_activity
    _worker_activity = _Activity()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING") as w:
        yield w


@pytest.fixture(autouse=True)
def _worker_only_where_asked(request, monkeypatch):
    """The session's worker thread must not project behind the back of tests that drive the
    engine themselves (or have no database), so only tests that ask for `worker` wake it.
    After a worker test, it must be idle before the flush, or the flush and a projection lock
    tables in opposite orders. (pytest-django's database fixtures are set up before this one,
    so torn down after it.)"""
    if "worker" not in request.fixturenames:
        monkeypatch.setattr(eventlog, "_announce_commit", lambda: None)
    yield
    tasks.waker.flush()  # a wake-up still due would queue a run after the idle check
    if _worker_activity is not None:
        wait_until(_worker_activity.idle, timeout=30)


@pytest.fixture
def worker(celery_worker_thread, transactional_db):
    """Tests through the real path commit their transactions, so they need transactional_db.
    Its flush is torn down right after this fixture, so the worker is made idle here first."""
    tasks._redis().delete(tasks.RUN_QUEUED)
    yield celery_worker_thread
    tasks.waker.flush()
    wait_until(_worker_activity.idle, timeout=30)


# What shop staff are given: every staff command's permission (see docs/operations.md, "Security").
STAFF_PERMISSIONS = [
    "catalog.add_category",
    "catalog.add_product",
    "catalog.change_product",
    "orders.change_order",
]


def grant(user, *permissions: str):
    user.user_permissions.add(
        *[
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in (permission.split(".") for permission in permissions)
        ]
    )
    return get_user_model().objects.get(pk=user.pk)  # has_perm caches: a fresh object


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_user("staffer", "staff@example.com", "pw", is_staff=True)
    return grant(user, *STAFF_PERMISSIONS)


@pytest.fixture
def make_customer(db):
    def make(name: str | None = None):
        name = name or f"customer{next(_names)}"
        result = orders.register_customer(
            username=name,
            email=f"{name}@example.com",
            password="a-long-Passphrase-7",
            display_name=name.title(),
        )
        return get_user_model().objects.get(customer__pk=result.id)

    return make


@pytest.fixture
def customer(make_customer):
    return make_customer()


@pytest.fixture
def category(staff):
    catalog.create_category(actor=staff, name="Coffee")
    return "coffee"


@pytest.fixture
def make_product(staff, category):
    def make(sku: str | None = None, *, price="10.00", stock=100, name=None):
        sku = sku or f"SKU-{next(_names)}"
        catalog.create_product(
            actor=staff,
            sku=sku,
            name=name or f"Product {sku}",
            category=category,
            price=price,
            stock=stock,
        )
        return sku

    return make


def event_count() -> int:
    return DomainEvent.objects.count()


@pytest.fixture
def own_redis():
    """A real Redis of the test's own (database 1's URL in `.url`), which the test can stop and
    start again without touching the broker the other tests use."""
    datadir = Path(tempfile.mkdtemp(prefix="redis-", dir="/tmp"))  # short: a socket path
    stack = contextlib.ExitStack()

    def start():
        url = stack.enter_context(devservices.embedded_redis(datadir, for_tests=True))
        return redis_client_url(url, db=1)

    server = SimpleNamespace(url=start(), stop=stack.close, start=start)
    yield server
    stack.close()
    shutil.rmtree(datadir, ignore_errors=True)
