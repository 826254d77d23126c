"""Issue 16's journeys in Chromium, on a desktop screen and on a 390 x 844 phone: every page
fits the window (no sideways scroll), every action says what happened, and the main pages pass
an axe-core accessibility check with no serious or critical violation."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from catalog import commands as catalog
from orders import commands as orders
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_shop_in_a_browser import (
    PASSWORD,
    fill_address,
    fits,
    log_in,
    open_filters,
)
from tests.conftest import STAFF_PERMISSIONS, grant
from tests.helpers import ADDRESS
from tests.pages.conftest import caught_up

SHOTS = ARTIFACTS / "screenshots"
SERIOUS = {"serious", "critical"}


def shot(page, name: str):
    """A screenshot of each page the journeys pass, to look at (README's come from here)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)


def accessible(page):
    """axe-core (shipped inside axe-playwright-python, injected from disk: works offline)."""
    results = Axe().run(page)
    serious = [
        f"{violation['id']}: {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
    assert not serious, f"{page.url}: {serious}"


# Every control a finger presses; links inside running text are exempt, as WCAG allows.
CONTROLS = (
    "button, input:not([type=hidden]):not([type=checkbox]), select, textarea, .btn, "
    ".nav-link, .page-link, .navbar-brand, .breadcrumb-item a, .form-check"
)


def touchable(page):
    """On a phone every control is at least 44 px tall (and buttons as wide)."""
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter(el => el.offsetParent !== null && !el.closest('.skip-link, .visually-hidden'))
            .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect()])
            .filter(([html, box]) => box.height < 44 || (html.startsWith('<button') && box.width < 44))
            .map(([html, box]) => `${html} (${Math.round(box.width)}x${Math.round(box.height)})`)""",
        CONTROLS,
    )
    assert not small, f"{page.url}: too small to touch: {small}"


def check(page, name: str | None = None):
    fits(page)
    if page.viewport_size["width"] < 768:
        touchable(page)
    accessible(page)
    assert page.locator("h1").count() == 1, f"{page.url} needs exactly one h1"
    if name:
        shot(page, name)


DEMO = {
    "Coffee": [
        ("COF-ESP-1", "Espresso beans, 1 kg", "19.90", 40),
        ("COF-FIL-1", "Filter coffee, 500 g", "9.50", 3),
        ("COF-DEC-1", "Decaf beans, 500 g", "11.00", 0),
    ],
    "Tea": [
        ("TEA-GRN-1", "Sencha green tea", "7.20", 25),
        ("TEA-BLK-1", "Assam breakfast tea", "6.40", 30),
    ],
    "Equipment": [
        ("EQP-GRN-1", "Hand grinder with steel burrs", "59.00", 8),
        ("EQP-KTL-1", "Gooseneck kettle", "45.00", 12),
        ("EQP-DRP-1", "Pour-over dripper", "18.00", 30),
    ],
}


@pytest.fixture
def demo_catalog(staff):
    for category, products in DEMO.items():
        catalog.create_category(actor=staff, name=category)
        for sku, name, price, stock in products:
            catalog.create_product(
                actor=staff,
                sku=sku,
                name=name,
                category=category.lower(),
                price=price,
                stock=stock,
                description=f"{name}: chosen and tested by our roasters.",
            )
    caught_up()


def sign_up(page, username: str):
    page.goto("/signup/")
    page.locator("#id_username").fill(username)
    page.locator("#id_display_name").fill(username.title())
    page.locator("#id_email").fill(f"{username}@example.com")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password_again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text(f"Welcome, {username.title()}! Your account is ready.")).to_be_visible()


def test_a_shopper_browses_reviews_orders_pays_and_cancels(new_page, viewport, demo_catalog):
    page = new_page(viewport)
    page.goto("/")
    check(page, "catalog")
    if viewport["width"] < 768:  # filters behind a disclosure, so the products come first
        expect(page.locator("#id_q")).to_be_hidden()
    open_filters(page)
    page.locator("#id_category").select_option("coffee")
    page.locator("#id_min_price").fill("20")
    page.locator("#id_max_price").fill("10")
    page.get_by_role("button", name="Search").click()
    # A reversed range: an error tied to its field, the category kept.
    expect(page.locator("#id_max_price_error")).to_contain_text("Must not be below the minimum")
    expect(page.locator("#id_max_price")).to_have_attribute(
        "aria-describedby", "id_max_price_error"
    )
    expect(page.locator("#id_category")).to_have_value("coffee")
    check(page)

    sign_up(page, "walker")
    check(page)
    page.goto("/products/COF-FIL-1/")
    expect(page.locator("#stock")).to_have_text("Only 3 left")
    expect(page.locator("#id_quantity")).to_have_attribute("max", "3")
    check(page, "product")
    page.locator("#id_quantity").fill("10")
    page.get_by_role("button", name="Add to cart").click()
    expect(
        page.get_by_text("We have only 3 of Filter coffee, 500 g, so your cart holds 3.")
    ).to_be_visible()
    page.goto("/products/COF-ESP-1/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 1 × Espresso beans, 1 kg.")).to_be_visible()
    expect(page.locator(".cart-count").first).to_have_text("4")  # items, not lines
    check(page, "cart")

    page.get_by_role("link", name="Go to checkout").click()
    expect(page.locator("#review-total")).to_have_text("€48.40")
    fill_address(page)
    check(page, "review")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    expect(page.locator("#order-total")).to_have_text("€48.40")
    expect(page.locator("#order-address")).to_contain_text("10117 Berlin")
    check(page, "thanks")

    page.get_by_role("button", name="Pay €48.40").click()
    expect(page.get_by_text("Thank you! We received your payment of €48.40.")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Paid")
    check(page, "order")

    # A second order, cancelled after saying yes on the confirmation page.
    page.goto("/products/EQP-KTL-1/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Go to checkout").click()
    expect(page.locator("#id_city")).to_have_value("Berlin")  # where the last order went
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("#order-status")).to_have_text("Awaiting payment")
    page.get_by_role("link", name="Cancel this order…").click()
    check(page, "cancel")
    page.get_by_role("link", name="No, keep my order").click()
    expect(page.locator("#order-status")).to_have_text("Awaiting payment")
    page.get_by_role("link", name="Cancel this order…").click()
    page.get_by_role("button", name="Yes, cancel the order").click()
    expect(page.locator("#id_reason_error")).to_have_text("Tell us why you are cancelling.")
    page.locator("#id_reason").fill("Found one at home")
    page.get_by_role("button", name="Yes, cancel the order").click()
    expect(page.get_by_text("is cancelled. Nothing will be charged.")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Cancelled")

    page.goto("/orders/")
    expect(page.locator("#orders tbody tr")).to_have_count(2)
    check(page, "my-orders")

    if viewport["width"] < 768:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out. See you soon.")).to_be_visible()


def test_sign_up_shows_every_error_at_once(new_page, viewport, customer):
    page = new_page(viewport)
    page.goto("/signup/")
    page.locator("#id_username").fill(customer.username)
    page.locator("#id_email").fill("not-an-address")
    page.locator("#id_password").fill("password")
    page.locator("#id_password_again").fill("password")
    page.get_by_role("button", name="Create my account").click()
    for field in ["username", "display_name", "email", "password"]:
        error = page.locator(f"#id_{field}_error")
        expect(error).to_be_visible()
        expect(page.locator(f"#id_{field}")).to_have_attribute(
            "aria-describedby", re.compile(rf"\bid_{field}_error\b")
        )
    expect(page.locator("#id_username_error")).to_contain_text("This username is taken.")
    expect(page.locator("#id_password_error")).to_contain_text("too common")
    check(page, "signup-errors")


def test_keyboard_focus_is_visible(new_page):
    page = new_page()
    page.goto("/")
    page.keyboard.press("Tab")  # the skip link comes first, and shows itself
    focused = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.textContent.trim(), s.outlineStyle, s.outlineWidth]; })()"
    )
    assert focused == ["Skip to content", "solid", "3px"]


def test_staff_dashboard_and_fulfilment(new_page, viewport, demo_catalog, customer):
    placed = orders.place_order(
        actor=customer, lines=[{"sku": "COF-ESP-1", "quantity": 2}], shipping_address=ADDRESS
    )
    orders.pay_order(actor=customer, order_id=placed.id, amount="39.80", payment_reference="P1")
    grant(
        get_user_model().objects.create_user(
            "boss", "boss@example.com", "boss-Passphrase-1", is_staff=True
        ),
        *STAFF_PERMISSIONS,
    )
    caught_up()
    page = new_page(viewport)
    log_in(page, "boss", "boss-Passphrase-1", next_url="/staff/")
    expect(page.locator("#revenue-total")).to_have_text("€39.80")
    expect(page.locator("#projections")).to_contain_text("Up to date")
    check(page, "dashboard")

    page.goto("/staff/fulfilment/")
    if viewport["width"] < 768:  # the table is a stack of cards
        assert (
            page.locator(f"#ship-{placed.id}").evaluate("row => getComputedStyle(row).display")
            == "block"
        )
    expect(page.locator(f"#ship-to-{placed.id}")).to_contain_text("Unter den Linden 5")
    check(page, "fulfilment")
    page.locator(f"#tracking-{placed.id}").fill("TRK-77")
    page.locator(f"#ship-{placed.id}").get_by_role("button", name="Ship").click()
    expect(page.get_by_text(f"Order {placed.id} is shipped (TRK-77).")).to_be_visible()
    page.locator(f"#deliver-{placed.id}").get_by_role("button", name="Mark delivered").click()
    expect(page.get_by_text(f"Order {placed.id} is marked delivered.")).to_be_visible()
    check(page)

    page.goto("/admin/")
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
    fits(page)


def test_error_pages_have_the_shop_around_them(new_page, viewport, customer):
    page = new_page(viewport)
    page.goto("/no-such-page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    check(page, "404")
    log_in(page, customer.username, PASSWORD, next_url="/staff/")
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    check(page)
    page.get_by_role("link", name="Go to the shop").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))


def test_checkout_asks_where_to_ship_with_errors_next_to_the_fields(
    new_page, viewport, demo_catalog, customer
):
    page = new_page(viewport)
    log_in(page, customer.username, PASSWORD, next_url="/products/TEA-GRN-1/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Go to checkout").click()
    expect(page.get_by_role("heading", name="Shipping address")).to_be_visible()
    fill_address(page)
    page.locator("#id_name").fill("   ")  # blank, however many spaces
    page.locator("#id_country").select_option("NL")  # a German postal code, now wrong
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("#address-errors")).to_have_text(
        "Please correct the 2 address fields marked below."
    )
    for field, message in [
        ("name", "This field is required."),
        ("postal_code", "Enter a postal code of Netherlands, such as 1011 AB."),
    ]:
        expect(page.locator(f"#id_{field}_error")).to_have_text(message)
        expect(page.locator(f"#id_{field}")).to_have_attribute(
            "aria-describedby", re.compile(rf"\bid_{field}_error\b")
        )
    expect(page.locator("#id_city")).to_have_value("Berlin")  # what was typed is kept
    check(page, "review-address-errors")

    page.locator("#id_name").fill("Ada Lovelace")
    page.locator("#id_postal_code").fill("1016gv")
    page.locator("#id_city").fill("Amsterdam")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order!")).to_be_visible()
    expect(page.locator("#order-address")).to_contain_text("1016 GV Amsterdam")
    expect(page.locator("#order-address")).to_contain_text("Netherlands")
    check(page)
