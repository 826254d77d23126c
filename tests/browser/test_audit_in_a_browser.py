"""Staff follow a change through the audit trail to the product's history, in Chromium, on a
desktop and at phone width."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from readmodels.models import DomainEvent
from tests.browser.test_shop_in_a_browser import log_in
from tests.conftest import wait_until
from tests.pages.conftest import caught_up

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_staff_find_a_price_change_and_see_the_product_as_it_was(new_page, make_product, viewport):
    make_product("AUD-1", name="Audited beans", price="8.00", stock=4)
    get_user_model().objects.create_superuser("boss", "boss@example.com", "boss-Passphrase-1")
    caught_up()
    # The staff page picks moments to the second: the price changes after the second that
    # follows the product's creation.
    created = DomainEvent.objects.get(event_type="ProductCreated").occurred_at
    as_of = created.replace(microsecond=0) + timedelta(seconds=1)
    wait_until(lambda: timezone.now() > as_of)
    page = new_page()
    if viewport:
        page.set_viewport_size(viewport)
    log_in(page, "boss", "boss-Passphrase-1", next_url="/admin/catalog/product/")
    page.get_by_role("link", name="AUD-1").click()
    page.locator("#id_price").fill("9.50")
    page.locator('input[name="_save"]').click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    caught_up()

    page.goto("/staff/")
    page.get_by_role("link", name="Audit trail").click()
    page.locator("#f-event-type").select_option("ProductPriceChanged")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#audit-events tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("boss")
    # The request that changed the price: its correlation id finds everything it did.
    rows.first.locator("td:nth-child(5) a").click()
    correlation = DomainEvent.objects.get(event_type="ProductPriceChanged").correlation_id
    expect(page).to_have_url(re.compile(f"correlation_id={re.escape(correlation)}$"))
    expect(page.locator("#audit-events tbody tr")).to_have_count(
        DomainEvent.objects.filter(metadata__correlation_id=correlation).count()
    )
    page.locator("#audit-events").get_by_role("link", name="history").first.click()

    expect(page.locator("#state-price")).to_have_text("9.50 EUR")
    expect(page.locator("#timeline tbody tr")).to_have_count(2)
    page.locator("#f-as-of").fill(as_of.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#state-price")).to_have_text("8.00 EUR")
    expect(page.locator("#state-stock")).to_have_text("4")
    if viewport:  # the page's content fits a phone: the wide table scrolls in its own box
        main = page.evaluate("[document.querySelector('main').scrollWidth, innerWidth]")
        assert main[0] <= main[1], main
