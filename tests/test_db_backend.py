"""The per-request health check of a persistent connection costs no round trip, and still
replaces a connection the server ended (caused for real with pg_terminate_backend)."""

import psycopg
import pytest
from django.db import connection

from catalog.models import Category
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def as_a_new_request_would():
    """What Django does at the start and end of each request (close_old_connections)."""
    connection.close_if_unusable_or_obsolete()


def server_has(pid: int) -> bool:
    with psycopg.connect(**connection.get_connection_params()) as other:
        return other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()


def test_a_healthy_connection_is_kept_without_asking_the_server(monkeypatch):
    Category.objects.count()
    kept = connection.connection

    def round_trip():
        raise AssertionError("the per-request check sent SELECT 1")

    monkeypatch.setattr(connection, "is_usable", round_trip)
    as_a_new_request_would()
    assert Category.objects.count() == 0
    assert connection.connection is kept


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it():
    Category.objects.count()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_until(lambda: not server_has(pid))
    as_a_new_request_would()
    assert Category.objects.count() == 0  # no OperationalError: a fresh connection
    assert connection.connection.info.backend_pid != pid
