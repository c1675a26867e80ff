"""In real Chromium whose time zone is India's (UTC+5:30, no daylight saving): a teacher reads the times Pathways
stores in UTC in their own local time, in the page's language; without script the page says UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By

from .accessibility import teacher_opens_the_demo_course
from .conftest import chromium

pytestmark = pytest.mark.browser

ZONE = "Asia/Kolkata"


@pytest.fixture
def browser_in_india() -> Iterator:
    with chromium(env={"TZ": ZONE}) as driver:
        yield driver


def test_teacher_in_india_reads_the_roster_sync_time_in_indian_time(browser_in_india, tool):
    browser = browser_in_india
    teacher_opens_the_demo_course(browser, tool, "Amara Okafor")

    shown = browser.find_element(By.CSS_SELECTOR, "time[data-local]")
    stored = datetime.fromisoformat(shown.get_attribute("datetime").removesuffix("Z") + "+00:00")
    local = stored.astimezone(ZoneInfo(ZONE))
    assert browser.execute_script("return new Date().getTimezoneOffset()") == -330  # the browser is in India
    # "Wed 2 Dec, 19:35": the page's English writes the day first (en-GB), the clock in India's time.
    assert shown.text == f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
    assert "Last updated " + shown.text in browser.find_element(By.TAG_NAME, "main").text
    assert shown.get_attribute("title") == f"{stored:%Y-%m-%d %H:%M} UTC"  # the stored moment, on hover
