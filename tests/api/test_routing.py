"""GET and POST of one path are two views behind api.routing.by_method: each method reaches its
own view, HEAD the GET's, and the path's every method is in Allow; the dispatcher leaves CSRF
to DRF, which checks it for session logins only."""

import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from orders.models import Order
from tests.helpers import ADDRESS_JSON

pytestmark = pytest.mark.django_db


def test_head_reaches_the_get_view_and_options_names_both_methods(api):
    head = api.head("/api/products/")
    assert head.status_code == 200 and head["Content-Type"] == "application/json"
    assert head.content == b""
    options = api.options("/api/products/")
    assert options.status_code == 200
    assert {"GET", "POST", "HEAD", "OPTIONS"} <= set(options["Allow"].split(", "))


def test_a_session_post_needs_its_csrf_token_and_a_token_post_does_not(customer, make_product):
    sku = make_product(stock=5)
    body = json.dumps({"lines": [{"sku": sku, "quantity": 1}], "shipping_address": ADDRESS_JSON})
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer)
    refused = browser.post("/api/orders/", body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    assert not Order.objects.exists()
    token = Token.objects.create(user=customer).key
    client = Client(enforce_csrf_checks=True)
    placed = client.post(
        "/api/orders/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert placed.status_code == 201, placed.content
    assert Order.objects.count() == 1
