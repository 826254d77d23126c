"""Past the rate limit a client gets 429 in the usual error shape, with Retry-After, and a
throttled command does nothing."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from readmodels.models import IdempotentRequest
from tests.helpers import snapshot

pytestmark = pytest.mark.django_db

ANON_LIMIT, USER_LIMIT = 2, 3


@pytest.fixture(autouse=True)
def low_rates(monkeypatch):
    # DRF copies DEFAULT_THROTTLE_RATES onto the class when it is imported, and each request's
    # throttle reads its rate from there.
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"anon": f"{ANON_LIMIT}/min", "user": f"{USER_LIMIT}/min"},
    )


@pytest.fixture
def customer_with_token(customer):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=customer)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def assert_throttled(response):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == ("throttled", {})
    assert error["message"]
    assert 0 < int(response["Retry-After"]) <= 60


def test_an_anonymous_client_is_throttled_after_its_rate(api):
    for _ in range(ANON_LIMIT):
        assert api.get("/api/products/").status_code == 200
    assert_throttled(api.get("/api/products/"))


def test_a_logged_in_client_is_throttled_after_its_rate(customer_with_token):
    # A logged-in client has the (higher) user rate, not the anonymous one.
    for _ in range(USER_LIMIT):
        assert customer_with_token.get("/api/orders/").status_code == 200
    assert_throttled(customer_with_token.get("/api/orders/"))


def test_a_throttled_order_is_not_placed(customer_with_token, make_product):
    sku = make_product(stock=10)
    for _ in range(USER_LIMIT):
        customer_with_token.get("/api/orders/")
    before = snapshot()
    response = customer_with_token.post(
        "/api/orders/",
        {"lines": [{"sku": sku, "quantity": 1}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="throttled-1",
    )
    assert_throttled(response)
    assert snapshot() == before
    # Nor is the key used up: the retry after Retry-After runs the order.
    assert not IdempotentRequest.objects.exists()


def test_a_throttled_sign_up_creates_no_account(api):
    for _ in range(ANON_LIMIT):
        api.get("/api/products/")
    before = snapshot()
    response = api.post(
        "/api/customers/",
        {
            "username": "late",
            "email": "late@example.com",
            "password": "a-long-Passphrase-7",
            "display_name": "Late",
        },
        format="json",
    )
    assert_throttled(response)
    assert snapshot() == before
