"""Failed logins are limited per account and per client address, on the API's token endpoint
(429) and on the login page (a form error): password guessing stops after a few tries, however
the guesses are spread over accounts or forwarded-for headers."""

import pytest
from django.core.cache import cache
from django.test import Client

PASSWORD = "a-long-Passphrase-7"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.LOGIN_FAILURES_PER_IP = 5
    cache.clear()  # the counters live in the cache's Redis database


def token(api, username, password, **headers):
    return api.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", **headers
    )


def assert_login_throttled(response):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert "Too many failed logins" in error["message"]
    assert 0 < int(response["Retry-After"]) <= 900


def test_guessing_one_accounts_password_stops_after_the_limit(api, customer):
    for _ in range(3):
        assert token(api, customer.username, "guess").status_code == 400
    assert_login_throttled(token(api, customer.username, "guess"))
    # Even the right password is refused now: the guesser cannot tell it was right.
    assert_login_throttled(token(api, customer.username, PASSWORD))
    # The account's limit does not shut out other accounts from the same place…
    assert token(api, "someone-else", "guess").status_code == 400


def test_the_account_limit_ignores_the_usernames_case(api, customer):
    for name in (customer.username, customer.username.upper(), customer.username.title()):
        assert token(api, name, "guess").status_code == 400
    assert_login_throttled(token(api, customer.username, "guess"))


def test_guessing_across_accounts_stops_at_the_address_limit(api, make_customer):
    users = [make_customer() for _ in range(6)]
    for user in users[:5]:
        # A forwarded-for header the client wrote changes nothing.
        response = token(api, user.username, "guess", HTTP_X_FORWARDED_FOR=f"10.1.1.{user.pk}")
        assert response.status_code == 400
    assert_login_throttled(token(api, users[5].username, PASSWORD))


def test_right_passwords_do_not_count_as_failures(api, customer):
    for _ in range(6):
        assert token(api, customer.username, PASSWORD).status_code == 200
    assert token(api, customer.username, "guess").status_code == 400


def test_the_login_page_shows_an_error_past_the_limit_and_logs_nobody_in(customer):
    client = Client()
    for _ in range(3):
        response = client.post("/login/", {"username": customer.username, "password": "guess"})
        assert "Please enter a correct username and password" in response.content.decode()
    response = client.post("/login/", {"username": customer.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_page_and_the_api_share_the_count(api, customer):
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": customer.username, "password": "guess"})
    assert_login_throttled(token(api, customer.username, PASSWORD))


def test_the_admin_login_is_limited_too(staff):
    client = Client()
    for _ in range(3):
        response = client.post("/admin/login/", {"username": staff.username, "password": "guess"})
        assert "Please enter the correct username and password" in response.content.decode()
    response = client.post("/admin/login/", {"username": staff.username, "password": "pw"})
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
