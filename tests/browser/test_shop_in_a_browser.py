"""The three journeys of issue 6 in a real browser."""

import time

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from orders import commands as orders
from readmodels.tasks import run_projections
from tests.helpers import ADDRESS, HorizonHolder
from tests.pages.conftest import caught_up

PASSWORD = "a-long-Passphrase-7"


def reload_until(page, selector: str, text: str, timeout: float = 15.0):
    """Pages read the read side, which follows a command shortly after: reload until it has."""
    deadline = time.monotonic() + timeout
    while text not in (page.locator(selector).text_content() or ""):
        assert time.monotonic() < deadline, f"{selector} never showed {text!r}"
        time.sleep(0.2)
        page.reload()


def log_in(page, username, password, next_url="/"):
    page.goto(f"/login/?next={next_url}")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Log in").click()


def fits(page):
    """Nothing scrolls sideways: the page is no wider than the window."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} is {width} px wide in a {inner} px window"


def open_filters(page):
    """On a phone the filters sit behind a "Filters" button."""
    toggle = page.locator("#filters-toggle")
    if toggle.is_visible():
        toggle.click()
        expect(page.locator("#id_q")).to_be_visible()


def fill_address(page, address=ADDRESS):
    """The review step's shipping address, typed as a shopper would (the country chosen)."""
    for part, value in address.as_dict().items():
        field = page.locator(f"#id_{part}")
        if part == "country":
            field.select_option(value)
        else:
            field.fill(value)


def add_to_cart(page, search: str, product_name: str, quantity: int):
    page.goto("/")
    open_filters(page)
    page.locator("#id_q").fill(search)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=product_name).click()
    fits(page)
    page.locator("#id_quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    fits(page)


def test_shopper_signs_up_searches_checks_out_sees_processing_then_pays(new_page, make_product):
    make_product("BEAN-1", name="House beans", price="12.00")
    make_product("BEAN-2", name="Espresso beans", price="15.50")
    make_product("KTL-1", name="Gooseneck kettle", price="45.00")
    caught_up()
    page = new_page()

    page.goto("/signup/")
    page.locator("#id_username").fill("walker")
    page.locator("#id_display_name").fill("Walker")
    page.locator("#id_email").fill("walker@example.com")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password_again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Welcome, Walker! Your account is ready.")).to_be_visible()

    add_to_cart(page, "beans", "House beans", 2)
    expect(page.get_by_text("Added 2 × House beans.")).to_be_visible()
    add_to_cart(page, "espresso", "Espresso beans", 1)
    expect(page.locator("#cart-total")).to_have_text("€39.50")

    page.get_by_role("link", name="Go to checkout").click()
    expect(page.locator("#review-total")).to_have_text("€39.50")
    fill_address(page)
    with HorizonHolder():
        page.get_by_role("button", name="Place order").click()
        expect(page.get_by_text("Thank you for your order!")).to_be_visible()
        expect(page.get_by_text("Confirming your order…")).to_be_visible()
    run_projections.delay()  # the beat sweep's job: wake the worker once the lag is gone
    expect(page.locator("#order-total")).to_have_text("€39.50")
    expect(page.get_by_text("Confirming your order…")).to_have_count(0)

    page.get_by_role("button", name="Pay €39.50").click()
    expect(page.locator("#order-status")).to_have_text("Paid")


def test_staff_ship_an_order_in_the_admin_and_the_shopper_sees_it(new_page, make_product, customer):
    make_product("BEAN-1", name="House beans", price="12.00")
    placed = orders.place_order(
        actor=customer, lines=[{"sku": "BEAN-1", "quantity": 1}], shipping_address=ADDRESS
    )
    orders.pay_order(actor=customer, order_id=placed.id, amount="12.00", payment_reference="P1")
    get_user_model().objects.create_superuser("boss", "boss@example.com", "boss-Passphrase-1")

    staff = new_page()
    staff.goto("/admin/login/?next=/admin/orders/order/")
    staff.locator("#id_username").fill("boss")
    staff.locator("#id_password").fill("boss-Passphrase-1")
    staff.get_by_role("button", name="Log in").click()
    staff.locator(f'input[name="_selected_action"][value="{placed.id}"]').check()
    staff.locator('select[name="action"]').select_option("ship")
    staff.get_by_role("button", name="Go").click()
    staff.locator("#id_tracking_number").fill("TRACK-42")
    staff.get_by_role("button", name="Ship orders").click()
    expect(staff.get_by_text("Done for 1 item(s).")).to_be_visible()

    shopper = new_page()
    log_in(shopper, customer.username, PASSWORD, next_url=f"/orders/{placed.id}/")
    reload_until(shopper, "#order-status", "Shipped")
    expect(shopper.locator("#tracking-number")).to_have_text("TRACK-42")


def test_staff_change_a_price_in_the_admin_and_the_catalog_shows_it(new_page, make_product):
    make_product("BEAN-1", name="House beans", price="12.00")
    get_user_model().objects.create_superuser("boss", "boss@example.com", "boss-Passphrase-1")
    caught_up()
    shopper = new_page()
    shopper.goto("/")
    expect(shopper.get_by_text("€12.00")).to_be_visible()

    staff = new_page()
    staff.goto("/admin/login/?next=/admin/catalog/product/")
    staff.locator("#id_username").fill("boss")
    staff.locator("#id_password").fill("boss-Passphrase-1")
    staff.get_by_role("button", name="Log in").click()
    staff.get_by_role("link", name="BEAN-1").click()
    staff.locator("#id_price").fill("9.75")
    staff.locator('input[name="_save"]').click()
    expect(staff.get_by_text("was changed successfully")).to_be_visible()

    reload_until(shopper, "main", "€9.75")
    expect(shopper.get_by_text("€12.00")).to_have_count(0)
