"""Without transaction=True the test's writes never commit: the read side cannot catch up."""

import pytest


def order_body(sku, quantity=1):
    return {"lines": [{"sku": sku, "quantity": quantity}]}


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
