import os

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from readmodels import engine
from readmodels.projections import PROJECTIONS


@pytest.fixture(scope="session", autouse=True)
def _multiprocess_metrics():
    # The dev services give every run of the suite its own PROMETHEUS_MULTIPROC_DIR; without it
    # these tests would check a single process only.
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR"), "run the suite through config.devservices"


def scrape(client, **headers) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics as {(name, labels): value}."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def failed_projection(transactional_db, make_product):
    """product_summary has failed once on the product BAD-1, for real: its table refuses the
    row (a CHECK constraint, dropped afterwards)."""
    make_product("OK-1")
    engine.run_all()
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE readmodels_productsummary ADD CONSTRAINT no_bad CHECK (sku <> 'BAD-1')"
        )
    make_product("BAD-1")
    with pytest.raises(engine.ProjectionFailed):
        engine.run_projection(PROJECTIONS["product_summary"])
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE readmodels_productsummary DROP CONSTRAINT no_bad")
