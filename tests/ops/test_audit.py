"""The audit trail and temporal queries on every surface: API (with the permission matrix),
staff pages and the admin."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from catalog import commands as catalog
from orders import commands as orders
from readmodels import engine
from readmodels.models import DomainEvent
from tests.helpers import ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_for():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def story(staff, customer, make_product):
    """A product's life: created at 10.00 with 5, repriced to 12.00, 2 ordered, the order
    cancelled, then 10 restocked; and one order paid. Returns (sku, the events of the sku)."""
    make_product("HIST-1", price="10.00", stock=5, name="Historic")
    catalog.change_price(actor=staff, sku="HIST-1", price="12.00")
    cancelled = orders.place_order(
        actor=customer, lines=[{"sku": "HIST-1", "quantity": 2}], shipping_address=ADDRESS
    )
    orders.cancel_order(actor=customer, order_id=cancelled.id, reason="changed my mind")
    catalog.restock(actor=staff, sku="HIST-1", quantity=10, reason="delivery")
    paid = orders.place_order(
        actor=customer, lines=[{"sku": "HIST-1", "quantity": 1}], shipping_address=ADDRESS
    )
    orders.pay_order(actor=customer, order_id=paid.id, amount="12.00", payment_reference="P-1")
    engine.run_all()
    return {"sku": "HIST-1", "cancelled": cancelled.id, "paid": paid.id}


# Who may read what: the permission matrix in tests/api/test_orders_api.py.


# --- GET /api/audit/ ---


def test_audit_filters_by_actor_aggregate_type_correlation_and_time(api_for, staff, story, client):
    api = api_for(staff)
    client.force_login(staff)
    traced = client.post(
        "/api/products/HIST-1/restock",
        {"quantity": 1, "reason": "found one"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="audit-req-1",
    )
    assert traced.status_code == 200

    def found(**params):
        body = api.get("/api/audit/", params)
        assert body.status_code == 200, body.json()
        return [(e["event_type"], e["aggregate_id"]) for e in body.json()["results"]]

    product_id = DomainEvent.objects.get(event_type="ProductCreated").aggregate_id
    [restock] = found(correlation_id="audit-req-1")
    assert restock == ("ProductRestocked", product_id)
    assert (
        found(actor=staff.username, event_type="ProductRestocked")
        == [("ProductRestocked", product_id)] * 2
    )
    assert found(aggregate_type="order", aggregate_id=str(story["paid"])) == [
        ("OrderPaid", str(story["paid"])),
        ("OrderPlaced", str(story["paid"])),
    ]
    assert {kind for kind, _ in found(actor="nobody-at-all")} == set()
    created = DomainEvent.objects.get(event_type="ProductCreated").occurred_at
    repriced = DomainEvent.objects.get(event_type="ProductPriceChanged").occurred_at
    between = found(since=created.isoformat(), until=repriced.isoformat(), aggregate_type="product")
    assert between == [("ProductPriceChanged", product_id), ("ProductCreated", product_id)]

    entry = api.get("/api/audit/", {"correlation_id": "audit-req-1"}).json()["results"][0]
    assert entry["actor"] == staff.username
    assert entry["metadata"]["causation_id"] == "audit-req-1"
    assert entry["payload"]["reason"] == "found one"


def test_audit_pages_with_a_cursor(api_for, staff, story):
    api = api_for(staff)
    everything = [e["id"] for e in api.get("/api/audit/", {"page_size": 200}).json()["results"]]
    assert everything == sorted(everything, reverse=True) and len(everything) > 4
    seen, url = [], "/api/audit/?page_size=3"
    while url:
        page = api.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert seen == everything
    tampered = "cD1hYmM="  # "p=abc": a position that is not an id
    assert api.get("/api/audit/", {"cursor": tampered}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"event_type": "NoSuchEvent"}, "event_type"),
        ({"aggregate_type": "warehouse"}, "aggregate_type"),
        ({"since": "yesterday"}, "since"),
        ({"correlation_id": "x" * 65}, "correlation_id"),
        ({"actor": "a\x00b"}, "actor"),
        ({"page_size": "0"}, "page_size"),
        ({"until": ""}, "until"),
        ({"actr": "staffer"}, "actr"),
    ],
    ids=[
        "since-after-until",
        "event-type",
        "aggregate-type",
        "since",
        "long-id",
        "nul",
        "size",
        "empty",
        "misspelt",
    ],
)
def test_audit_refuses_bad_filters_with_a_clear_error(api_for, staff, db, params, field):
    # As on the other lists: a page size out of range, an empty or unknown parameter is a 400.
    response = api_for(staff).get("/api/audit/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


# --- temporal queries ---


def test_a_product_s_price_and_stock_follow_its_events_and_orders(api_for, staff, story):
    body = api_for(staff).get("/api/products/HIST-1/history/").json()
    steps = [(m["event_type"], m["price"], m["stock"]) for m in body["timeline"]]
    assert steps == [
        ("ProductCreated", "10.00", 5),
        ("ProductPriceChanged", "12.00", 5),
        ("OrderPlaced", "12.00", 3),
        ("OrderCancelled", "12.00", 5),
        ("ProductRestocked", "12.00", 15),
        ("OrderPlaced", "12.00", 14),
    ]
    assert (body["state"]["price"], body["state"]["stock"]) == ("12.00", 14)
    assert body["timeline"][1]["change"] == "price 10.00 → 12.00"
    assert body["timeline"][1]["actor"] == staff.username
    assert body["as_of"] is None


def test_as_of_answers_what_the_product_and_the_order_looked_like_then(
    api_for, staff, customer, story
):
    api = api_for(staff)
    timeline = api.get("/api/products/HIST-1/history/").json()["timeline"]
    after_first_order = timeline[2]["occurred_at"]
    then = api.get("/api/products/HIST-1/history/", {"as_of": after_first_order}).json()
    assert (then["state"]["price"], then["state"]["stock"]) == ("12.00", 3)
    assert len(then["timeline"]) == 3
    before_creation = api.get("/api/products/HIST-1/history/", {"as_of": "2000-01-01T00:00:00Z"})
    assert before_creation.json()["state"] is None

    order = api_for(customer).get(f"/api/orders/{story['cancelled']}/history/").json()
    assert [entry["status"] for entry in order] == ["pending", "cancelled"]
    placed_at = order[0]["occurred_at"]
    at_placing = api_for(customer).get(
        f"/api/orders/{story['cancelled']}/history/", {"as_of": placed_at}
    )
    assert [entry["status"] for entry in at_placing.json()] == ["pending"]


def test_history_of_an_unknown_product_is_a_404_and_a_bad_moment_a_400(api_for, staff, story):
    api = api_for(staff)
    assert api.get("/api/products/NOPE-1/history/").json()["error"]["code"] == "not_found"
    bad = api.get("/api/products/HIST-1/history/", {"as_of": "soon"})
    assert bad.status_code == 400 and "as_of" in bad.json()["error"]["fields"]


# --- staff pages and the admin ---


@pytest.mark.parametrize("url", ["/staff/audit/", "/staff/products/HIST-1/"])
def test_the_pages_are_for_staff_only(client, customer, story, url):
    assert client.get(url)["Location"] == f"/login/?next={url}"
    client.force_login(customer)
    assert client.get(url).status_code == 403


def test_the_audit_page_filters_and_links_to_the_history(client, staff, story):
    client.force_login(staff)
    page = client.get("/staff/audit/", {"event_type": "ProductPriceChanged"}).content.decode()
    assert page.count('<tr id="event-') == 1
    assert "ProductPriceChanged" in page and staff.username in page
    assert '<a href="/staff/products/HIST-1/">history</a>' in page
    assert "&#x27;new_price&#x27;: &#x27;12.00&#x27;" in page  # the payload
    refused = client.get("/staff/audit/", {"since": "not a date"})
    assert refused.status_code == 400 and "since:" in refused.content.decode()


def test_the_audit_page_shows_older_events_a_page_at_a_time(client, staff, story, monkeypatch):
    from orders import audit_views

    monkeypatch.setattr(audit_views, "AUDIT_PAGE_SIZE", 2)
    client.force_login(staff)
    first = client.get("/staff/audit/", {"aggregate_type": "product"})
    older_link = first.context["older"]
    assert len(first.context["events"]) == 2 and "aggregate_type=product" in older_link
    second = client.get("/staff/audit/" + older_link)
    ids = [e.id for e in first.context["events"]] + [e.id for e in second.context["events"]]
    expected = DomainEvent.objects.filter(aggregate_type="product").order_by("-id")
    assert ids == list(expected.values_list("id", flat=True))
    assert second.context["older"] is None
    beyond_bigint = client.get("/staff/audit/", {"before": "9" * 30})
    assert beyond_bigint.status_code == 200 and len(beyond_bigint.context["events"]) == 2


def test_the_staff_product_page_shows_the_timeline_and_the_past(client, staff, story):
    client.force_login(staff)
    page = client.get("/staff/products/HIST-1/").content.decode()
    assert '<span class="price" id="state-price">12.00 EUR</span>' in page
    assert '<strong id="state-stock">14</strong>' in page
    assert "order " in page and "restocked +10 (delivery)" in page
    # The small chart: one step (two points) per event for stock and for price.
    chart = client.get("/staff/products/HIST-1/").context["chart"]
    assert len(chart.stock_steps.split()) == len(chart.price_steps.split()) == 12
    assert (chart.max_stock, chart.max_price) == (15, Decimal("12.00"))
    created = DomainEvent.objects.get(event_type="ProductCreated").occurred_at
    then = client.get("/staff/products/HIST-1/", {"as_of": created.isoformat()})
    assert '<strong id="state-stock">5</strong>' in then.content.decode()
    assert client.get("/staff/products/NOPE-1/").status_code == 404


def test_the_admin_event_log_filters_by_correlation_id(client, staff, story):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    response = client.post(
        "/api/products/HIST-1/price",
        {"price": "13.00"},
        content_type="application/json",
        HTTP_X_REQUEST_ID="admin-find-me",
    )
    assert response.status_code == 200
    listing = client.get("/admin/readmodels/domainevent/", {"correlation_id": "admin-find-me"})
    assert listing.status_code == 200
    assert [e.event_type for e in listing.context["cl"].result_list] == ["ProductPriceChanged"]
    searched = client.get("/admin/readmodels/domainevent/", {"q": "admin-find-me"})
    assert [e.event_type for e in searched.context["cl"].result_list] == ["ProductPriceChanged"]


def test_admin_product_and_order_pages_link_to_their_history(client, staff, story):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    product_id = DomainEvent.objects.get(event_type="ProductCreated").aggregate_id
    product_page = client.get(f"/admin/catalog/product/{product_id}/change/").content.decode()
    assert 'href="/staff/products/HIST-1/"' in product_page
    order_page = client.get(f"/admin/orders/order/{story['paid']}/change/").content.decode()
    assert (
        f'href="/staff/audit/?aggregate_type=order&amp;aggregate_id={story["paid"]}"' in order_page
    )
