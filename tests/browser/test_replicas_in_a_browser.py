"""The staff dashboard shows each read replica and its lag, in Chromium, on a desktop and on a
phone: a lagging replica's row says it does not serve reads."""

import os

import pytest
from playwright.sync_api import expect

from readmodels import replicas
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_journeys import check
from tests.browser.test_shop_in_a_browser import log_in
from tests.conftest import wait_until
from tests.replica_fixtures import ALIAS, REPLICA_DB

# Playwright's sync API runs an event loop in this thread; the ORM is still used here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = REPLICA_DB


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(streaming_replica):
    """The replica's alias exists before the tests are set up (see streaming_replica)."""
    return streaming_replica


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_dashboard_shows_each_replica_and_its_lag(
    new_page,
    viewport,
    replica,
    staff,
    make_product,
    settings,
):
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    settings.REPLICA_CHECK_SECONDS = 3600  # the page shows the state this test brought about
    replica.pause()
    make_product()  # WAL the paused replica has received and not replayed
    wait_until(lambda: replicas.check(ALIAS).status == replicas.LAGGING)

    page = new_page(viewport)
    log_in(page, "staffer", "pw", next_url="/staff/")
    row = page.locator("#replicas tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(ALIAS)
    expect(row).to_contain_text("no, lagging")
    expect(row).to_contain_text(" s")
    check(page)
