"""The API's cross-cutting contract: idempotency keys, read-your-writes, ETags, cursors.

Who may read and do what with orders is in test_orders_api.py."""

import base64
from urllib.parse import quote

import pytest

from api.models import IdempotentRequest
from core.eventlog import position_of
from readmodels import engine
from readmodels.models import DomainEvent
from tests.helpers import ADDRESS_JSON

pytestmark = pytest.mark.django_db(transaction=True)


def order_body(sku, quantity=1):
    return {"lines": [{"sku": sku, "quantity": quantity}], "shipping_address": ADDRESS_JSON}


def test_a_retry_with_the_same_key_replays_without_running_the_command(customer_api, make_product):
    sku = make_product(stock=10)
    first = customer_api.post(
        "/api/orders/", order_body(sku), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    events = DomainEvent.objects.count()
    again = customer_api.post(
        "/api/orders/", order_body(sku), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert DomainEvent.objects.count() == events


def test_the_same_key_with_another_body_is_422(customer_api, customer, make_product):
    sku = make_product(stock=10)
    customer_api.post("/api/orders/", order_body(sku), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    events = DomainEvent.objects.count()
    other = customer_api.post(
        "/api/orders/", order_body(sku, 2), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert DomainEvent.objects.count() == events


def test_an_idempotency_key_with_control_characters_is_400(customer_api, make_product):
    # A NUL byte reached Postgres, which refuses it in text: that was a 500.
    sku = make_product(stock=10)
    events = DomainEvent.objects.count()
    response = customer_api.post(
        "/api/orders/", order_body(sku), format="json", HTTP_IDEMPOTENCY_KEY="k\x00-1"
    )
    assert response.status_code == 400, response.content
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert DomainEvent.objects.count() == events
    assert not IdempotentRequest.objects.exists()


def test_after_waits_for_the_worker_and_returns_the_new_order(worker, customer_api, make_product):
    sku = make_product(stock=10)
    placed = customer_api.post("/api/orders/", order_body(sku), format="json").json()
    response = customer_api.get(
        f"/api/orders/{placed['id']}/?after={placed['consistency_token']}&wait=5000"
    )
    assert response.status_code == 200, response.content
    assert response.json()["units"] == 1


def test_etag_gives_304_until_the_projection_moves(api, make_product):
    make_product()
    engine.run_all()
    first = api.get("/api/products/")
    assert api.get("/api/products/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    make_product()
    engine.run_all()
    changed = api.get("/api/products/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_sign_up_token_and_health(api):
    data = {
        "username": "ann",
        "email": "ann@example.com",
        "password": "a-long-Passphrase-7",
        "display_name": "Ann",
    }
    assert api.post("/api/customers/", data, format="json").status_code == 201
    assert (
        api.post("/api/customers/", data, format="json").json()["error"]["code"] == "username_taken"
    )
    token = api.post(
        "/api/auth/token/", {"username": "ann", "password": data["password"]}, format="json"
    )
    assert token.status_code == 200 and token.json()["token"]
    assert (
        api.post(
            "/api/auth/token/", {"username": "ann", "password": "wrong"}, format="json"
        ).status_code
        == 400
    )
    assert api.get("/api/orders/").status_code == 401
    assert (
        api.get("/api/orders/", HTTP_AUTHORIZATION=f"Token {token.json()['token']}").status_code
        == 200
    )
    health = api.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] is True


def test_sign_up_answers_with_a_token_to_go_on_with(api, staff_api):
    # Sign-up gave no way to continue: the client had to guess that the token endpoint came next.
    schema = api.get("/api/schema/?format=json").json()
    answer = schema["paths"]["/api/customers/"]["post"]["responses"]["201"]
    name = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "token" in schema["components"]["schemas"][name]["required"]
    data = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": "a-long-Passphrase-7",
        "display_name": "New Bie",
    }
    body = api.post("/api/customers/", data, format="json").json()
    assert (body["username"], body["display_name"]) == ("newbie", "New Bie")
    orders = api.get("/api/orders/", HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert orders.status_code == 200, orders.content
    # Staff signing someone up get no key to the customer's account.
    on_behalf = staff_api.post(
        "/api/customers/", {**data, "username": "proxied", "email": "p@example.com"}, format="json"
    )
    assert (on_behalf.status_code, on_behalf.json()["token"]) == (201, None)


def test_the_customers_report_names_each_customer(staff_api, make_customer):
    # It gave customer_id with no username.
    make_customer("reported")
    engine.run_all()
    row = staff_api.get("/api/reports/customers/").json()["results"][0]
    assert (row["username"], row["name"], row["email"]) == (
        "reported",
        "Reported",
        "reported@example.com",
    )


def cursor(position: str) -> str:
    """A cursor as DRF encodes one, with a position nobody handed out."""
    return quote(base64.b64encode(f"p={position}".encode()).decode())


@pytest.mark.parametrize(
    "path",
    [
        f"/api/products/?ordering=price&cursor={cursor('cheap')}",
        f"/api/products/?q=roast&cursor={cursor('high')}",
        f"/api/products/?cursor={cursor('a%00b')}",
        f"/api/categories/?cursor={cursor('a%00b')}",
        f"/api/orders/?cursor={cursor('yesterday')}",
        f"/api/reports/customers/?ordering=-order_count&cursor={cursor('many')}",
    ],
)
def test_a_cursor_with_a_position_that_does_not_fit_the_ordering_is_404(staff_api, path):
    # DRF puts the position into the WHERE clause as it is: each of these was a 500.
    response = staff_api.get(path)
    assert response.status_code == 404, response.content
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Invalid cursor",
        "fields": {},
    }


@pytest.mark.parametrize(
    "position",
    ["1e131072", "1e-1000000", "-1e131072", "9" * 200, "1e40000", "NaN", "Infinity"],
)
@pytest.mark.parametrize(
    "list_path",
    [
        "/api/products/?ordering=price",
        "/api/products/?ordering=-units_sold",
        "/api/reports/customers/?ordering=-lifetime_value",
        "/api/reports/customers/?ordering=-order_count",
    ],
)
def test_a_cursor_position_beyond_the_columns_range_is_404(staff_api, list_path, position):
    # These passed the type check and overflowed Postgres numeric: a 500.
    response = staff_api.get(f"{list_path}&cursor={cursor(position)}")
    assert response.status_code == 404, response.content
    assert response.json()["error"]["message"] == "Invalid cursor"


@pytest.mark.parametrize(
    "value",
    [
        "bm90LWEtY3Vyc29y",  # base64 of "not-a-cursor"
        "%25%25%25",
        quote(base64.b64encode(b"x=1").decode()),  # decodes, but names nothing a cursor has
        quote(base64.b64encode(b"p=a").decode()) + "%25",
    ],
)
@pytest.mark.parametrize("list_path", ["/api/products/?", "/api/orders/?", "/api/categories/?"])
def test_a_cursor_the_api_did_not_hand_out_is_404_not_the_first_page(staff_api, list_path, value):
    # These answered 200 with the first page: a client with a corrupted cursor silently
    # started again.
    response = staff_api.get(f"{list_path}cursor={value}")
    assert response.status_code == 404, response.content
    assert response.json()["error"]["message"] == "Invalid cursor"


@pytest.mark.parametrize("size", ["0", "-1", "101", "1000", "ten", "2.5"])
@pytest.mark.parametrize("list_path", ["/api/products/", "/api/orders/"])
def test_a_page_size_outside_the_documented_range_is_400(staff_api, list_path, size):
    # It was clamped to 100 (or fell back to the default) without a word.
    response = staff_api.get(f"{list_path}?page_size={size}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"page_size": "Use 1 to 100."}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=", "cursor"),
        ("page_size=", "page_size"),
        ("after=", "after"),
        ("q=", "q"),
        ("category=", "category"),
        ("in_stock=", "in_stock"),
        ("ordering=", "ordering"),
    ],
)
def test_an_empty_parameter_is_400_not_left_out(staff_api, query, field):
    # DRF took an empty optional parameter as absent: `?in_stock=` listed everything.
    response = staff_api.get(f"/api/products/?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/api/products/", "/api/orders/", "/api/reports/daily-sales/"])
def test_an_unknown_parameter_is_400_not_ignored(staff_api, path):
    # A misspelt filter (`?catgory=`) was ignored: the client got the whole list.
    response = staff_api.get(f"{path}?catgory=coffee")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"catgory": "Unknown parameter."}


def test_the_largest_page_size_is_served_and_documented(staff_api):
    assert staff_api.get("/api/products/?page_size=100").status_code == 200
    schema = staff_api.get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/products/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 100)


def test_the_cursors_the_api_hands_out_still_work_for_every_ordering(staff_api, make_product):
    for i in range(3):
        make_product(f"ROAST-{i}", price=f"{i + 1}.00", name=f"Roast {i}")
    engine.run_all()
    for ordering in ("ordering=name", "ordering=-price", "q=roast"):
        first = staff_api.get(f"/api/products/?{ordering}&page_size=2").json()
        second = staff_api.get(first["next"])
        assert second.status_code == 200, second.content
        assert len(first["results"]) + len(second.json()["results"]) == 3
        assert staff_api.get(second.json()["previous"]).status_code == 200


def cache_control(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def varies_by_caller(response) -> bool:
    return {"Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}


@pytest.mark.parametrize("path", ["/api/products/", "/api/categories/", "/api/products/PUB-1/"])
def test_anonymous_catalog_reads_are_briefly_public(api, staff_api, make_product, path, settings):
    make_product("PUB-1")
    engine.run_all()
    response = api.get(path)
    assert response.status_code == 200
    assert cache_control(response) == {"public", f"max-age={settings.API_PUBLIC_MAX_AGE}"}
    assert response["ETag"] and varies_by_caller(response)
    revalidated = api.get(path, HTTP_IF_NONE_MATCH=response["ETag"])
    assert revalidated.status_code == 304 and cache_control(revalidated) == cache_control(response)
    # Staff see the sales figures: their answer is theirs alone.
    assert cache_control(staff_api.get(path)) == {"private", "no-cache"}


@pytest.mark.parametrize(
    "path", ["/api/orders/", "/api/reports/customers/", "/api/reports/daily-sales/"]
)
def test_answers_that_depend_on_the_caller_are_private(staff_api, api, path):
    # These carried no Vary and no Cache-Control: a shared cache could hand one user's orders
    # to another.
    for client in (staff_api, api):
        response = client.get(path)
        assert cache_control(response) == {"private", "no-cache"}, response.status_code
        assert varies_by_caller(response)


def test_a_processing_answer_is_not_stored(customer_api, make_product):
    # No worker here and no engine run: the order stays unprojected.
    sku = make_product(stock=3)
    placed = customer_api.post("/api/orders/", order_body(sku), format="json").json()
    response = customer_api.get(f"/api/orders/?after={placed['consistency_token']}")
    assert response.status_code == 202
    assert cache_control(response) == {"no-store"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/products/?ordering=stock", "ordering"),
        ("/api/orders/?status=lost", "status"),
        ("/api/reports/customers/?ordering=name", "ordering"),
        ("/api/reports/daily-sales/?from=yesterday", "from"),
    ],
)
def test_a_bad_filter_is_reported_at_once_even_with_after(staff_api, make_product, path, field):
    # `after` and `wait` were checked first: a token not projected yet made the request wait
    # and answer 202, and the bad filter was only reported on the retry.
    make_product()  # the newest event, which nothing here projects
    token = str(position_of(DomainEvent.objects.latest("id")))
    response = staff_api.get(f"{path}&after={token}&wait=2000")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
