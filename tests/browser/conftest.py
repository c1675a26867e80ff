"""Real headless Chromium (Debian's chromium + chromedriver) driven by Selenium."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("PATHWAYS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PATHWAYS_CHROMEDRIVER", "/usr/bin/chromedriver")
# CI sets this so a broken Chromium install fails the run instead of quietly skipping the browser tests.
REQUIRE_BROWSER = os.environ.get("PATHWAYS_REQUIRE_BROWSER", "").lower() in {"1", "true", "yes"}


NO_CHROMIUM = (f"Chromium not found ({CHROMIUM}, {CHROMEDRIVER}): browser tests skipped; "
               "install with: sudo apt-get install -y chromium chromium-driver")


def chromium_installed() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


def require_chromium() -> None:
    """Stop a browser fixture when Chromium is missing (failing under PATHWAYS_REQUIRE_BROWSER, as in CI)."""
    if chromium_installed():
        return
    if REQUIRE_BROWSER:
        pytest.fail(NO_CHROMIUM)
    pytest.skip(NO_CHROMIUM)


def pytest_collection_modifyitems(config, items) -> None:
    """Without Chromium, mark every browser test skipped before it starts a server."""
    if chromium_installed() or REQUIRE_BROWSER:
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Report those skips from one place, so `-ra` prints one line for all of them instead of one per test."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[2].endswith(NO_CHROMIUM):
        report.longrepr = (__file__, 0, NO_CHROMIUM)


@contextmanager
def chromium(prefs: dict | None = None, env: dict[str, str] | None = None) -> Iterator:
    """Start headless Chromium with a fresh profile (and these preferences, and environment: TZ sets its time
    zone); the machine's network is loopback only."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_chromium()
    profile = tempfile.mkdtemp(prefix="pathways-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,900"):
        options.add_argument(flag)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    # Chromium inherits chromedriver's environment.
    service = Service(executable_path=CHROMEDRIVER, env={**os.environ, **env} if env else None)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser() -> Iterator:
    """Start headless Chromium with a fresh profile."""
    with chromium() as driver:
        yield driver
