"""X-Request-ID: in or made, out on every response (errors too), into the metadata of the events
the request records, and into the worker's log line for the run that applied them."""

import logging
import re

import pytest

from readmodels.consistency import wait_for
from readmodels.models import DomainEvent
from tests.conftest import wait_until

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def test_a_request_id_reaches_the_response_the_event_and_the_worker_log(
    worker, staff, client, caplog
):
    caplog.set_level(logging.INFO, logger="shop.projections")
    client.force_login(staff)
    created = client.post(
        "/api/categories/",
        {"name": "Traced"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-7f3a-traced",
    )
    assert created.status_code == 201
    assert created["X-Request-ID"] == "req-7f3a-traced"
    event = DomainEvent.objects.get(event_type="CategoryCreated")
    assert event.metadata["correlation_id"] == "req-7f3a-traced"
    assert event.metadata["causation_id"] == "req-7f3a-traced"
    assert event.metadata["actor"]["username"] == staff.username

    assert wait_for(created.json()["consistency_token"], timeout=15)

    def worker_line():
        return [
            record
            for record in caplog.records
            if record.name == "shop.projections"
            and getattr(record, "projection", None) == "category_summary"
            and "req-7f3a-traced" in record.getMessage()
        ]

    [line] = wait_until(worker_line)
    assert line.correlation_ids == ["req-7f3a-traced"]
    assert line.events == 1


def test_an_upstream_correlation_id_groups_requests_and_the_request_is_the_cause(staff, client):
    client.force_login(staff)
    response = client.post(
        "/api/categories/",
        {"name": "Grouped"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-2",
        HTTP_X_CORRELATION_ID="checkout-flow-9",
    )
    assert (response["X-Request-ID"], response["X-Correlation-ID"]) == ("req-2", "checkout-flow-9")
    metadata = DomainEvent.objects.get(event_type="CategoryCreated").metadata
    assert (metadata["correlation_id"], metadata["causation_id"]) == ("checkout-flow-9", "req-2")


@pytest.mark.parametrize(
    "sent",
    [None, "", "has spaces", "x" * 65, "semi;colon", "ünïcode"],
    ids=["none", "empty", "spaces", "too-long", "semicolon", "non-ascii"],
)
def test_without_a_sane_request_id_one_is_made(client, db, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    response = client.get("/api/categories/", **headers)
    assert response.status_code == 200
    assert HEX_ID.match(response["X-Request-ID"])


def test_errors_carry_the_request_id_too(client, customer, db, settings):
    cases = {
        "unknown page (404)": lambda: client.get("/no/such/page/"),
        "API 404": lambda: client.get("/api/products/NOPE-1/"),
        "API 401": lambda: client.post("/api/orders/", {}, content_type="application/json"),
        "API 400": lambda: client.get("/api/reports/daily-sales/?from=nope"),
        "bad host (400)": lambda: client.get("/", HTTP_HOST="evil.example"),
        "staff page (403)": lambda: client.get("/staff/"),
        "metrics refused (403)": lambda: client.get("/metrics", REMOTE_ADDR="192.0.2.1"),
    }
    settings.ALLOWED_HOSTS = ["testserver"]
    client.force_login(customer)
    for name, call in cases.items():
        response = call()
        assert response.status_code >= 400, name
        assert HEX_ID.match(response["X-Request-ID"]), name
    csrf_client = type(client)(enforce_csrf_checks=True)
    refused = csrf_client.post("/login/", {"username": "x"}, HTTP_X_REQUEST_ID="csrf-1")
    assert (refused.status_code, refused["X-Request-ID"]) == (403, "csrf-1")


@pytest.mark.urls("tests.ops.boom_urls")
def test_an_unhandled_error_is_a_500_page_with_the_request_id(client, db):
    client.raise_request_exception = False
    response = client.get("/boom/", HTTP_X_REQUEST_ID="boom-1")
    assert (response.status_code, response["X-Request-ID"]) == (500, "boom-1")
