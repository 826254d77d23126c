"""Past the failed-login limit, the login page says so (here at phone width) and logs nobody in."""

from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.test_shop_in_a_browser import PASSWORD, log_in


def test_the_login_page_refuses_after_too_many_failures(new_page, customer, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    cache.clear()
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    for _ in range(2):
        log_in(page, customer.username, "wrong")
        expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    log_in(page, customer.username, PASSWORD)
    expect(page.get_by_text("Too many failed logins")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.url.split("?")[0].endswith("/login/")
