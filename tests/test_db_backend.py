"""The backend's two changes to Django's: the per-request health check of a persistent
connection costs no round trip, and still replaces a connection the server ended (caused for
real with pg_terminate_backend); timestamps are parsed in C, to exactly what Django's own loader
gives."""

import datetime

import psycopg
import pytest
from django.db import connection, connections
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from catalog.models import Category
from config.db.base import TIMESTAMPTZ, UtcTimestamptzLoader
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


# Timestamps as the server prints them, to the edges of what Django and Python can hold.
TIMESTAMPS = [
    "2026-11-30 08:43:25.123456+00",
    "2024-02-29 23:59:59.5+00",
    "1969-12-31 23:59:59.999999+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2026-03-29 01:30:00+02",  # another zone's offset: the same instant comes back in UTC
]


def read_timestamps(cursor) -> list[datetime.datetime]:
    return [cursor.execute("SELECT %s::timestamptz", [text]).fetchone()[0] for text in TIMESTAMPS]


def test_timestamps_are_parsed_by_psycopg_to_what_djangos_loader_gives():
    with connection.cursor() as ours:
        assert ours.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is (
            UtcTimestamptzLoader
        )
        parsed = read_timestamps(ours.cursor)
    with connection.cursor() as djangos:
        register_tzloader(datetime.UTC, djangos.cursor)  # what Django registers
        expected = read_timestamps(djangos.cursor)
    assert parsed == expected
    assert all(value.tzinfo is datetime.UTC for value in parsed)
    assert [value.microsecond for value in parsed[:3]] == [123456, 500000, 999999]


def test_timestamps_come_back_in_utc_from_a_server_whose_default_zone_is_another():
    """Django sets the session's TimeZone to UTC on connecting, before any read; the C loader,
    made per cursor, reads that setting."""
    tokyo = dict(connection.settings_dict)
    tokyo["OPTIONS"] = {**tokyo["OPTIONS"], "options": "-c TimeZone=Asia/Tokyo"}
    other = connections.create_connection("default")
    other.settings_dict = tokyo
    try:
        with other.cursor() as cursor:
            assert read_timestamps(cursor.cursor)[0] == datetime.datetime(
                2026, 11, 30, 8, 43, 25, 123456, tzinfo=datetime.UTC
            )
            cursor.execute("SHOW TimeZone")
            assert cursor.fetchone() == ("UTC",)
    finally:
        other.close()
