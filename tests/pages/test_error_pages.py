"""The shop's own 403, 404 and 500 pages: with the header, a way back, and no debug page for
the things that happen in normal use, even with DEBUG on (as in `make run`)."""

import pytest
from django.test import Client

from catalog import commands as catalog
from tests.helpers import snapshot
from tests.pages.conftest import caught_up


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def assert_shop_error_page(response, status: int):
    assert response.status_code == status
    page = response.content.decode()
    assert f'data-status="{status}"' in page
    assert 'aria-label="Main"' in page and 'href="/"' in page  # the header: a way back
    assert "Django" not in page and "Traceback" not in page
    assert page.count("<h1") == 1


def test_an_unknown_address_shows_the_shops_404(client, debug):
    assert_shop_error_page(client.get("/no-such-page/"), 404)


def test_a_missing_product_or_order_shows_the_shops_404(client, debug, customer):
    assert_shop_error_page(client.get("/products/NOPE-1/"), 404)
    client.force_login(customer)
    assert_shop_error_page(client.get("/orders/424242/"), 404)


def test_a_shopper_opening_a_staff_page_gets_the_shops_403(client, debug, customer):
    client.force_login(customer)
    response = client.get("/staff/")
    assert_shop_error_page(response, 403)
    assert "for shop staff only" in response.content.decode()


def test_the_api_keeps_answering_its_errors_in_json(client, debug):
    response = client.get("/api/products/NOPE-1/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_a_bug_shows_the_shops_500_page_without_debug(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.pages.broken_urls"
    client = Client(raise_request_exception=False)
    response = client.get("/broken/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'data-status="500"' in page and "Something went wrong on our side" in page
    assert "a bug" not in page


def test_a_discontinued_product_is_not_a_404(client, staff, make_product, debug):
    make_product("OLD-1", name="Old beans")
    catalog.discontinue_product(actor=staff, sku="OLD-1")
    caught_up()
    response = client.get("/products/OLD-1/")
    assert response.status_code == 410
    assert "no longer available" in response.content.decode()


def test_a_form_without_its_csrf_token_gets_the_shops_403_and_changes_nothing(customer, debug):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    before = snapshot()
    response = client.post("/checkout/", {"idempotency_key": "k"})
    assert_shop_error_page(response, 403)
    assert "reload the page and try again" in response.content.decode()
    assert snapshot() == before
