"""The staff dashboard and fulfilment pages."""

import re

import pytest

from orders import commands as orders
from orders import queries
from tests.helpers import ADDRESS
from tests.pages.conftest import caught_up


def paid_order(customer, sku, quantity=2, price="2.50"):
    placed = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": quantity}], shipping_address=ADDRESS
    )
    orders.pay_order(
        actor=customer, order_id=placed.id, amount=price, payment_reference=f"R{placed.id}"
    )
    return placed.id


@pytest.mark.parametrize("url", ["/staff/", "/staff/fulfilment/"])
def test_staff_pages_are_for_staff_only(client, customer, url):
    assert client.get(url)["Location"] == f"/login/?next={url}"
    client.force_login(customer)
    forbidden = client.get(url)
    assert forbidden.status_code == 403
    # The shop's own page, with its navigation, not a bare "403 Forbidden".
    assert 'data-status="403"' in forbidden.content.decode()
    assert 'aria-label="Main"' in forbidden.content.decode()
    assert client.post("/staff/fulfilment/1/ship/", {"tracking_number": "T"}).status_code == 403


def test_dashboard_shows_sales_chart_best_sellers_customers_and_health(
    client, staff, customer, make_customer, make_product
):
    make_product("A-1", price="2.50", name="Arabica")
    make_product("B-1", price="40.00", name="Grinder")
    paid_order(customer, "A-1", price="5.00")
    paid_order(customer, "B-1", quantity=1, price="40.00")
    idle = make_customer("idle")  # signed up, never bought
    caught_up()
    client.force_login(staff)
    page = client.get("/staff/").content.decode()
    assert page.count('class="revenue-bar"') == 30
    assert "<polyline" in page
    # Gridlines and a labelled tick on each scale, weekly day labels, money with its currency.
    assert page.count('class="revenue-tick"') == page.count('class="orders-tick"') == 5
    assert page.count('class="day-tick"') in (4, 5)
    assert "€0" in page and "€45.00" in page
    assert "revenue, 2 orders</title>" in page
    by_revenue = page[page.index('id="best-by-revenue"') :]
    assert by_revenue.index("Grinder") < by_revenue.index("Arabica")
    by_units = page[page.index('id="best-by-units"') :]
    assert by_units.index("Arabica") < by_units.index("Grinder")
    customers = page[
        page.index('id="top-customers"') : page.index("</ol>", page.index('id="top-customers"'))
    ]
    assert customer.customer.display_name in customers and "€45.00 over 2 orders" in customers
    assert idle.customer.display_name not in customers
    # Health in words, with the raw figures in a tooltip.
    assert "product_summary" in page and "Up to date" in page
    assert 'title="position ' in page and "Some figures may be out of date" not in page


def test_dashboard_warns_when_a_projection_lags(client, staff, settings, make_product):
    # Real lag cannot be held steady against a running worker; a negative threshold makes
    # every projection count as lagging, which is what the page must then report.
    settings.PROJECTION_LAG_WARNING_SECONDS = -1
    make_product("A-1")
    client.force_login(staff)
    page = client.get("/staff/").content.decode()
    assert "Some figures may be out of date" in page


def test_fulfilment_ships_and_delivers_with_errors_shown(client, staff, customer, make_product):
    make_product("A-1", price="2.50")
    order_id = paid_order(customer, "A-1", price="5.00")
    caught_up()
    client.force_login(staff)
    fulfilment = client.get("/staff/fulfilment/").content.decode()
    assert f'id="ship-{order_id}"' in fulfilment
    ship_to = re.search(rf'id="ship-to-{order_id}"[^>]*>(.*?)</td>', fulfilment, re.S)[1].strip()
    assert ship_to == (
        '<address class="mb-0">Ada Lovelace<br>Unter den Linden 5<br>10117 Berlin<br>Germany'
        "</address>"
    )
    blank = client.post(f"/staff/fulfilment/{order_id}/ship/", {"tracking_number": ""})
    assert blank.status_code == 400
    assert "Enter the tracking number." in blank.content.decode()
    early = client.post(f"/staff/fulfilment/{order_id}/deliver/")
    assert early.status_code == 400 and "cannot become delivered" in early.content.decode()

    shipped = client.post(f"/staff/fulfilment/{order_id}/ship/", {"tracking_number": "TRK-9"})
    assert shipped.status_code == 302
    page = client.get("/staff/fulfilment/")
    assert [str(m) for m in page.context["messages"]] == [f"Order {order_id} is shipped (TRK-9)."]
    assert f'id="deliver-{order_id}"' in page.content.decode() and "TRK-9" in page.content.decode()
    assert client.post(f"/staff/fulfilment/{order_id}/deliver/").status_code == 302
    page = client.get("/staff/fulfilment/")
    assert [str(m) for m in page.context["messages"]] == [f"Order {order_id} is marked delivered."]
    assert f'id="deliver-{order_id}"' not in page.content.decode()


def test_a_customer_sees_shop_staff_in_the_history_and_staff_see_the_name(
    client, staff, customer, make_product
):
    make_product("A-1", price="2.50")
    order_id = paid_order(customer, "A-1", price="5.00")
    orders.ship_order(actor=staff, order_id=order_id, tracking_number="TRK-1")
    caught_up()
    client.force_login(customer)
    page = client.get(f"/orders/{order_id}/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    assert "by shop staff" in timeline and staff.username not in page
    api = client.get(f"/api/orders/{order_id}/history/").json()
    assert [entry["actor"] for entry in api] == [customer.username, customer.username, "shop staff"]
    staff_history = queries.order_history(order_id=order_id, viewer=staff)
    assert [entry.actor for entry in staff_history][-1] == staff.username
