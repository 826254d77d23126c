"""Shopper pages through the Django test client: happy paths, errors, permissions."""

import re

import pytest
from django.contrib.auth import get_user_model

from orders import commands as orders
from orders.models import Order
from readmodels.models import OrderSummary
from tests.conftest import wait_until
from tests.pages.conftest import caught_up


def checkout_key(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode())[1]


def test_catalog_searches_filters_sorts_and_paginates_keeping_filters(client, make_product):
    for number in range(14):
        make_product(f"BEAN-{number:02}", name=f"Bean {number:02}", price=f"{number + 1}.00")
    make_product("KETTLE-1", name="Kettle", price="40.00", stock=0)
    caught_up()

    page = client.get("/", {"q": "bean", "sort": "-price"}).content.decode()
    assert page.index("Bean 13") < page.index("Bean 12")
    assert "Kettle" not in page
    assert "q=bean&amp;sort=-price&amp;page=2" in page

    second = client.get("/", {"q": "bean", "sort": "-price", "page": 2}).content.decode()
    assert "Bean 01" in second and "Bean 13" not in second

    in_stock = client.get("/", {"in_stock": "on", "min_price": "30"}).content.decode()
    assert "No products match your search." in in_stock

    ranged = client.get("/", {"min_price": "3", "max_price": "4", "category": "coffee"})
    assert re.findall(r"Bean \d\d", ranged.content.decode()) == ["Bean 02", "Bean 03"]


def test_catalog_reports_a_bad_filter_next_to_its_field(client, make_product):
    response = client.get("/", {"min_price": "cheap", "max_price": "5"})
    assert response.status_code == 200
    assert "Enter a number." in response.content.decode()
    reversed_range = client.get("/", {"min_price": "9", "max_price": "5"}).content.decode()
    assert "The maximum price must not be below the minimum." in reversed_range


def test_product_page_shows_stock_and_unknown_products_are_404(client, make_product):
    make_product("FEW-1", name="Rare beans", stock=3)
    make_product("NONE-1", name="Sold out beans", stock=0)
    caught_up()
    assert "Only 3 left" in client.get("/products/FEW-1/").content.decode()
    sold_out = client.get("/products/NONE-1/").content.decode()
    assert "Out of stock" in sold_out and "Add to cart" not in sold_out
    assert client.get("/products/NOPE-1/").status_code == 404


def test_product_page_shows_sales_figures_to_staff_only(
    client, client_for, customer, staff, make_product
):
    # The same decision as on the API: sales figures are the shop's business.
    make_product("HOT-1", name="Hot beans", stock=9)
    orders.place_order(actor=customer, lines=[{"sku": "HOT-1", "quantity": 2}])
    caught_up()
    for shopper in (client, client_for(customer)):
        assert "sold" not in shopper.get("/products/HOT-1/").content.decode()
    assert "2 sold in 1 order" in client_for(staff).get("/products/HOT-1/").content.decode()


def test_signup_logs_in_and_reports_errors_next_to_fields(client, customer):
    bad = client.post(
        "/signup/",
        {
            "username": customer.username.upper(),
            "display_name": "",
            "email": "nope",
            "password": "short",
            "password_again": "other",
        },
    )
    assert bad.status_code == 400
    assert bad.context["form"].errors.keys() == {"display_name", "email", "password_again"}
    taken = client.post(
        "/signup/",
        {
            "username": customer.username.upper(),
            "display_name": "Ann",
            "email": "ann@example.com",
            "password": "a-long-Passphrase-9",
            "password_again": "a-long-Passphrase-9",
        },
    )
    assert taken.context["form"].errors == {"username": ["This username is taken."]}

    ok = client.post(
        "/signup/?next=/cart/",
        {
            "username": "ann",
            "display_name": "Ann",
            "email": "ann@example.com",
            "password": "a-long-Passphrase-9",
            "password_again": "a-long-Passphrase-9",
            "next": "/cart/",
        },
    )
    assert ok.status_code == 302 and ok["Location"] == "/cart/"
    assert client.get("/orders/").context["user"].username == "ann"


def test_pages_needing_a_login_send_the_visitor_to_log_in_and_back(client):
    for url in ["/orders/", "/orders/1/", "/checkout/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_cart_add_change_remove_and_total(client, make_product):
    make_product("A-1", price="2.50")
    make_product("B-1", price="4.00")
    caught_up()
    client.post("/cart/add/A-1/", {"quantity": 2})
    client.post("/cart/add/B-1/", {"quantity": 1})
    assert client.get("/cart/").context["total"] == pytest.approx(9)
    client.post("/cart/update/A-1/", {"quantity": 4})
    assert client.get("/cart/").context["total"] == pytest.approx(14)
    bad = client.post("/cart/update/A-1/", {"quantity": 0})
    assert bad.status_code == 400
    assert "Enter at least 1, or remove the line." in bad.content.decode()
    client.post("/cart/remove/B-1/")
    cart = client.get("/cart/")
    assert [line.sku for line in cart.context["lines"]] == ["A-1"]
    bad_add = client.post("/cart/add/A-1/", {"quantity": "lots"})
    assert bad_add.status_code == 400 and "Enter a whole number." in bad_add.content.decode()
    assert client.post("/cart/add/NOPE-1/", {"quantity": 1}).status_code == 404


def test_checkout_places_one_order_even_when_submitted_twice(client, customer, make_product):
    make_product("A-1", price="2.50")
    caught_up()
    client.force_login(customer)
    client.post("/cart/add/A-1/", {"quantity": 2})
    key = checkout_key(client.get("/cart/"))
    first = client.post("/checkout/", {"idempotency_key": key})
    again = client.post("/checkout/", {"idempotency_key": key})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Order.objects.count() == 1
    assert client.get("/cart/").context["lines"] == []


def test_checkout_refusal_is_shown_on_the_cart_line(client, customer, make_product):
    make_product("FEW-1", stock=1)
    caught_up()
    client.force_login(customer)
    client.post("/cart/add/FEW-1/", {"quantity": 3})
    response = client.post("/checkout/", {"idempotency_key": checkout_key(client.get("/cart/"))})
    assert response.status_code == 400
    assert "Only 1 left, you asked for 3." in response.content.decode()
    assert Order.objects.count() == 0
    empty = Client_post_empty_cart(client)
    assert "An order needs at least one line." in empty


def Client_post_empty_cart(client):
    client.post("/cart/remove/FEW-1/")
    return client.post("/checkout/", {"idempotency_key": "k-empty"}).content.decode()


def test_order_page_says_processing_until_the_read_side_has_it(client, customer, make_product):
    make_product("A-1", price="2.50")
    caught_up()
    client.force_login(customer)
    client.post("/cart/add/A-1/", {"quantity": 2})
    response = client.post("/checkout/", {"idempotency_key": "key-1"})
    order_id = Order.objects.get().pk
    wait_until(lambda: OrderSummary.objects.filter(order_id=order_id).exists())
    page = client.get(response["Location"])
    assert "Processing your order" not in page.content.decode()
    assert page.context["order"].total == 5
    partial = client.get(response["Location"], headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "order-total" in partial.content.decode()


def test_processing_page_polls_with_htmx_for_an_order_not_yet_projected(client, customer):
    client.force_login(customer)
    session = client.session
    session["placed_orders"] = {"key": 987654}
    session.save()
    page = client.get("/orders/987654/").content.decode()
    assert "Processing your order…" in page
    assert 'hx-trigger="every 1s"' in page and "htmx" in page
    # An order this session did not place is simply not found.
    assert client.get("/orders/987653/").status_code == 404


def place(customer, sku="A-1", quantity=2):
    return orders.place_order(actor=customer, lines=[{"sku": sku, "quantity": quantity}])


def test_my_orders_detail_timeline_and_pay(client, customer, make_product):
    make_product("A-1", price="2.50")
    placed = place(customer)
    caught_up()
    client.force_login(customer)
    listing = client.get("/orders/").content.decode()
    assert f"Order {placed.id}" in listing and "5.00" in listing

    wrong = client.post(
        f"/orders/{placed.id}/pay/", {"amount": "4.00", "payment_reference": "REF-1"}
    )
    assert wrong.status_code == 400
    assert wrong.context["payment_form"].errors == {"amount": ["Pay exactly 5.00."]}
    empty = client.post(f"/orders/{placed.id}/pay/", {"amount": "", "payment_reference": ""})
    assert set(empty.context["payment_form"].errors) == {"amount", "payment_reference"}

    paid = client.post(f"/orders/{placed.id}/pay/", {"amount": "5.00", "payment_reference": "R1"})
    assert paid.status_code == 302
    page = client.get(f"/orders/{placed.id}/").content.decode()
    assert 'id="order-status">paid<' in page
    timeline = page[page.index('id="timeline"') :]
    assert "— Placed" in timeline and "— Paid" in timeline

    cancel = client.post(f"/orders/{placed.id}/cancel/", {"reason": "changed my mind"})
    assert cancel.status_code == 400
    assert "only be cancelled by our staff" in cancel.content.decode()


def test_customer_cancels_a_pending_order(client, customer, make_product):
    make_product("A-1")
    placed = place(customer)
    caught_up()
    client.force_login(customer)
    blank = client.post(f"/orders/{placed.id}/cancel/", {"reason": ""})
    assert blank.context["cancel_form"].errors == {"reason": ["Tell us why you are cancelling."]}
    client.post(f"/orders/{placed.id}/cancel/", {"reason": "too slow"})
    assert 'id="order-status">cancelled<' in client.get(f"/orders/{placed.id}/").content.decode()


def test_another_customers_order_is_not_found_and_cannot_be_paid(
    client, customer, make_customer, make_product, staff
):
    make_product("A-1")
    placed = place(customer)
    caught_up()
    client.force_login(make_customer())
    assert client.get(f"/orders/{placed.id}/").status_code == 404
    assert f"Order {placed.id}" not in client.get("/orders/").content.decode()
    pay = client.post(f"/orders/{placed.id}/pay/", {"amount": "20.00", "payment_reference": "X"})
    assert pay.status_code == 404
    client.force_login(staff)  # staff without a customer profile have no shopper orders
    assert client.get(f"/orders/{placed.id}/").status_code == 404
    assert client.post(f"/orders/{placed.id}/cancel/", {"reason": "x"}).status_code == 404
    assert Order.objects.get().status == "pending"


def test_forms_need_csrf(customer, make_product):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    assert client.post("/checkout/", {"idempotency_key": "k"}).status_code == 403


def test_login_and_logout(client, customer):
    bad = client.post("/login/", {"username": customer.username, "password": "wrong"})
    assert "Please enter a correct username and password" in bad.content.decode()
    ok = client.post("/login/", {"username": customer.username, "password": "a-long-Passphrase-7"})
    assert ok.status_code == 302
    client.post("/logout/")
    assert client.get("/orders/").status_code == 302
    assert get_user_model().objects.filter(username=customer.username).exists()
