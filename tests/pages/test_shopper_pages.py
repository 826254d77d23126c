"""Shopper pages through the Django test client: happy paths, errors, permissions."""

import re

import pytest
from django.contrib.auth import get_user_model

from catalog import commands as catalog
from orders import commands as orders
from orders.models import Order
from readmodels.models import DomainEvent, OrderSummary
from tests.conftest import wait_until
from tests.helpers import ADDRESS, ADDRESS_JSON, snapshot
from tests.pages.conftest import caught_up


def checkout_key(response) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', response.content.decode())[1]


def messages_of(client, response) -> list[str]:
    """The messages shown on the page an action redirected to (which consumes them)."""
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"])
    return [str(message) for message in page.context["messages"]]


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


def test_a_reversed_price_range_is_a_field_error_and_the_other_filters_stay(
    client, staff, make_product
):
    make_product("BEAN-1", name="House beans", price="12.00")
    catalog.create_category(actor=staff, name="Kettles")
    catalog.create_product(
        actor=staff, sku="KTL-1", name="Kettle", category="kettles", price="15.00", stock=5
    )
    caught_up()
    response = client.get("/", {"min_price": "20", "max_price": "10", "category": "kettles"})
    form = response.context["form"]
    assert form.errors == {"max_price": ["Must not be below the minimum price."]}
    page = response.content.decode()
    # The message is tied to its field, and the category filter still applies.
    assert 'aria-describedby="id_max_price_error"' in page
    assert [product.sku for product in response.context["page"]] == []  # min 20 still applies
    kettles = client.get("/", {"min_price": "1", "max_price": "x", "category": "kettles"})
    assert [product.sku for product in kettles.context["page"]] == ["KTL-1"]
    assert 'id="filters" class="collapse d-md-block card card-body mb-4 show"' in (
        kettles.content.decode()
    )  # on a phone the filters open to show the error


def test_product_page_shows_stock_and_unknown_products_are_404(client, make_product):
    make_product("FEW-1", name="Rare beans", stock=3)
    make_product("NONE-1", name="Sold out beans", stock=0)
    caught_up()
    assert "Only 3 left" in client.get("/products/FEW-1/").content.decode()
    sold_out = client.get("/products/NONE-1/").content.decode()
    assert "Out of stock" in sold_out and "Add to cart" not in sold_out
    assert client.get("/products/NOPE-1/").status_code == 404


def test_a_sku_with_a_nul_byte_is_a_404_on_every_page_not_a_500(client, customer):
    # Postgres refuses text with a NUL byte; the pages once passed it through and answered 500.
    client.force_login(customer)
    before = snapshot()
    assert client.get("/products/ABC%00/").status_code == 404
    assert client.post("/cart/add/ABC%00/", {"quantity": 1}).status_code == 404
    assert client.post("/cart/update/ABC%00/", {"quantity": 1}).status_code == 404
    assert client.get("/cart/").status_code == 200
    assert snapshot() == before


def test_the_product_page_caps_the_quantity_at_the_stock_and_the_cart_says_so(client, make_product):
    make_product("FEW-1", name="Rare beans", stock=3)
    caught_up()
    page = client.get("/products/FEW-1/").content.decode()
    assert 'max="3"' in page and "You can add up to 3, all we have in stock." in page
    response = client.post("/cart/add/FEW-1/", {"quantity": 10})
    assert messages_of(client, response) == ["We have only 3 of Rare beans, so your cart holds 3."]
    cart = client.get("/cart/")
    assert [(line.sku, line.quantity) for line in cart.context["lines"]] == [("FEW-1", 3)]
    assert 'max="3"' in cart.content.decode()
    more = client.post("/cart/add/FEW-1/", {"quantity": 1})
    assert messages_of(client, more) == ["We have only 3 of Rare beans, so your cart holds 3."]
    update = client.post("/cart/update/FEW-1/", {"quantity": 7})
    assert messages_of(client, update) == ["We have only 3 of Rare beans."]
    assert client.get("/cart/").context["lines"][0].quantity == 3
    # The header counts items, not lines.
    assert 'cart-count">3<' in client.get("/cart/").content.decode()


def test_a_discontinued_product_says_it_is_no_longer_available(client, staff, make_product):
    make_product("OLD-1", name="Old beans")
    catalog.discontinue_product(actor=staff, sku="OLD-1")
    caught_up()
    response = client.get("/products/OLD-1/")
    assert response.status_code == 410
    page = response.content.decode()
    assert "This product is no longer available." in page and "Add to cart" not in page
    before = snapshot()
    refused = client.post("/cart/add/OLD-1/", {"quantity": 1})
    assert refused.status_code == 400
    assert "This product is no longer available." in refused.content.decode()
    assert client.get("/cart/").context["lines"] == []
    assert snapshot() == before


def test_product_page_shows_sales_figures_to_staff_only(
    client, client_for, customer, staff, make_product
):
    # The same decision as on the API: sales figures are the shop's business.
    make_product("HOT-1", name="Hot beans", stock=9)
    orders.place_order(
        actor=customer, lines=[{"sku": "HOT-1", "quantity": 2}], shipping_address=ADDRESS
    )
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
    # Every error at once: the form's own and the sign-up rules' (taken name, weak password).
    assert bad.context["form"].errors == {
        "username": ["This username is taken."],
        "display_name": ["This field is required."],
        "email": ["Enter a valid email address."],
        "password": [
            "This password is too short. It must contain at least 8 characters.",
        ],
        "password_again": ["The two passwords do not match."],
    }
    common = client.post(
        "/signup/",
        {
            "username": customer.username,
            "display_name": "Ann",
            "email": "ann@example.com",
            "password": "password123",
            "password_again": "password123",
        },
    )
    assert set(common.context["form"].errors) == {"username", "password"}
    assert "This password is too common." in common.context["form"].errors["password"][0]
    assert 'aria-describedby="id_username_error"' in common.content.decode()
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
    assert messages_of(client, ok) == ["Welcome, Ann! Your account is ready."]
    assert client.get("/orders/").context["user"].username == "ann"


def test_a_refused_signup_writes_nothing(client, customer):
    before = snapshot()
    client.post(
        "/signup/",
        {"username": customer.username, "display_name": "X", "email": "x@example.com"},
    )
    assert snapshot() == before


def test_pages_needing_a_login_send_the_visitor_to_log_in_and_back(client):
    for url in ["/orders/", "/orders/1/", "/checkout/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_cart_add_change_remove_and_total(client, make_product):
    make_product("A-1", price="2.50")
    make_product("B-1", price="4.00")
    caught_up()
    added = client.post("/cart/add/A-1/", {"quantity": 2})
    assert messages_of(client, added) == ["Added 2 × Product A-1."]
    client.post("/cart/add/B-1/", {"quantity": 1})
    cart = client.get("/cart/")
    assert cart.context["total"] == pytest.approx(9)
    assert "€9.00" in cart.content.decode()
    updated = client.post("/cart/update/A-1/", {"quantity": 4})
    assert messages_of(client, updated) == ["Updated Product A-1: 4 in your cart."]
    assert client.get("/cart/").context["total"] == pytest.approx(14)
    bad = client.post("/cart/update/A-1/", {"quantity": 0})
    assert bad.status_code == 400
    assert "Enter at least 1, or remove the line." in bad.content.decode()
    removed = client.post("/cart/remove/B-1/")
    assert messages_of(client, removed) == ["Removed from your cart."]
    stale = client.post("/cart/update/B-1/", {"quantity": 3})  # from a tab showing the old cart
    assert messages_of(client, stale) == []
    cart = client.get("/cart/")
    assert [line.sku for line in cart.context["lines"]] == ["A-1"]
    bad_add = client.post("/cart/add/A-1/", {"quantity": "lots"})
    assert bad_add.status_code == 400 and "Enter a whole number." in bad_add.content.decode()
    assert client.post("/cart/add/NOPE-1/", {"quantity": 1}).status_code == 404


def test_checkout_reviews_then_places_one_order_even_when_submitted_twice(
    client, customer, make_product
):
    make_product("A-1", price="2.50")
    caught_up()
    client.force_login(customer)
    client.post("/cart/add/A-1/", {"quantity": 2})
    assert 'href="/checkout/"' in client.get("/cart/").content.decode()
    review = client.get("/checkout/")
    assert review.status_code == 200 and Order.objects.count() == 0
    assert "Review your order" in review.content.decode() and "€5.00" in review.content.decode()
    key = checkout_key(review)
    first = client.post("/checkout/", {"idempotency_key": key, **ADDRESS_JSON})
    again = client.post("/checkout/", {"idempotency_key": key, **ADDRESS_JSON})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/orders/{Order.objects.get().pk}/thanks/"
    assert Order.objects.count() == 1
    assert client.get("/cart/").context["lines"] == []
    assert client.get("/checkout/")["Location"] == "/cart/"  # nothing left to review


def test_checkout_refusal_is_shown_on_the_cart_line(client, customer, make_product):
    make_product("FEW-1", stock=1)
    caught_up()
    client.force_login(customer)
    client.post("/cart/add/FEW-1/", {"quantity": 1})
    review = client.get("/checkout/")
    orders.place_order(
        actor=customer, lines=[{"sku": "FEW-1", "quantity": 1}], shipping_address=ADDRESS
    )  # the last one
    response = client.post("/checkout/", {"idempotency_key": checkout_key(review), **ADDRESS_JSON})
    assert response.status_code == 400
    assert "Only 0 left, you asked for 1." in response.content.decode()
    assert Order.objects.count() == 1
    empty = Client_post_empty_cart(client)
    assert "An order needs at least one line." in empty


def Client_post_empty_cart(client):
    client.post("/cart/remove/FEW-1/")
    return client.post(
        "/checkout/", {"idempotency_key": "k-empty", **ADDRESS_JSON}
    ).content.decode()


def test_thank_you_page_shows_the_order_once_the_read_side_has_it(client, customer, make_product):
    make_product("A-1", price="2.50")
    caught_up()
    client.force_login(customer)
    client.post("/cart/add/A-1/", {"quantity": 2})
    response = client.post("/checkout/", {"idempotency_key": "key-1", **ADDRESS_JSON})
    order_id = Order.objects.get().pk
    wait_until(lambda: OrderSummary.objects.filter(order_id=order_id).exists())
    page = client.get(response["Location"])
    assert "Thank you for your order!" in page.content.decode()
    assert "Confirming your order" not in page.content.decode()
    assert page.context["order"].total == 5
    partial = client.get(response["Location"], headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "order-total" in partial.content.decode()


def test_confirming_page_polls_with_htmx_for_an_order_not_yet_projected(
    client, customer, make_product
):
    sku = make_product()
    client.force_login(customer)
    # No worker runs here: the order is in the event log, not yet on the read side.
    order_id = orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": 1}], shipping_address=ADDRESS
    ).id
    page = client.get(f"/orders/{order_id}/thanks/").content.decode()
    assert "Thank you for your order!" in page and "Confirming your order…" in page
    assert f'hx-get="/orders/{order_id}/thanks/"' in page
    assert 'hx-trigger="every 1s"' in page and "htmx" in page
    assert "alert-warning" not in page  # calm, not a warning
    # An order that is nowhere, not even in the log, is simply not found.
    assert client.get(f"/orders/{order_id + 1000}/").status_code == 404


def place(customer, sku="A-1", quantity=2):
    return orders.place_order(
        actor=customer, lines=[{"sku": sku, "quantity": quantity}], shipping_address=ADDRESS
    )


def test_my_orders_detail_timeline_and_pay(client, customer, make_product):
    make_product("A-1", price="2.50")
    placed = place(customer)
    caught_up()
    client.force_login(customer)
    listing = client.get("/orders/").content.decode()
    assert f"Order {placed.id}" in listing and "€5.00" in listing
    order_page = client.get(f"/orders/{placed.id}/").content.decode()
    assert "Pay €5.00" in order_page and 'name="amount"' not in order_page

    # The shopper only confirms: the amount is the order's, the reference the server's. A
    # tampered amount in the request is ignored; a double click pays once.
    paid = client.post(f"/orders/{placed.id}/pay/", {"amount": "0.01"})
    again = client.post(f"/orders/{placed.id}/pay/")
    assert paid.status_code == again.status_code == 302
    assert messages_of(client, again) == ["Thank you! We received your payment of €5.00."]
    order = Order.objects.get()
    assert order.status == "paid" and order.payment_reference.startswith("WEB-")
    assert DomainEvent.objects.filter(event_type="OrderPaid").count() == 1
    page = client.get(f"/orders/{placed.id}/").content.decode()
    assert 'id="order-status" data-status="paid">Paid<' in page
    timeline = page[page.index('id="timeline"') :]
    assert ">Placed<" in timeline and ">Paid<" in timeline

    cancel = client.post(f"/orders/{placed.id}/cancel/", {"reason": "changed my mind"})
    assert cancel.status_code == 400
    assert "only be cancelled by our staff" in cancel.content.decode()


def test_paying_an_order_paid_elsewhere_shows_the_refusal_and_changes_nothing(
    client, customer, make_product
):
    make_product("A-1", price="2.50")
    placed = place(customer)
    orders.pay_order(actor=customer, order_id=placed.id, amount="5.00", payment_reference="API-1")
    caught_up()
    client.force_login(customer)
    before = snapshot()
    refused = client.post(f"/orders/{placed.id}/pay/")
    assert refused.status_code == 400
    assert refused.context["payment_form"].non_field_errors() == [
        f"Order {placed.id} is already paid (reference API-1)."
    ]
    assert snapshot() == before


def test_customer_cancels_a_pending_order(client, customer, make_product):
    make_product("A-1")
    placed = place(customer)
    caught_up()
    client.force_login(customer)
    order_page = client.get(f"/orders/{placed.id}/").content.decode()
    assert f'href="/orders/{placed.id}/cancel/"' in order_page  # a link to a question, no form
    confirm = client.get(f"/orders/{placed.id}/cancel/")
    assert confirm.status_code == 200 and "Yes, cancel the order" in confirm.content.decode()
    assert Order.objects.get().status == "pending"
    before = snapshot()
    blank = client.post(f"/orders/{placed.id}/cancel/", {"reason": ""})
    assert blank.context["form"].errors == {"reason": ["Tell us why you are cancelling."]}
    assert snapshot() == before
    done = client.post(f"/orders/{placed.id}/cancel/", {"reason": "too slow"})
    assert messages_of(client, done) == [
        f"Order {placed.id} is cancelled. Nothing will be charged."
    ]
    page = client.get(f"/orders/{placed.id}/").content.decode()
    assert 'data-status="cancelled">Cancelled<' in page


def test_another_customers_order_is_not_found_and_cannot_be_paid(
    client, customer, make_customer, make_product, staff
):
    make_product("A-1")
    placed = place(customer)
    caught_up()
    client.force_login(make_customer())
    assert client.get(f"/orders/{placed.id}/").status_code == 404
    assert f"Order {placed.id}" not in client.get("/orders/").content.decode()
    assert client.post(f"/orders/{placed.id}/pay/").status_code == 404
    assert client.get(f"/orders/{placed.id}/cancel/").status_code == 404
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
    assert messages_of(client, ok) == [f"Welcome back, {customer.username}."]
    out = client.post("/logout/")
    assert messages_of(client, out) == ["You are logged out. See you soon."]
    assert client.get("/orders/").status_code == 302
    assert get_user_model().objects.filter(username=customer.username).exists()


# --- the shipping address at checkout ---


@pytest.fixture
def at_checkout(client, customer, make_product):
    """A logged-in shopper with one product in the cart, about to check out."""
    make_product("A-1", price="2.50")
    caught_up()
    client.force_login(customer)
    client.post("/cart/add/A-1/", {"quantity": 1})
    return client


def test_checkout_asks_where_to_ship_and_the_order_page_shows_it(client, at_checkout):
    review = client.get("/checkout/").content.decode()
    for part in ["name", "line1", "line2", "postal_code", "city", "country"]:
        assert f'name="{part}"' in review
    assert 'autocomplete="shipping postal-code"' in review and 'value="NL"' in review
    line2 = {**ADDRESS_JSON, "line2": "  3rd floor ", "postal_code": "1011ab", "country": "NL"}
    key = checkout_key(client.get("/checkout/"))
    placed = client.post("/checkout/", {"idempotency_key": key, **line2})
    assert placed.status_code == 302
    order = Order.objects.get()
    # Trimmed, and the postal code in the country's own shape.
    assert order.shipping_address.as_dict() == {
        **line2,
        "line2": "3rd floor",
        "postal_code": "1011 AB",
    }
    caught_up()
    page = client.get(f"/orders/{order.pk}/").content.decode()
    shown = re.search(r'<address class="mb-0" id="order-address">(.*?)</address>', page)[1]
    assert (
        shown == "Ada Lovelace<br>Unter den Linden 5<br>3rd floor<br>1011 AB Berlin<br>Netherlands"
    )

    # The next checkout starts from the address the last order went to.
    client.post("/cart/add/A-1/", {"quantity": 1})
    again = client.get("/checkout/")
    assert again.context["checkout_form"].initial["postal_code"] == "1011 AB"
    assert 'value="1011 AB"' in again.content.decode()


def test_checkout_shows_every_address_error_next_to_its_field_and_places_nothing(
    client, at_checkout
):
    key = checkout_key(client.get("/checkout/"))
    before = snapshot()
    bad = {**ADDRESS_JSON, "name": "   ", "postal_code": "ABC", "city": "x" * 61}
    response = client.post("/checkout/", {"idempotency_key": key, **bad})
    assert response.status_code == 400
    page = response.content.decode()
    errors = response.context["checkout_form"].errors
    assert errors == {
        "name": ["This field is required."],
        "postal_code": ["Enter a postal code of Germany, such as 10115."],
        "city": ["Use at most 60 characters."],
    }
    for field in errors:
        assert re.search(rf'id="id_{field}"[^>]*aria-describedby="id_{field}_error', page) or (
            re.search(rf'aria-describedby="id_{field}_error[^"]*"[^>]*id="id_{field}"', page)
        ), field
    assert "Please correct the 3 address fields marked below." in page
    assert snapshot() == before  # no order, no event
    assert [line.sku for line in client.get("/cart/").context["lines"]] == ["A-1"]
    # Fixed, the same form (its key unused by the refusal) places the order.
    fixed = client.post("/checkout/", {"idempotency_key": key, **ADDRESS_JSON})
    assert fixed.status_code == 302 and Order.objects.get().shipping_city == "Berlin"


def test_checkout_refuses_a_country_the_shop_does_not_ship_to(client, at_checkout):
    before = snapshot()
    response = client.post(
        "/checkout/", {"idempotency_key": "k-1", **ADDRESS_JSON, "country": "US"}
    )
    assert response.status_code == 400
    assert response.context["checkout_form"].errors == {
        "country": ["We do not ship there; choose one of the listed countries."]
    }
    assert snapshot() == before
