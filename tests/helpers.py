"""Assertions shared by the suites."""

import contextlib
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from catalog.models import Category, Product
from orders.address import ShippingAddress
from orders.models import Customer, Order, OrderLine
from readmodels.models import DomainEvent

# Where the tests' orders ship (place_order needs an address), and the same as the API's JSON.
ADDRESS = ShippingAddress(
    name="Ada Lovelace",
    line1="Unter den Linden 5",
    postal_code="10117",
    city="Berlin",
    country="DE",
)
ADDRESS_JSON = ADDRESS.as_dict()

WRITE_MODELS = [Category, Product, Customer, Order, OrderLine, DomainEvent]


def snapshot() -> dict:
    """Every row of every write model, the event log and the users."""
    models = [*WRITE_MODELS, get_user_model()]
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


def assert_refused(error_type, code: str, action, *, field: str | None = None):
    """`action` raises `error_type` with `code` (naming `field`, if given) and changes nothing:
    no row of any write model and no event."""
    before = snapshot()
    with pytest.raises(error_type) as info:
        action()
    error = info.value
    assert error.code == code, error.as_dict()
    assert error.message
    if field is not None:
        assert field in error.fields, error.fields
    assert snapshot() == before
    return error


class HorizonHolder:
    """An open transaction holding an xid: projections cannot pass it, exactly as when a slow
    command is still running, so the read side lags until it ends."""

    def __init__(self):
        self.holding, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
            self.holding.set()
            self.release.wait(30)
        connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join()


def waiting_for_locks() -> int:
    """How many sessions of the test database wait for a lock right now: the positive signal
    that a thread has reached the lock a test holds."""
    with connection.cursor() as cursor:
        # Activity is a snapshot per transaction, and the caller may hold one open.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def in_own_connection(call):
    """For a worker thread: run `call` on the thread's own connection and close it after;
    return the result or the exception."""
    try:
        return call()
    except Exception as error:
        return error
    finally:
        connection.close()


class PauseAfter:
    """Patch `method` of `projection`'s class so that, for that projection only, it does its
    work and then stops until the test releases it: the transaction around it stays open, at a
    point the test chose (a run that has applied, a rebuild that has folded)."""

    def __init__(self, monkeypatch, projection, method: str):
        self.reached, self.release = threading.Event(), threading.Event()
        real = getattr(type(projection), method)

        def paused(this, *args, **kwargs):
            result = real(this, *args, **kwargs)
            if this is projection and not self.reached.is_set():
                self.reached.set()
                self.release.wait(10)
            return result

        monkeypatch.setattr(type(projection), method, paused)


def in_thread(call) -> threading.Thread:
    """Start `call` in a thread of its own, on a connection of its own."""
    thread = threading.Thread(target=in_own_connection, args=(call,))
    thread.start()
    return thread


@contextlib.contextmanager
def held_open(work):
    """Do `work` in a transaction on a thread and connection of its own, and hold that
    transaction open until the block ends; then it commits."""
    done, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            work()
            done.set()
            release.wait(10)

    thread = in_thread(hold)
    assert done.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()


def record_unreadable_order(order_id: int) -> int:
    """A copy of the order's OrderPlaced whose total no projector can read, written behind the
    commands' back (as a bad import would). Returns its event id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO readmodels_domainevent (event_type, event_version, aggregate_type, "
            "aggregate_id, payload, metadata) SELECT event_type, 2, 'order', aggregate_id, "
            "payload || '{\"total\": \"n/a\"}', '{}' FROM readmodels_domainevent "
            "WHERE aggregate_id = %s AND event_type = 'OrderPlaced' RETURNING id",
            [str(order_id)],
        )
        return cursor.fetchone()[0]
