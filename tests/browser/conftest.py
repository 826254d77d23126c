"""Real Chromium, driven by Playwright, against the live server and the real worker."""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the tests still use the ORM here
# (fixtures, checks), which Django refuses next to a running loop unless told it is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


_reports = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def chromium():
    # `make test` installs Chromium or stops before the suite, naming what to install; run
    # outside it, a missing browser fails every browser test rather than skipping it.
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or CHROMIUM
    if not Path(executable).exists():
        pytest.fail(
            f"Chromium not found at {executable}: apt-get install chromium, or set CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(request, chromium, live_server, worker):
    """Pages in fresh browser contexts (one per person); a failed test leaves a screenshot of
    each under test-artifacts/."""
    contexts = []

    def make(viewport=DESKTOP):
        phone = viewport["width"] < 768
        context = chromium.new_context(
            base_url=live_server.url, viewport=viewport, is_mobile=phone, has_touch=phone
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    reports = request.node.stash.get(_reports, {})
    failed = any(report.failed for report in reports.values())
    for number, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for page in context.pages:
                page.screenshot(
                    path=ARTIFACTS / f"{request.node.name}-{number}.png", full_page=True
                )
        context.close()


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def viewport(request):
    """Journeys run twice: on a desktop screen and on a 390 x 844 phone."""
    return request.param
