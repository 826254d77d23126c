"""A real streaming replica of the test database, for the tests of the read replicas
(tests/scaleout, and the dashboard in tests/browser); tests/conftest.py imports its fixtures.

The replica is started once per session (pg_basebackup -R of the throwaway Postgres, then its
own server on its own socket) and registered as the alias `replica1`, a test mirror of
`default` (it reads the test database, which it cannot have its own copy of). It serves reads
only in the tests that ask for the `replica` fixture, which lists it in DATABASE_REPLICAS;
everywhere else no replica is configured, as by default.
"""

import copy
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import psycopg
import pytest
from django.core.cache import cache
from django.db import connections

from config import devservices
from readmodels import replicas

ALIAS = "replica1"


def wait_until(condition, **options):
    from tests.conftest import wait_until  # tests/conftest.py imports this module

    return wait_until(condition, **options)


# Replica tests commit (the replica only sees committed rows) and read from both servers.
REPLICA_DB = pytest.mark.django_db(transaction=True, databases=["default", ALIAS])


def _primary_url(settings_dict: dict) -> str:
    host = quote(settings_dict["HOST"], safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{settings_dict['USER']}@{host}{port}/{settings_dict['NAME']}"


class Replica(SimpleNamespace):
    """The running replica: `sql()` on it as a superuser, `stop()`/`start()` it."""

    def sql(self, statement: str, params=()):
        with psycopg.connect(
            host=str(self.server.datadir), user="postgres", dbname=self.database, autocommit=True
        ) as conn:
            return conn.execute(statement, params).fetchall()

    def pause(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")
        wait_until(lambda: self.sql("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused")

    def resume(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def running(self) -> bool:
        return (self.server.datadir / "postmaster.pid").exists()


@pytest.fixture(scope="session")
def streaming_replica(django_db_setup):
    """The replica, started by the first test that needs it. A test module using it must ask
    for it through an autouse fixture of a wider scope than a test's (tests/scaleout's
    conftest does), so that the alias exists before pytest-django checks the test's
    `databases`: its database fixtures come before any other of a test's own fixtures."""
    primary = connections["default"].settings_dict
    datadir = Path(tempfile.mkdtemp(prefix="replica-", dir="/tmp"))  # short: a socket path
    server = devservices.EmbeddedReplica(_primary_url(primary), datadir).create()
    server.start()
    settings_dict = copy.deepcopy(primary)
    settings_dict.update(HOST=str(datadir), PORT="", TEST={**primary["TEST"], "MIRROR": "default"})
    connections.settings[ALIAS] = settings_dict
    replica = Replica(alias=ALIAS, server=server, database=primary["NAME"])
    try:
        yield replica
    finally:
        connections[ALIAS].close()
        server.stop()
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture
def replica(streaming_replica, settings, transactional_db):
    """The replica in DATABASE_REPLICAS, running and replaying, with no health cached."""
    if not streaming_replica.running():
        streaming_replica.server.start()
    streaming_replica.resume()
    settings.DATABASE_REPLICAS = [ALIAS]
    replicas.forget()
    cache.clear()  # the wait budgets
    yield streaming_replica
    if not streaming_replica.running():
        streaming_replica.server.start()
    streaming_replica.resume()
    connections[ALIAS].close()
    replicas.forget()


def replayed(replica: Replica) -> bool:
    """Whether the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        # Written, not only flushed: the throwaway primary commits without waiting for the flush.
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        (written,) = cursor.fetchone()
    (done,) = replica.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [written])[0]
    return done


def caught_up(replica: Replica) -> None:
    """Wait (positively) until the replica has replayed what the primary has written."""
    wait_until(lambda: replayed(replica))
