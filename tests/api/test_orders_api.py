"""Orders and reports over HTTP: who may do what, and every documented refusal of the order
commands. A refused request writes no row and no event."""

from dataclasses import dataclass

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders import commands as orders
from orders.models import Order
from readmodels import engine
from tests.conftest import event_count
from tests.helpers import ADDRESS, ADDRESS_JSON, snapshot

ANONYMOUS, OWNER, OTHER_CUSTOMER, STAFF = "anonymous", "owner", "other customer", "staff"
SKU = "BEANS-1"


def token_client(user) -> APIClient:
    """A client that logs in the way API users do, with a token (not force_authenticate)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def error_of(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body
    return body["error"]


@dataclass
class Shop:
    """The owner's order of two bags of SKU at 7.50, moved to the state a test needs."""

    order_id: int
    owner: object
    clients: dict[str, APIClient]

    def order(self) -> Order:
        return Order.objects.get(pk=self.order_id)


@pytest.fixture
def shop(make_customer, make_product, staff):
    def build(state: str = "pending") -> Shop:
        owner, other = make_customer(), make_customer()
        make_product(SKU, price="7.50", stock=10)
        order_id = orders.place_order(
            actor=owner, lines=[{"sku": SKU, "quantity": 2}], shipping_address=ADDRESS
        ).id
        if state in ("paid", "shipped"):
            orders.pay_order(actor=owner, order_id=order_id, amount="15.00", payment_reference="P")
        if state == "shipped":
            orders.ship_order(actor=staff, order_id=order_id, tracking_number="T-1")
        if state == "cancelled":
            orders.cancel_order(actor=owner, order_id=order_id, reason="Changed my mind")
        users = {ANONYMOUS: None, OWNER: owner, OTHER_CUSTOMER: other, STAFF: staff}
        clients = {who: token_client(user) for who, user in users.items()}
        return Shop(order_id, owner, clients)

    return build


# --- who may read what ---

# (path, who, status, error code). {id} is the owner's order. The reports, projections, audit
# trail and product history have no owner: "owner" there is simply a customer.
READS = [
    ("/api/orders/", ANONYMOUS, 401, "not_authenticated"),
    ("/api/orders/", OWNER, 200, None),
    ("/api/orders/", OTHER_CUSTOMER, 200, None),
    ("/api/orders/", STAFF, 200, None),
    ("/api/orders/{id}/", ANONYMOUS, 401, "not_authenticated"),
    ("/api/orders/{id}/", OWNER, 200, None),
    ("/api/orders/{id}/", OTHER_CUSTOMER, 404, "not_found"),
    ("/api/orders/{id}/", STAFF, 200, None),
    ("/api/orders/{id}/history/", ANONYMOUS, 401, "not_authenticated"),
    ("/api/orders/{id}/history/", OWNER, 200, None),
    ("/api/orders/{id}/history/", OTHER_CUSTOMER, 404, "not_found"),
    ("/api/orders/{id}/history/", STAFF, 200, None),
    ("/api/orders/{id}/history/?as_of=2030-01-01T00:00:00Z", ANONYMOUS, 401, "not_authenticated"),
    ("/api/orders/{id}/history/?as_of=2030-01-01T00:00:00Z", OWNER, 200, None),
    ("/api/orders/{id}/history/?as_of=2030-01-01T00:00:00Z", OTHER_CUSTOMER, 404, "not_found"),
    ("/api/orders/{id}/history/?as_of=2030-01-01T00:00:00Z", STAFF, 200, None),
    *[
        row
        for path in (
            "/api/reports/daily-sales/",
            "/api/reports/customers/",
            "/api/reports/best-sellers/",
            "/api/projections/",
            "/api/audit/",
            f"/api/products/{SKU}/history/",
            f"/api/products/{SKU}/history/?as_of=2030-01-01T00:00:00Z",
        )
        for row in (
            (path, ANONYMOUS, 401, "not_authenticated"),
            (path, OWNER, 403, "permission_denied"),
            (path, STAFF, 200, None),
        )
    ],
]


@pytest.mark.django_db(transaction=True)  # the order must be projected to be read
@pytest.mark.parametrize(("path", "who", "status", "code"), READS)
def test_who_may_read_orders_and_reports(shop, path, who, status, code):
    s = shop()
    engine.run_all()
    response = s.clients[who].get(path.format(id=s.order_id))
    if code is None:
        assert response.status_code == status, response.content
    else:
        error_of(response, status, code)


@pytest.mark.django_db(transaction=True)
def test_the_order_list_holds_only_the_orders_one_may_see(shop):
    s = shop()
    engine.run_all()

    def listed(who, query=""):
        return [o["id"] for o in s.clients[who].get(f"/api/orders/{query}").json()["results"]]

    assert listed(OWNER) == [s.order_id]
    assert listed(OTHER_CUSTOMER) == []
    assert listed(STAFF) == [s.order_id]
    assert listed(STAFF, "?status=pending") == [s.order_id]
    assert listed(STAFF, "?status=paid") == []
    # ?customer= is a staff filter; a customer asking for someone else's still sees only theirs.
    assert listed(OTHER_CUSTOMER, f"?customer={s.owner.customer.pk}") == []
    history = s.clients[OWNER].get(f"/api/orders/{s.order_id}/history/").json()
    assert [entry["event_type"] for entry in history] == ["OrderPlaced"]


# --- who may run which command ---

BODIES = {
    "pay": {"amount": "15.00", "payment_reference": "PAY-1"},
    "cancel": {"reason": "Changed my mind"},
    "ship": {"tracking_number": "TRACK-1"},
    "deliver": {},
}
# Each action runs on an order in the state it may leave, so only the permission decides.
STATE_BEFORE = {"pay": "pending", "cancel": "pending", "ship": "paid", "deliver": "shipped"}
STATUS_AFTER = {"pay": "paid", "cancel": "cancelled", "ship": "shipped", "deliver": "delivered"}

# (action, who, status, error code)
COMMANDS = [
    ("pay", ANONYMOUS, 401, "not_authenticated"),
    ("pay", OWNER, 200, None),
    ("pay", OTHER_CUSTOMER, 404, "not_found"),
    ("pay", STAFF, 403, "not_a_customer"),
    ("cancel", ANONYMOUS, 401, "not_authenticated"),
    ("cancel", OWNER, 200, None),
    ("cancel", OTHER_CUSTOMER, 404, "not_found"),
    ("cancel", STAFF, 200, None),
    ("ship", ANONYMOUS, 401, "not_authenticated"),
    ("ship", OWNER, 403, "permission_denied"),
    ("ship", OTHER_CUSTOMER, 403, "permission_denied"),
    ("ship", STAFF, 200, None),
    ("deliver", ANONYMOUS, 401, "not_authenticated"),
    ("deliver", OWNER, 403, "permission_denied"),
    ("deliver", OTHER_CUSTOMER, 403, "permission_denied"),
    ("deliver", STAFF, 200, None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "who", "status", "code"), COMMANDS)
def test_who_may_run_order_commands(shop, action, who, status, code):
    s = shop(STATE_BEFORE[action])
    before, events = snapshot(), event_count()
    response = s.clients[who].post(
        f"/api/orders/{s.order_id}/{action}", BODIES[action], format="json"
    )
    if code is not None:
        error_of(response, status, code)
        assert snapshot() == before
        return
    assert response.status_code == status, response.content
    assert response.json()["id"] == s.order_id
    assert s.order().status == STATUS_AFTER[action]
    assert event_count() == events + 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        (ANONYMOUS, 401, "not_authenticated"),
        (OWNER, 201, None),  # any customer places their own orders: there is no "other" here
        (STAFF, 403, "not_a_customer"),
    ],
)
def test_who_may_place_an_order(shop, who, status, code):
    s = shop()
    before, events = snapshot(), event_count()
    response = s.clients[who].post(
        "/api/orders/",
        {"lines": [{"sku": SKU, "quantity": 1}], "shipping_address": ADDRESS_JSON},
        format="json",
    )
    if code is not None:
        error_of(response, status, code)
        assert snapshot() == before
        return
    assert response.status_code == status, response.content
    assert Order.objects.get(pk=response.json()["id"]).customer == s.owner.customer
    assert event_count() == events + 1


# --- every documented refusal of the order commands ---

# (who, action, order state, body, status, code, field). Action None places a new order; a str
# body is sent as it is, as application/json. Who may call at all is the matrix above.
REFUSALS = [
    # 400: malformed JSON, wrong types, missing or broken fields
    (OWNER, None, None, "{not json", 400, "parse_error", None),
    (OWNER, None, None, {"lines": "two bags", "shipping_address": ADDRESS_JSON}, 400, "invalid", "lines"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": "lots"}], "shipping_address": ADDRESS_JSON}, 400, "invalid", "lines[0].quantity"),
    (OWNER, None, None, {}, 400, "invalid", "lines"),
    (OWNER, None, None, {"lines": [], "shipping_address": ADDRESS_JSON}, 400, "invalid", "lines"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 1}] * 51, "shipping_address": ADDRESS_JSON}, 400, "invalid", "lines"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 1001}], "shipping_address": ADDRESS_JSON}, 400, "invalid", "lines[0].quantity"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 0}], "shipping_address": ADDRESS_JSON}, 400, "invalid", "lines[0].quantity"),
    (OWNER, None, None, {"lines": [{"sku": "NOPE-1", "quantity": 1}], "shipping_address": ADDRESS_JSON}, 400, "unknown_product", None),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 1}]}, 400, "invalid", "shipping_address"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 1}], "shipping_address": {**ADDRESS_JSON, "name": " "}}, 400, "invalid", "shipping_address.name"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 1}], "shipping_address": {**ADDRESS_JSON, "country": "US"}}, 400, "invalid", "shipping_address.country"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 1}], "shipping_address": {**ADDRESS_JSON, "city": "x" * 61}}, 400, "invalid", "shipping_address.city"),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 1}], "shipping_address": {**ADDRESS_JSON, "postal_code": "1011 AB"}}, 400, "invalid", "shipping_address.postal_code"),
    (OWNER, "pay", "pending", "{not json", 400, "parse_error", None),
    (OWNER, "pay", "pending", {"amount": "ten", "payment_reference": "P"}, 400, "invalid", "amount"),
    (OWNER, "pay", "pending", {"amount": "15.00"}, 400, "invalid", "payment_reference"),
    (OWNER, "pay", "pending", {"amount": "14.99", "payment_reference": "P"}, 400, "amount_mismatch", "amount"),
    (OWNER, "pay", "pending", {**BODIES["pay"], "expected_version": "one"}, 400, "invalid", "expected_version"),
    (OWNER, "cancel", "pending", {"reason": "x" * 501}, 400, "invalid", "reason"),
    (STAFF, "ship", "paid", {"tracking_number": ["T-1"]}, 400, "invalid", "tracking_number"),
    (STAFF, "ship", "paid", "{not json", 400, "parse_error", None),
    # 403: allowed to call, but not for this order
    (OWNER, "cancel", "paid", BODIES["cancel"], 403, "cancel_needs_staff", None),
    # 404
    (STAFF, "ship", "missing", BODIES["ship"], 404, "not_found", None),
    # 409: illegal status changes, stale versions, a second payment, too little stock
    (OWNER, "pay", "cancelled", BODIES["pay"], 409, "invalid_status_transition", None),
    (OWNER, "cancel", "cancelled", BODIES["cancel"], 409, "invalid_status_transition", None),
    (STAFF, "ship", "pending", BODIES["ship"], 409, "invalid_status_transition", None),
    (STAFF, "deliver", "paid", {}, 409, "invalid_status_transition", None),
    (STAFF, "cancel", "shipped", BODIES["cancel"], 409, "invalid_status_transition", None),
    (OWNER, "pay", "pending", {**BODIES["pay"], "expected_version": 9}, 409, "version_conflict", "expected_version"),
    (OWNER, "pay", "paid", {**BODIES["pay"], "payment_reference": "OTHER"}, 409, "already_paid", None),
    (OWNER, None, None, {"lines": [{"sku": SKU, "quantity": 11}], "shipping_address": ADDRESS_JSON}, 409, "insufficient_stock", None),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "action", "state", "body", "status", "code", "field"),
    REFUSALS,
    ids=[
        f"{who} {action or 'places'} {state or 'an order'}: {code} {field or ''}".strip()
        for who, action, state, _, _, code, field in REFUSALS
    ],
)
def test_order_commands_refuse_with_the_documented_error(
    shop, who, action, state, body, status, code, field
):
    s = shop("pending" if state in (None, "missing") else state)
    order_id = s.order_id + 1000 if state == "missing" else s.order_id
    path = "/api/orders/" if action is None else f"/api/orders/{order_id}/{action}"
    client = s.clients[who]
    before = snapshot()
    if isinstance(body, str):
        response = client.post(path, body, content_type="application/json")
    else:
        response = client.post(path, body, format="json")
    error = error_of(response, status, code)
    if field is not None:
        assert field in error["fields"], error
    assert snapshot() == before


@pytest.mark.django_db
def test_a_body_that_is_not_json_or_a_form_is_415(shop):
    s = shop()
    before = snapshot()
    response = s.clients[OWNER].post(
        f"/api/orders/{s.order_id}/pay", "amount=15.00", content_type="text/plain"
    )
    error_of(response, 415, "unsupported_media_type")
    assert snapshot() == before


# --- reports ---


@pytest.mark.django_db(transaction=True)
def test_reports_count_what_was_sold(shop):
    s = shop("paid")
    engine.run_all()
    today = s.order().placed_at.date().isoformat()
    day = s.clients[STAFF].get(f"/api/reports/daily-sales/?from={today}&to={today}").json()
    assert [(d["orders_placed"], d["units_sold"], d["gross_revenue"]) for d in day] == [
        (1, 2, "15.00")
    ]
    top = s.clients[STAFF].get("/api/reports/customers/").json()["results"][0]
    assert (top["customer_id"], top["order_count"], top["lifetime_value"]) == (
        s.owner.customer.pk,
        1,
        "15.00",
    )
    best = s.clients[STAFF].get("/api/reports/best-sellers/").json()
    assert (best[0]["sku"], best[0]["units_sold"]) == (SKU, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "first_day", "days"),
    [
        ("to=0001-01-10", "0001-01-01", 10),  # the default 30 days would start before year 1
        ("to=0001-01-01", "0001-01-01", 1),
        ("to=9999-12-31", "9999-12-02", 30),
    ],
)
def test_daily_sales_at_the_ends_of_the_calendar(staff_api, query, first_day, days):
    # `to` near 0001-01-01 overflowed the default window's subtraction: that was a 500.
    response = staff_api.get(f"/api/reports/daily-sales/?{query}")
    assert response.status_code == 200, response.content
    assert response.json()[0]["date"] == first_day
    assert len(response.json()) == days


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("from=2024-01-01&to=2025-12-31", "from"),
        ("to=yesterday", "to"),
    ],
)
def test_daily_sales_refuses_a_bad_range(staff_api, query, field):
    error = error_of(staff_api.get(f"/api/reports/daily-sales/?{query}"), 400, "invalid")
    assert field in error["fields"]
