"""The staff dashboard and fulfilment pages."""

import pytest

from orders import commands as orders
from tests.pages.conftest import caught_up


def paid_order(customer, sku, quantity=2, price="2.50"):
    placed = orders.place_order(actor=customer, lines=[{"sku": sku, "quantity": quantity}])
    orders.pay_order(
        actor=customer, order_id=placed.id, amount=price, payment_reference=f"R{placed.id}"
    )
    return placed.id


@pytest.mark.parametrize("url", ["/staff/", "/staff/fulfilment/"])
def test_staff_pages_are_for_staff_only(client, customer, url):
    assert client.get(url)["Location"] == f"/login/?next={url}"
    client.force_login(customer)
    assert client.get(url).status_code == 403
    assert client.post("/staff/fulfilment/1/ship/", {"tracking_number": "T"}).status_code == 403


def test_dashboard_shows_sales_chart_best_sellers_customers_and_health(
    client, staff, customer, make_product
):
    make_product("A-1", price="2.50", name="Arabica")
    paid_order(customer, "A-1", price="5.00")
    caught_up()
    client.force_login(staff)
    page = client.get("/staff/").content.decode()
    assert page.count('class="revenue-bar"') == 30
    assert "<polyline" in page
    assert "Arabica — 2 sold, 5.00 revenue" in page
    assert f"{customer.customer.display_name} — 5.00 over 1 order" in page
    assert "product_summary" in page and "read side is behind" not in page


def test_dashboard_warns_when_a_projection_lags(client, staff, settings, make_product):
    # Real lag cannot be held steady against a running worker; a negative threshold makes
    # every projection count as lagging, which is what the page must then report.
    settings.PROJECTION_LAG_WARNING_SECONDS = -1
    make_product("A-1")
    client.force_login(staff)
    page = client.get("/staff/").content.decode()
    assert "read side is behind" in page


def test_fulfilment_ships_and_delivers_with_errors_shown(client, staff, customer, make_product):
    make_product("A-1", price="2.50")
    order_id = paid_order(customer, "A-1", price="5.00")
    caught_up()
    client.force_login(staff)
    assert f'id="ship-{order_id}"' in client.get("/staff/fulfilment/").content.decode()
    blank = client.post(f"/staff/fulfilment/{order_id}/ship/", {"tracking_number": ""})
    assert blank.status_code == 400
    assert "Enter the tracking number." in blank.content.decode()
    early = client.post(f"/staff/fulfilment/{order_id}/deliver/")
    assert early.status_code == 400 and "cannot become delivered" in early.content.decode()

    shipped = client.post(f"/staff/fulfilment/{order_id}/ship/", {"tracking_number": "TRK-9"})
    assert shipped.status_code == 302
    page = client.get("/staff/fulfilment/").content.decode()
    assert f'id="deliver-{order_id}"' in page and "TRK-9" in page
    assert client.post(f"/staff/fulfilment/{order_id}/deliver/").status_code == 302
    assert f'id="deliver-{order_id}"' not in client.get("/staff/fulfilment/").content.decode()
