"""Without transaction=True the test's writes never commit: the read side cannot catch up."""

import pytest

from orders import commands as orders
from tests.helpers import ADDRESS, ADDRESS_JSON


def order_body(sku, quantity=1):
    return {"lines": [{"sku": sku, "quantity": quantity}], "shipping_address": ADDRESS_JSON}


@pytest.mark.django_db
def test_after_a_position_not_projected_yet_is_202_with_retry_after(customer_api, make_product):
    sku = make_product(stock=10)
    placed = customer_api.post("/api/orders/", order_body(sku), format="json").json()
    # The test never commits, so no projector can see the order yet.
    response = customer_api.get(f"/api/orders/?after={placed['consistency_token']}&wait=200")
    assert response.status_code == 202
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "status": "processing",
        "consistency_token": placed["consistency_token"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("suffix", ["", "history/"])
def test_your_own_new_order_is_202_processing_not_404(
    customer_api, as_user, make_customer, staff_api, make_product, suffix
):
    # Without ?after= this answered 404 not_found, as for an order that does not exist: in 95
    # of 159 samples a client could not tell "not yet" from "never".
    sku = make_product(stock=10)
    placed = customer_api.post("/api/orders/", order_body(sku), format="json").json()
    path = f"/api/orders/{placed['id']}/{suffix}"
    for client in (customer_api, staff_api):
        response = client.get(path)
        assert response.status_code == 202, response.content
        assert response["Retry-After"] == "1"
        assert response.json() == {
            "status": "processing",
            "consistency_token": placed["consistency_token"],
        }
    # Someone else's order still looks exactly like one that does not exist.
    stranger = as_user(make_customer())
    response = stranger.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": f"There is no order {placed['id']}.",
        "fields": {},
    }


@pytest.mark.django_db
def test_the_new_orders_location_reads_it_consistently(customer_api, customer, make_product):
    sku = make_product(stock=10)
    response = customer_api.post("/api/orders/", order_body(sku), format="json")
    token = response.json()["consistency_token"]
    assert response["Location"] == f"/api/orders/{response.json()['id']}/?after={token}"
    pending = customer_api.get(response["Location"])
    assert (pending.status_code, pending.json()["consistency_token"]) == (202, token)


@pytest.mark.django_db
def test_every_order_command_answers_with_the_state_it_wrote(
    customer_api, staff_api, customer, make_product
):
    # The answer used to be id, version and token: a client had to poll the read side to learn
    # the amount to pay. Nothing here is projected, so all of it comes from the commands.
    first, second = make_product(price="2.50", stock=10), make_product(price="10.00", stock=10)
    body = {
        "lines": [{"sku": first, "quantity": 3}, {"sku": second, "quantity": 1}],
        "shipping_address": ADDRESS_JSON,
    }
    placed = customer_api.post("/api/orders/", body, format="json").json()
    assert placed["status"] == "pending"
    assert (placed["total"], placed["currency"], placed["payment_reference"]) == (
        "17.50",
        "EUR",
        "",
    )
    assert sorted(
        (line["sku"], line["quantity"], line["unit_price"], line["line_total"])
        for line in placed["lines"]
    ) == sorted([(first, 3, "2.50", "7.50"), (second, 1, "10.00", "10.00")])
    paid = customer_api.post(
        f"/api/orders/{placed['id']}/pay",
        {"amount": placed["total"], "payment_reference": "PAY-9"},
        format="json",
    ).json()
    assert (paid["status"], paid["payment_reference"], paid["version"]) == ("paid", "PAY-9", 2)
    again = customer_api.post(
        f"/api/orders/{placed['id']}/pay",
        {"amount": placed["total"], "payment_reference": "PAY-9"},
        format="json",
    ).json()
    assert again == paid
    shipped = staff_api.post(
        f"/api/orders/{placed['id']}/ship", {"tracking_number": "TRK-1"}, format="json"
    ).json()
    assert (shipped["status"], shipped["tracking_number"]) == ("shipped", "TRK-1")
    delivered = staff_api.post(f"/api/orders/{placed['id']}/deliver", {}, format="json").json()
    assert (delivered["status"], delivered["total"]) == ("delivered", "17.50")
    other = customer_api.post("/api/orders/", order_body(first), format="json").json()
    cancelled = customer_api.post(
        f"/api/orders/{other['id']}/cancel", {"reason": "no"}, format="json"
    ).json()
    assert cancelled["status"] == "cancelled"
    assert (
        orders.place_order(
            actor=customer, lines=[{"sku": first, "quantity": 1}], shipping_address=ADDRESS
        ).state["status"]
        == "pending"
    )


@pytest.mark.django_db
def test_the_order_page_says_processing_for_your_own_order_placed_elsewhere(
    client, customer, make_customer, make_product
):
    # The page knew only the orders its own session placed; one placed through the API was a
    # 404 until the read side had it.
    order = orders.place_order(
        actor=customer, lines=order_body(make_product(stock=5))["lines"], shipping_address=ADDRESS
    )
    client.force_login(customer)
    page = client.get(f"/orders/{order.id}/")
    assert page.status_code == 200
    assert "orders/_confirming.html" in [t.name for t in page.templates]
    client.force_login(make_customer())
    assert client.get(f"/orders/{order.id}/").status_code == 404
