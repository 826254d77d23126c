import pytest

from catalog.models import Product
from readmodels import engine
from readmodels.models import DomainEvent
from tests.helpers import ADDRESS, snapshot

# Projections only read committed events, so these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def error_of(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture
def catalog(staff, make_product):
    make_product("CHEAP-1", price="2.00", stock=0)
    make_product("MID-1", price="20.00", stock=5, name="Ethiopia filter roast")
    make_product("DEAR-1", price="200.00", stock=1)
    engine.run_all()


def skus(response):
    assert response.status_code == 200, response.content
    return [p["sku"] for p in response.json()["results"]]


def test_anyone_browses_products_with_filters_and_ordering(api, catalog):
    assert skus(api.get("/api/products/?ordering=price")) == ["CHEAP-1", "MID-1", "DEAR-1"]
    assert skus(api.get("/api/products/?ordering=-price&in_stock=true")) == ["DEAR-1", "MID-1"]
    assert skus(api.get("/api/products/?min_price=10&max_price=100")) == ["MID-1"]
    assert skus(api.get("/api/products/?q=ethiopia")) == ["MID-1"]
    assert skus(api.get("/api/products/?category=nope")) == []
    product = api.get("/api/products/MID-1/").json()
    assert (product["price"], product["category"], product["stock"]) == ("20.00", "coffee", 5)


def test_cursor_pagination_walks_every_product_once(api, staff, make_product):
    for i in range(7):
        make_product(f"PAGE-{i}", price=f"{i + 1}.00")
    engine.run_all()
    seen, url = [], "/api/products/?ordering=-price&page_size=3"
    while url:
        body = api.get(url).json()
        seen += [p["sku"] for p in body["results"]]
        url = body["next"]
    assert seen == [f"PAGE-{i}" for i in reversed(range(7))]


@pytest.mark.parametrize(
    "query",
    [
        "min_price=abc",
        "ordering=stock",
        "in_stock=maybe",
        "category=Not A Slug",
        "after=xyz",
        "wait=9000",
    ],
)
def test_bad_query_parameters_are_400(api, catalog, query):
    error = error_of(api.get(f"/api/products/?{query}"), 400, "invalid")
    assert error["fields"]


def test_unknown_product_is_404(api):
    error_of(api.get("/api/products/NOPE-1/"), 404, "not_found")


def test_staff_create_a_product_and_get_a_token_location_and_201(staff_api, category):
    response = staff_api.post(
        "/api/products/",
        {"sku": "API-1", "name": "API roast", "category": "coffee", "price": "9.90", "stock": 3},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    event = DomainEvent.objects.get(event_type="ProductCreated")
    assert body == {
        "id": Product.objects.get(sku="API-1").pk,
        "version": 1,
        "sku": "API-1",
        "consistency_token": f"{event.txid}-{event.id}",
    }
    assert response["X-Consistency-Token"] == body["consistency_token"]
    assert response["Location"] == f"/api/products/API-1/?after={body['consistency_token']}"


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"sku": "bad sku", "name": "x", "category": "coffee", "price": "1"}, "invalid", "sku"),
        ({"sku": "OK-1", "name": "x", "category": "coffee", "price": "0"}, "invalid", "price"),
        ({"sku": "OK-1", "name": "x", "category": "coffee", "price": "abc"}, "invalid", "price"),
        (
            {"sku": "OK-1", "name": "x", "category": "coffee", "price": "1", "stock": "lots"},
            "invalid",
            "stock",
        ),
        (
            {"sku": "OK-1", "name": "x", "category": "tea", "price": "1"},
            "unknown_category",
            "category",
        ),
        ({"name": "x", "category": "coffee", "price": "1"}, "invalid", "sku"),
        ({"sku": ["OK-1"], "name": "x", "category": "coffee", "price": "1"}, "invalid", "sku"),
    ],
)
def test_bad_products_are_400_and_change_nothing(staff_api, category, payload, code, field):
    before = snapshot()
    error = error_of(staff_api.post("/api/products/", payload, format="json"), 400, code)
    assert field in error["fields"]
    assert snapshot() == before


def test_malformed_json_is_400(staff_api, category):
    response = staff_api.post("/api/products/", "{not json", content_type="application/json")
    error_of(response, 400, "parse_error")


def test_duplicate_sku_is_400(staff_api, make_product):
    make_product("DUP-1")
    payload = {"sku": "DUP-1", "name": "x", "category": "coffee", "price": "1"}
    error_of(staff_api.post("/api/products/", payload, format="json"), 400, "sku_taken")


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/categories/", {"name": "Tea"}),
        ("/api/products/", {"sku": "NEW-1", "name": "x", "category": "coffee", "price": "1"}),
        ("/api/products/KNOWN-1/details", {"name": "New"}),
        ("/api/products/KNOWN-1/price", {"price": "5.00"}),
        ("/api/products/KNOWN-1/restock", {"quantity": 1, "reason": "count"}),
        ("/api/products/KNOWN-1/discontinue", {}),
        ("/api/products/KNOWN-1/reactivate", {}),
    ],
)
def test_catalog_writes_are_staff_only(api, customer_api, make_product, path, payload):
    make_product("KNOWN-1")
    before = snapshot()
    error_of(api.post(path, payload, format="json"), 401, "not_authenticated")
    error_of(customer_api.post(path, payload, format="json"), 403, "permission_denied")
    assert snapshot() == before


def test_staff_product_commands(staff_api, make_product):
    make_product("CMD-1", price="10.00", stock=1)
    post = lambda action, data: staff_api.post(f"/api/products/CMD-1/{action}", data, format="json")  # noqa: E731
    assert post("price", {"price": "12.00", "expected_version": 1}).json()["version"] == 2
    error_of(post("price", {"price": "13.00", "expected_version": 1}), 409, "version_conflict")
    error_of(post("price", {"price": "1.00"}), 400, "large_price_cut")
    assert post("price", {"price": "1.00", "confirm_large_cut": True}).status_code == 200
    assert post("restock", {"quantity": 4, "reason": "delivery"}).status_code == 200
    error_of(post("restock", {"quantity": 0, "reason": "delivery"}), 400, "invalid")
    assert post("details", {"description": "Now with notes"}).status_code == 200
    assert post("discontinue", {}).status_code == 200
    assert post("reactivate", {}).status_code == 200
    product = Product.objects.get(sku="CMD-1")
    assert (str(product.price), product.stock, product.description, product.active) == (
        "1.00",
        5,
        "Now with notes",
        True,
    )
    error_of(
        staff_api.post("/api/products/NOPE-1/price", {"price": "1"}, format="json"),
        404,
        "not_found",
    )


def test_categories(api, staff_api):
    response = staff_api.post("/api/categories/", {"name": "Tea"}, format="json")
    assert response.status_code == 201
    error_of(
        staff_api.post("/api/categories/", {"name": "Tea"}, format="json"), 400, "category_taken"
    )
    engine.run_all()
    assert [c["slug"] for c in api.get("/api/categories/").json()["results"]] == ["tea"]


@pytest.mark.parametrize("sku", ["NUL%00BYTE", "lower-case", "X"])
def test_a_sku_no_product_can_have_is_404_for_reads_and_commands(api, staff_api, make_product, sku):
    # A NUL byte in the URL reached Postgres, which refuses it in text: that was a 500.
    make_product("REAL-1")
    before = snapshot()
    error_of(api.get(f"/api/products/{sku}/"), 404, "not_found")
    response = staff_api.post(f"/api/products/{sku}/price", {"price": "5.00"}, format="json")
    assert error_of(response, 404, "not_found")["fields"] == {"sku": "Unknown SKU."}
    assert snapshot() == before


# --- what is public: the catalog, and popularity as an order, but not the sales figures ---

SALES_FIGURES = {"units_sold", "revenue", "order_count", "last_ordered_at"}


@pytest.mark.parametrize(
    ("who", "sees_figures"), [("anonymous", False), ("customer", False), ("staff", True)]
)
@pytest.mark.parametrize(
    "path", ["/api/products/?ordering=-units_sold", "/api/products/", "/api/products/MID-1/"]
)
def test_sales_figures_are_staff_only(
    who, sees_figures, path, api, customer_api, staff_api, customer, catalog
):
    from orders import commands as orders

    orders.place_order(
        actor=customer, lines=[{"sku": "MID-1", "quantity": 2}], shipping_address=ADDRESS
    )
    engine.run_all()
    client = {"anonymous": api, "customer": customer_api, "staff": staff_api}[who]
    response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    products = body.get("results", [body])
    assert products
    for product in products:
        assert (set(product) >= SALES_FIGURES) is sees_figures, product
        assert SALES_FIGURES.isdisjoint(product) is not sees_figures, product
    if path.endswith("-units_sold"):
        # Popularity order is public: the best seller comes first for everyone.
        assert products[0]["sku"] == "MID-1"


def test_the_schema_says_the_sales_figures_are_staff_only(api):
    product = api.get("/api/schema/?format=json").json()["components"]["schemas"]["ProductOut"]
    assert SALES_FIGURES.isdisjoint(product["required"])
    for name in SALES_FIGURES:
        assert product["properties"][name]["description"].startswith("Staff only")
    assert {"sku", "name", "price", "stock"} <= set(product["required"])
