"""The SQL statements each kind of request sends, pinned (issue 19): a change that adds a
query to a hot path shows up here. Requests log in with a token, as API clients do. Django
counts BEGIN and COMMIT too: each is a round trip.

When a number here changes on purpose, update it and say why in the commit."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders import commands
from readmodels import engine
from tests.helpers import ADDRESS, ADDRESS_JSON

pytestmark = pytest.mark.django_db(transaction=True)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def statements(send) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = send()
    return response, [q["sql"] for q in queries.captured_queries]


@pytest.fixture
def shop(customer, staff, make_product):
    skus = [make_product(price="4.00", stock=1000) for _ in range(2)]
    engine.run_all()
    return {
        "skus": skus,
        "customer": token_client(customer),
        "customer_user": customer,
        "staff": token_client(staff),
        "anonymous": APIClient(),
    }


def two_lines(skus):
    return {
        "lines": [{"sku": sku, "quantity": 1} for sku in skus],
        "shipping_address": ADDRESS_JSON,
    }


def place(shop, **headers):
    return shop["customer"].post("/api/orders/", two_lines(shop["skus"]), format="json", **headers)


def test_place_order(shop):
    place(shop)  # warm: the first request of a connection sets it up
    response, sent = statements(lambda: place(shop))
    assert response.status_code == 201
    # token + user + customer (one query); BEGIN; products locked; order; lines; the stock of
    # both lines (one UPDATE); event; COMMIT.
    assert len(sent) == 8, sent


def test_place_order_with_an_idempotency_key_adds_the_claim_and_the_stored_response(shop):
    place(shop, HTTP_IDEMPOTENCY_KEY="warm")
    _, unkeyed = statements(lambda: place(shop))
    response, keyed = statements(lambda: place(shop, HTTP_IDEMPOTENCY_KEY="k-1"))
    assert response.status_code == 201
    # The claim INSERT, the response UPDATE, and a SAVEPOINT and RELEASE: the command's own
    # transaction is nested in the one that holds the claim. No extra commit.
    assert len(keyed) - len(unkeyed) == 4, (unkeyed, keyed)
    replay, replayed = statements(lambda: place(shop, HTTP_IDEMPOTENCY_KEY="k-1"))
    assert replay.json() == response.json()
    # token; BEGIN; the claim finds the key taken; the stored response; COMMIT
    assert len(replayed) == 5, replayed


def test_pay_order(shop):
    order = place(shop).json()
    response, sent = statements(
        lambda: shop["customer"].post(
            f"/api/orders/{order['id']}/pay",
            {"amount": "8.00", "payment_reference": "P-1"},
            format="json",
        )
    )
    assert response.status_code == 200
    # token + user + customer; BEGIN; order locked; order updated; event; COMMIT
    assert len(sent) == 6, sent


def test_staff_restock(shop):
    response, sent = statements(
        lambda: shop["staff"].post(
            f"/api/products/{shop['skus'][0]}/restock",
            {"quantity": 5, "reason": "delivery"},
            format="json",
        )
    )
    assert response.status_code == 200
    # token + user; the user's and the groups' permissions; BEGIN; product locked; update;
    # event; COMMIT
    assert len(sent) == 8, sent


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("anonymous", "/api/products/"),
        ("anonymous", "/api/products/{sku}/"),
        ("anonymous", "/api/categories/"),
        ("customer", "/api/orders/"),
        ("customer", "/api/orders/{order}/"),
    ],
)
def test_queries(shop, who, path):
    order = commands.place_order(
        actor=shop["customer_user"],
        lines=two_lines(shop["skus"])["lines"],
        shipping_address=ADDRESS,
    )
    engine.run_all()
    url = path.format(sku=shop["skus"][0], order=order.id)
    response, sent = statements(lambda: shop[who].get(url))
    assert response.status_code == 200
    assert len(sent) == EXPECTED_QUERIES[path], sent


EXPECTED_QUERIES = {
    "/api/products/": 2,  # checkpoint positions for the ETag; the page
    "/api/products/{sku}/": 2,
    "/api/categories/": 2,
    "/api/orders/": 3,  # + token, user and customer
    "/api/orders/{order}/": 3,
}


def test_a_query_after_a_token_already_reached_costs_one_statement_more(shop):
    token = place(shop).json()["consistency_token"]
    engine.run_all()
    _, plain = statements(lambda: shop["anonymous"].get("/api/products/"))
    response, waited = statements(
        lambda: shop["anonymous"].get(f"/api/products/?after={token}&wait=1000")
    )
    assert response.status_code == 200
    assert len(waited) == len(plain) + 1, waited


def test_pages(shop, client):
    """The shopper's pages, logged in with a session as shoppers are."""
    client.force_login(shop["customer_user"])
    for sku in shop["skus"]:
        client.post(f"/cart/add/{sku}/", {"quantity": 1})
    _, home = statements(lambda: client.get("/"))
    _, product = statements(lambda: client.get(f"/products/{shop['skus'][0]}/"))
    review = client.get("/checkout/").content.decode()  # the review step carries the form's key
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', review)[1]
    response, checkout = statements(
        lambda: client.post("/checkout/", {"idempotency_key": key, **ADDRESS_JSON})
    )
    assert response.status_code == 302, response.content
    counts = {"home": len(home), "product": len(product), "checkout": len(checkout)}
    # home: categories, product count, session, user, products; product: the product,
    # session, user; checkout: session, user, customer, then place_order (BEGIN, the key,
    # products locked, order, lines, stock, event, COMMIT), and
    # the emptied cart saved in the session (BEGIN, UPDATE, COMMIT).
    assert counts == EXPECTED_PAGE_QUERIES, (counts, checkout)


EXPECTED_PAGE_QUERIES = {"home": 5, "product": 3, "checkout": 14}
