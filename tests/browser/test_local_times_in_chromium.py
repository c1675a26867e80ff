"""In real Chromium whose time zone is India's (UTC+5:30, no daylight saving): a teacher reads the times Pathways
stores in UTC in their own local time, in the page's language; without script the page says UTC. In Madrid's
(UTC+1, summer UTC+2): the dates a teacher types in the Deep Linking picker mean Madrid's time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from .accessibility import serious_violations, teacher_opens_the_demo_course, wait
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


MADRID = "Europe/Madrid"  # UTC+1 in winter, UTC+2 in summer
ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


def test_teacher_in_madrid_types_the_deep_link_dates_in_madrid_time(tool):
    with chromium(env={"TZ": MADRID}) as browser:
        browser.get(tool.url("/"))
        browser.find_element(
            By.XPATH, "//a[contains(., 'Add Pathways to a module (Deep Linking)') and contains(., 'Amara Okafor')]"
        ).click()
        wait(browser, ec.url_contains("/deep-link"))
        browser.find_element(By.CSS_SELECTOR, ".option details summary").click()
        # Each date's label names the zone its time is read in: the teacher's own, not UTC.
        for field in ("available-from-plan", "available-until-plan", "due-plan"):
            label = browser.find_element(By.CSS_SELECTOR, f"label[for='{field}']")
            assert f"({MADRID})" in label.text, label.text
            assert "UTC" not in label.get_attribute("textContent")
        problems = serious_violations(browser)
        assert not problems, "\n".join(problems)
        # 09:00 on a winter day, 23:59 on a summer day, as the teacher's date picker would set them.
        for field, typed in (("available-from-plan", "2026-01-05T09:00"), ("due-plan", "2026-07-01T23:59")):
            browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, field), typed)
        browser.find_element(By.XPATH, "//button[contains(., 'Add to course')]").click()
        wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Added to"))
        browser.find_element(By.LINK_TEXT, "Back to the course").click()

    (item,) = tool.platform.deep_link_responses[-1][ITEMS]
    # Madrid's 09:00 in January is 08:00 UTC; its 23:59 in July (summer time) is 21:59 UTC.
    assert item["available"] == {"startDateTime": "2026-01-05T08:00:00Z"}
    assert item["submission"] == {"endDateTime": "2026-07-01T21:59:00Z"}

