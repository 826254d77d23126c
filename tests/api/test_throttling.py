"""Past the rate limit a client gets 429 in the usual error shape, with Retry-After, and a
throttled command does nothing."""

import logging
import threading

import pytest
import redis
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from api.models import IdempotentRequest
from api.throttling import AnonThrottle
from tests.helpers import ADDRESS_JSON, snapshot

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


def sign_up(api, name):
    body = {
        "username": name,
        "email": f"{name}@example.com",
        "password": "a-long-Passphrase-7",
        "display_name": name.title(),
    }
    return api.post("/api/customers/", body, format="json")


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
        {"lines": [{"sku": sku, "quantity": 1}], "shipping_address": ADDRESS_JSON},
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
    response = sign_up(api, "late")
    assert_throttled(response)
    assert snapshot() == before


# --- the client address ---


def test_a_made_up_forwarded_for_header_does_not_escape_the_anonymous_limit(api):
    # DRF keyed anonymous clients on X-Forwarded-For: a new address each time was never throttled.
    for i in range(ANON_LIMIT):
        response = api.get("/api/products/", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        assert response.status_code == 200
    assert_throttled(api.get("/api/products/", HTTP_X_FORWARDED_FOR="10.0.0.99"))


def test_behind_a_trusted_proxy_the_address_it_saw_is_the_client(api, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The proxy appends the address it saw; whatever the client wrote comes before it.
    for _ in range(ANON_LIMIT):
        assert (
            api.get("/api/products/", HTTP_X_FORWARDED_FOR="1.1.1.1, 10.0.0.1").status_code == 200
        )
    assert_throttled(api.get("/api/products/", HTTP_X_FORWARDED_FOR="2.2.2.2, 10.0.0.1"))
    assert api.get("/api/products/", HTTP_X_FORWARDED_FOR="1.1.1.1, 10.0.0.2").status_code == 200


# --- counting ---


def test_concurrent_requests_are_counted_exactly(rf):
    # DRF's throttle read the history, appended and wrote it back: 2,000 concurrent requests
    # against a small limit let 721 through. Here every thread waits at the barrier and then
    # asks at once.
    threads, limit = 64, 5
    barrier = threading.Barrier(threads)
    request = rf.get("/api/products/")
    request.user = AnonymousUser()
    allowed = []

    def ask():
        throttle = AnonThrottle()
        throttle.num_requests, throttle.duration = limit, 3600
        barrier.wait()
        allowed.append(throttle.allow_request(request, None))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert allowed.count(True) == limit


def test_a_throttle_costs_one_redis_round_trip(api, settings):
    # One MULTI with INCR and EXPIRE: counted by Redis itself, whatever the client library does.
    client = redis.Redis.from_url(settings.RATE_LIMIT_REDIS_URL)
    before = client.info("commandstats")
    api.get("/api/products/")
    after = client.info("commandstats")

    def calls(name):
        return after.get(f"cmdstat_{name}", {}).get("calls", 0) - before.get(
            f"cmdstat_{name}", {}
        ).get("calls", 0)

    assert (calls("multi"), calls("incrby"), calls("expire"), calls("get")) == (1, 1, 1, 0)


# --- Redis down: fail open ---


@pytest.fixture
def throttle_redis(own_redis, settings):
    """The throttles (and the cache) on a Redis of the test's own, which it can stop."""
    settings.RATE_LIMIT_REDIS_URL = own_redis.url
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": own_redis.url}
    }  # fmt: skip
    return own_redis


def test_with_redis_stopped_requests_are_served_and_the_outage_logged_once(
    throttle_redis, api, caplog
):
    own_redis = throttle_redis
    for _ in range(ANON_LIMIT):
        assert api.get("/api/products/").status_code == 200
    assert_throttled(api.get("/api/products/"))

    own_redis.stop()
    caplog.set_level(logging.WARNING, logger="api.throttling")
    for _ in range(ANON_LIMIT + 2):
        assert api.get("/api/products/").status_code == 200
    before = snapshot()
    signed_up = sign_up(api, "outage")
    assert signed_up.status_code == 201, signed_up.content
    assert snapshot() != before
    token = api.post(
        "/api/auth/token/",
        {"username": "outage", "password": "a-long-Passphrase-7"},
        format="json",
    )
    assert token.status_code == 200, token.content
    errors = [r for r in caplog.records if r.name == "api.throttling"]
    assert [r.levelname for r in errors] == ["ERROR"]
    assert "Redis cannot be reached" in errors[0].getMessage()

    # Back up: limits count again, and the recovery is logged.
    own_redis.start()
    for _ in range(ANON_LIMIT):
        assert api.get("/api/products/").status_code == 200
    assert_throttled(api.get("/api/products/"))
    assert "on again" in caplog.records[-1].getMessage() or any(
        "on again" in r.getMessage() for r in caplog.records
    )
