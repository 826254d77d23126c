"""Many workers (issue 14): the projections run in several Celery worker processes, as on
several hosts. Under a concurrent order load every event is applied exactly once; a worker
killed with SIGKILL in the middle of a batch holds nothing, and projections recover within the
queued-run flag's lifetime (PROJECTION_RUN_FLAG_SECONDS), measured here."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from config import celery_app
from config.devservices import BASE_DIR
from core import eventlog
from core.eventlog import Position
from orders import commands as orders
from readmodels import engine, rebuild, tasks
from readmodels.models import DomainEvent, ProjectionCheckpoint
from readmodels.projections import get_projections
from tests.conftest import wait_until
from tests.helpers import ADDRESS, in_own_connection

pytestmark = pytest.mark.django_db(transaction=True)

# The workers of these tests consume their own queue: the session's in-process worker thread
# (tests/conftest.py) consumes the default one and must not take their runs.
QUEUE = "scaleout"
_real_wake = eventlog._announce_commit  # before the suite's autouse fixture turns it off


class Workers:
    """Real `celery worker` processes on the test database, each with its own metrics folder."""

    def __init__(self):
        self.processes: dict[str, subprocess.Popen] = {}
        self.folders: dict[str, Path] = {}
        database = urlsplit(os.environ["DATABASE_URL"])
        self.env = {
            **os.environ,
            "DATABASE_URL": database._replace(path="/" + connection.settings_dict["NAME"]).geturl(),
            "LOG_LEVEL": "WARNING",
        }

    def start(self, name: str) -> str:
        folder = Path(tempfile.mkdtemp(prefix=f"metrics-{name}-"))
        self.folders[name] = folder
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
             "-Q", QUEUE, "-n", f"{name}@%h", "--loglevel=WARNING",
             "--without-heartbeat", "--without-mingle", "--without-gossip"],
            # Named in pg_stat_activity (libpq's PGAPPNAME): a test can tell whose session waits.
            cwd=BASE_DIR,
            env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PGAPPNAME": name},
        )  # fmt: skip
        node = f"{name}@{socket.gethostname()}"
        wait_until(lambda: celery_app.control.ping(destination=[node], timeout=0.5), timeout=60)
        return name

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait(10)

    def applied(self, name: str, projection: str) -> float:
        """Events the worker's runs got past for `projection` (its Prometheus counter)."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.folders[name]))
        value = registry.get_sample_value(
            "shop_projection_events_applied_total", {"projection": projection}
        )
        return value or 0.0

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        for folder in self.folders.values():
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def workers(transactional_db, monkeypatch):
    """Commits wake these workers through the real flag; their runs go to their queue."""
    monkeypatch.setattr(eventlog, "_announce_commit", _real_wake)
    monkeypatch.setattr(
        tasks.run_projections, "delay", lambda: tasks.run_projections.apply_async(queue=QUEUE)
    )
    tasks._redis().delete(tasks.RUN_QUEUED)
    pool = Workers()
    yield pool
    pool.stop()  # before the flush, which would otherwise wait for their locks
    tasks._redis().delete(tasks.RUN_QUEUED)


def checkpoints_passed(position: Position) -> bool:
    names = [p.name for p in get_projections()]
    reached = ProjectionCheckpoint.objects.filter(name__in=names).values_list("txid", "event_id")
    return len(reached) == len(names) and all(Position(*r) >= position for r in reached)


def head() -> Position:
    event = DomainEvent.objects.order_by("-txid", "-id").first()
    return Position(event.txid, event.id)


def worker_waiting_for_a_lock(conn) -> str | None:
    conn.execute("SELECT pg_stat_clear_snapshot()")  # activity is a snapshot per transaction
    row = conn.execute(
        "SELECT application_name FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return row[0] if row else None


def test_several_workers_apply_every_event_exactly_once(workers, make_customer, make_product):
    skus = [make_product(stock=100_000) for _ in range(4)]
    customers = [make_customer() for _ in range(4)]
    engine.run_all()  # the set-up's events: the workers see only the load's
    before = DomainEvent.objects.count()
    names = [workers.start(f"scaleout{i}") for i in range(3)]

    def shop(customer, offset):
        for n in range(15):
            lines = [{"sku": skus[(offset + n) % 4], "quantity": 1 + n % 3}]
            if n % 2:
                lines.append({"sku": skus[(offset + n + 1) % 4], "quantity": 1})
            orders.place_order(actor=customer, lines=lines, shipping_address=ADDRESS)
            # As the beat sweep of several hosts would: runs that compete with the wake-ups.
            tasks.run_projections.apply_async(queue=QUEUE)

    threads = [
        threading.Thread(target=in_own_connection, args=(lambda c=c, i=i: shop(c, i),))
        for i, c in enumerate(customers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    load = DomainEvent.objects.count() - before
    assert load == 4 * 15
    last = head()
    wait_until(lambda: checkpoints_passed(last), timeout=60)

    for projection in get_projections():
        applied = [workers.applied(name, projection.name) for name in names]
        assert sum(applied) == load, (projection.name, applied)  # none twice, none skipped
        assert rebuild.verify(projection) == [], projection.name


def test_a_worker_killed_mid_batch_holds_nothing_and_projections_recover_in_bounded_time(
    workers, make_customer, make_product, record_property
):
    sku = make_product(stock=100_000)
    customer = make_customer()
    engine.run_all()
    workers.start("one")
    workers.start("other")

    # The test holds off writes to the product summaries, so the batch of whichever worker
    # takes the order stops in the middle, with its checkpoints locked and the run flag set.
    settings_dict = connection.settings_dict
    blocker = psycopg.connect(
        host=settings_dict["HOST"], user=settings_dict["USER"], dbname=settings_dict["NAME"]
    )
    try:
        # A table lock takes no transaction id, so it does not hold the projections' horizon
        # back (a row lock would: the order's event would not be ready to project).
        blocker.execute("LOCK TABLE readmodels_productsummary IN SHARE MODE")
        first = orders.place_order(
            actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
        )
        doomed = wait_until(lambda: worker_waiting_for_a_lock(blocker))
        workers.kill(doomed)
        killed_at = time.monotonic()
        flag = tasks.run_flag()
        assert flag is not None and flag[1] <= tasks.RUN_QUEUED_TIMEOUT  # visible, bounded
    finally:
        blocker.rollback()  # the dead worker's session then ends its transaction: no lock stays
        blocker.close()

    # Orders keep coming; the first wake-up after the flag expires reaches the survivor.
    token = Position.parse(first.consistency_token)
    while not checkpoints_passed(token):
        assert time.monotonic() - killed_at < tasks.RUN_QUEUED_TIMEOUT + 10, "not recovered"
        orders.place_order(
            actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
        )
        time.sleep(0.1)
    recovery = time.monotonic() - killed_at
    record_property("recovery_seconds", round(recovery, 2))
    print(
        f"\nrecovered {recovery:.2f} s after SIGKILL (flag lifetime {tasks.RUN_QUEUED_TIMEOUT} s)"
    )
    assert recovery <= tasks.RUN_QUEUED_TIMEOUT + 1.5

    last = head()
    wait_until(lambda: checkpoints_passed(last), timeout=30)
    for projection in get_projections():
        assert rebuild.verify(projection) == [], projection.name  # the killed batch: once
