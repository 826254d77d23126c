"""Whatever a client sends and whichever layer answers, an answer under /api/ is JSON in the
documented format, and a route answers the same with or without its trailing slash."""

import json

import pytest
from django.urls import URLPattern
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from config import api_urls
from orders import commands as orders
from orders.models import Order
from readmodels import engine
from tests.helpers import ADDRESS, ADDRESS_JSON, snapshot

pytestmark = pytest.mark.django_db


def concrete(route: str, *, sku: str, order_id: int) -> str:
    return "/api/" + route.replace("<str:sku>", sku).replace("<int:order_id>", str(order_id))


def other_spelling(path: str) -> str:
    return path[:-1] if path.endswith("/") else f"{path}/"


def api_routes(sku, order_id):
    """(method, path) of every API route, in the spelling the URLconf uses."""
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback
        # One view, or one per method behind api.routing.by_method.
        views = getattr(view, "views", None) or {"view": view}
        path = concrete(str(pattern.pattern), sku=sku, order_id=order_id)
        for method in ("get", "post"):
            if any(hasattr(getattr(v, "cls", None), method) for v in views.values()):
                yield method, path


def assert_api_error(response, status, code=None):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if code is not None:
        assert error["code"] == code, error


@pytest.mark.django_db(transaction=True)  # the walk reads the order and product as projected
@pytest.mark.parametrize("debug", [True, False])
def test_every_route_answers_the_same_with_and_without_its_trailing_slash(
    settings, debug, staff_api, customer, make_product
):
    settings.DEBUG = debug
    sku = make_product(stock=5)
    order = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    engine.run_all()
    routes = list(api_routes(sku, order.id))
    assert len(routes) > 20
    before = snapshot()
    # A body every command refuses (a required field missing, or a stale version), so the walk
    # changes nothing.
    body = {"expected_version": 999}
    for method, path in routes:
        as_routed = getattr(staff_api, method)(path, body if method == "post" else None)
        respelled = getattr(staff_api, method)(
            other_spelling(path), body if method == "post" else None
        )
        assert respelled.status_code == as_routed.status_code, (method, path, respelled.content)
        assert respelled.status_code not in (301, 302, 404, 500), (method, path)
        assert respelled["Content-Type"] == as_routed["Content-Type"], (method, path)
    assert snapshot() == before


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/orders", "/api/orders/"])
def test_an_order_posted_without_the_slash_is_placed(
    settings, debug, path, customer_api, make_product
):
    # Without the slash this was a 500 with DEBUG on and, with DEBUG off, a 301 that clients
    # follow as a GET: a 200 with a list, and no order.
    settings.DEBUG = debug
    sku = make_product(stock=5)
    body = {"lines": [{"sku": sku, "quantity": 1}], "shipping_address": ADDRESS_JSON}
    response = customer_api.post(path, body, format="json")
    assert response.status_code == 201, response.content
    assert Order.objects.filter(pk=response.json()["id"]).exists()


@pytest.mark.parametrize("debug", [True, False])
def test_an_action_posted_with_a_slash_runs(settings, debug, customer_api, customer, make_product):
    settings.DEBUG = debug
    sku = make_product(stock=5)
    order = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    )
    response = customer_api.post(
        f"/api/orders/{order.id}/cancel/", {"reason": "changed my mind"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=order.id).status == "cancelled"


def nested(depth: int) -> str:
    return '{"lines": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    "path", ["/api/orders/", "/api/customers/", "/api/auth/token/", "/api/products/"]
)
@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_deeply_nested_json_is_400(staff_api, path, depth):
    # About 1,000 levels raised RecursionError: a 500 on every POST endpoint.
    before = snapshot()
    response = staff_api.post(path, nested(depth), content_type="application/json")
    assert_api_error(response, 400, "parse_error")
    assert "nested" in response.json()["error"]["message"]
    assert snapshot() == before


def test_json_nested_within_the_bound_is_parsed(customer_api):
    response = customer_api.post("/api/orders/", nested(20), content_type="application/json")
    assert_api_error(response, 400, "invalid")  # the serializer's answer, not the parser's


@pytest.mark.parametrize("debug", [True, False])
def test_every_layer_answers_in_the_error_format(settings, debug, customer_api, api):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"lines": [{"sku": "X" * 2000, "quantity": 1}]})
    assert_api_error(
        customer_api.post("/api/orders/", body, content_type="application/json"), 413, "too_large"
    )
    assert_api_error(api.get("/api/no-such-thing/"), 404, "not_found")
    assert_api_error(api.get("/api/orders/1/no-such-action"), 404, "not_found")
    deleted = api.delete("/api/products/")
    assert_api_error(deleted, 405, "method_not_allowed")
    assert {"GET", "POST"} <= set(deleted["Allow"].split(", "))  # both views of the path
    # A browser asking for HTML gets the JSON it would get anyway.
    page = api.get("/api/products/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"] == "application/json"
    assert_api_error(api.get("/api/orders/", HTTP_ACCEPT="text/html"), 401, "not_authenticated")


def test_a_server_error_is_a_json_500(settings, monkeypatch):
    settings.DEBUG = False
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    view = import_string("catalog.api.categories").cls

    def fail(self, request):
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(view, "read", fail)
    client = APIClient(raise_request_exception=False)
    assert_api_error(client.get("/api/categories/"), 500, "server_error")
    assert b"fell over" not in client.get("/api/categories/").content


def test_pages_outside_the_api_keep_their_html_errors(api):
    response = api.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
