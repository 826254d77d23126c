"""Orders replayed through the API over HTTP by several client threads, as clients meet it: no
answer is a 5xx or HTML, and every figure read back (each order, each customer's lifetime value,
each product's units sold and stock) matches an independent computation of what was sent.
A small run here; the same code scales with CLIENTS and ORDERS_PER_CLIENT."""

import random
import threading
from collections import Counter
from decimal import Decimal

import httpx
import pytest
from rest_framework.authtoken.models import Token

from readmodels.models import DomainEvent
from tests.helpers import ADDRESS_JSON
from tests.pages.conftest import caught_up

CLIENTS, ORDERS_PER_CLIENT = 4, 20
PRICES = {f"RPL-{i}": Decimal(f"{i + 1}.25") for i in range(6)}
STOCK = 10_000


def expect_json(response: httpx.Response) -> dict | list:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_orders_replayed_by_several_clients_read_back_exactly(
    live_server, worker, staff, make_customer, make_product
):
    for sku, price in PRICES.items():
        make_product(sku, price=str(price), stock=STOCK)
    customers = [make_customer() for _ in range(CLIENTS)]
    tokens = {c.pk: Token.objects.get_or_create(user=c)[0].key for c in customers}
    placed: dict[int, dict] = {}  # order id -> what the client sent and did
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client_run(customer):
        draw = random.Random(customer.pk)  # the same orders on every run
        headers = {"Authorization": f"Token {tokens[customer.pk]}"}
        with httpx.Client(base_url=f"{live_server.url}/api", headers=headers) as http:
            start.wait()
            for n in range(ORDERS_PER_CLIENT):
                skus = draw.sample(sorted(PRICES), draw.randint(1, 3))
                lines = {sku: draw.randint(1, 4) for sku in skus}
                body = {
                    "lines": [{"sku": s, "quantity": q} for s, q in lines.items()],
                    "shipping_address": ADDRESS_JSON,
                }
                # Half the orders are sent without the trailing slash, and every one twice
                # with its Idempotency-Key (a retry): one order each.
                path = "/orders/" if n % 2 else "/orders"
                key = {"Idempotency-Key": f"{customer.pk}-{n}"}
                answer = expect_json(http.post(path, json=body, headers=key))
                assert expect_json(http.post(path, json=body, headers=key)) == answer
                total = sum(PRICES[s] * q for s, q in lines.items())
                assert Decimal(answer["total"]) == total
                status = "pending"
                if n % 3 == 0:
                    status = "paid"
                    pay = {"amount": answer["total"], "payment_reference": f"P-{answer['id']}"}
                    paid = expect_json(http.post(f"/orders/{answer['id']}/pay", json=pay))
                    assert paid["status"] == status
                elif n % 5 == 0:
                    status = "cancelled"
                    cancel = {"reason": "changed my mind"}
                    done = expect_json(http.post(f"/orders/{answer['id']}/cancel/", json=cancel))
                    assert done["status"] == status
                with lock:
                    placed[answer["id"]] = {
                        "customer": customer.customer.pk,
                        "lines": lines,
                        "total": total,
                        "status": status,
                    }

    def guarded(customer):
        try:
            client_run(customer)
        except BaseException as error:  # reported below, with the thread's traceback
            failures.append(error)
            start.abort()

    threads = [threading.Thread(target=guarded, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(placed) == CLIENTS * ORDERS_PER_CLIENT

    caught_up()
    assert DomainEvent.objects.filter(event_type="OrderPlaced").count() == len(placed)
    staff_headers = {"Authorization": f"Token {Token.objects.get_or_create(user=staff)[0].key}"}
    with httpx.Client(base_url=f"{live_server.url}/api", headers=staff_headers) as http:
        seen = {}
        url = "/orders/?page_size=100"
        while url:
            page = expect_json(http.get(url))
            seen |= {o["id"]: o for o in page["results"]}
            url = page["next"]
        assert {
            order_id: (Decimal(o["total"]), o["status"], o["customer_id"])
            for order_id, o in seen.items()
        } == {
            order_id: (sent["total"], sent["status"], sent["customer"])
            for order_id, sent in placed.items()
        }

        customers_report = expect_json(http.get("/reports/customers/?page_size=100"))["results"]
        lifetime = Counter()
        for sent in placed.values():
            if sent["status"] == "paid":
                lifetime[sent["customer"]] += sent["total"]
        assert {row["customer_id"]: Decimal(row["lifetime_value"]) for row in customers_report} == {
            c.customer.pk: lifetime[c.customer.pk] for c in customers
        }

        # Units sold and stock taken both count every order that was not cancelled.
        units = Counter()
        for sent in placed.values():
            if sent["status"] != "cancelled":
                units.update(sent["lines"])
        products = expect_json(http.get("/products/?page_size=100"))["results"]
        assert {p["sku"]: (p["units_sold"], p["stock"]) for p in products} == {
            sku: (units[sku], STOCK - units[sku]) for sku in PRICES
        }
