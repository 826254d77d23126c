"""Liveness, readiness and projection health are separate probes (issue 12, suspected issues;
issue 18 item 14)."""

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_liveness_touches_no_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert len(queries) == 0


def test_a_lagging_projection_fails_only_the_projection_probe(client, make_product, settings):
    settings.PROJECTION_LAG_WARNING_SECONDS = -1  # the new product's event is not applied yet
    make_product()
    projections = client.get("/healthz/projections")
    assert projections.status_code == 503
    assert projections.json()["projections_lagging"]
    assert client.get("/healthz/ready").status_code == 200
    report = client.get("/healthz")
    assert report.status_code == 200  # still serving: stays in the load balancer
    assert report.json()["status"] == "failing" and report.json()["projections_lagging"]
    assert client.get("/healthz/live").status_code == 200


def test_all_ok_when_the_projections_keep_up(client):
    for path in ("/healthz/live", "/healthz/ready", "/healthz/projections", "/healthz"):
        assert client.get(path).status_code == 200, path


@pytest.fixture
def database_refusing_connections():
    """Caused for real: the test database stops taking connections and ours is ended."""
    name = connection.settings_dict["NAME"]
    params = {**connection.get_connection_params(), "dbname": "postgres", "autocommit": True}
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**params) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_until(lambda: not _alive(pid))
    yield
    with psycopg.connect(**params) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    connection.close()


def _alive(pid: int) -> bool:
    with psycopg.connect(**{**connection.get_connection_params(), "dbname": "postgres"}) as admin:
        return bool(
            admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        )


def test_with_the_database_down_readiness_fails_and_liveness_answers(
    client, database_refusing_connections
):
    assert client.get("/healthz/live").status_code == 200
    ready = client.get("/healthz/ready")
    assert (ready.status_code, ready.json()["database"]) == (503, False)
    assert client.get("/healthz").status_code == 503
