"""Browser tests: headless Chromium (Debian's) driven by Playwright against a live uvicorn."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.conftest import TEST_PASSWORD, free_port, missing, wait_for

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
ARTIFACTS = Path(os.environ.get("MERITO_TEST_ARTIFACTS", "test-artifacts"))


def _chromium_path() -> str | None:
    for candidate in (
        os.environ.get("MERITO_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class LiveServer:
    """uvicorn serving the test's app in a background thread."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not wait_for(lambda: self.server.started, timeout=15):
            raise RuntimeError("live server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium_path()
    if executable is None:
        missing("Chromium not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def context(browser, request) -> Iterator[object]:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15000)
    yield ctx
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(ctx.pages):
            with contextlib.suppress(Exception):  # best-effort diagnostics only
                page.screenshot(
                    path=str(ARTIFACTS / f"{request.node.name}-{index}.png"), full_page=True
                )
    ctx.close()


@pytest.fixture
def page(context) -> Iterator[object]:
    yield context.new_page()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# TOTP secrets read from enrolment pages, and the last time step used, per account.
_TOTP: dict[str, tuple[str, int]] = {}


def sign_in(page, base_url: str, email: str, password: str = TEST_PASSWORD) -> None:
    """Sign in through the real form, passing the TOTP step for roles that need it."""
    import time

    import pyotp

    page.goto(f"{base_url}/login")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/login/second-factor" not in page.url:
        return
    if page.locator("#totp-secret").count():
        _TOTP[email] = (page.locator("#totp-secret").inner_text().replace(" ", ""), -1)
    secret, last = _TOTP[email]
    # A code is accepted once; the next step's code is also valid, so never reuse a step.
    step = max(int(time.time() // 30), last + 1)
    while step > int(time.time() // 30) + 1:  # the server takes one step ahead, no more
        time.sleep(0.5)
    _TOTP[email] = (secret, step)
    page.fill("#f-code", pyotp.TOTP(secret).at(step * 30))
    page.click("form[action='/login/second-factor'] button[type=submit]")
    page.wait_for_load_state("networkidle")


def follow_nav(page, href: str) -> None:
    """Follow the main navigation's link to `href` as a person would: open its group's menu
    first when the link sits in one (a closed <details> hides it)."""
    link = page.locator(f"nav.main-nav a[href='{href}']")
    group = page.locator("nav.main-nav details", has=page.locator(f"a[href='{href}']"))
    if group.count() and group.get_attribute("open") is None:
        group.locator("summary").click()
    link.click()
