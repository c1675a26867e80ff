"""In real Chromium at 375 px (a phone): what a student types without spaces (a long answer, a long goal) wraps
inside the page, so the page never scrolls sideways after it is shown back to them."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from tests.support import served_item

from .accessibility import click_through, launch_as, wait

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"
#: What a student might mash or paste: no space where a line could break.
UNBROKEN = "1234567890" * 8


def _sideways_overflow(browser) -> int:
    return browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _student_at_phone_width(browser, tool) -> str:
    browser.set_window_size(375, 800)
    launch_as(browser, tool, TEACHER)
    click_through(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    return re.search(r"^.*?/c/[^/?]+", launch_as(browser, tool, STUDENT)).group(0)


def test_a_long_typed_answer_shown_back_in_the_feedback_fits_a_phone(browser, tool):
    base = _student_at_phone_width(browser, tool)
    for skill_id in ("frac-add-sub", "frac-divide", "frac-multiply"):
        browser.get(f"{base}/practice/{skill_id}")
        served = browser.find_element(By.NAME, "served").get_attribute("value")
        if served_item(None, served).type != "multiple_choice":
            break
    else:
        pytest.fail("no typed question among the first ones served")
    assert _sideways_overflow(browser) <= 0
    browser.find_element(By.ID, "answer").send_keys(UNBROKEN)
    click_through(browser, "//form[contains(@class, 'practice')]//button[not(@name)]")
    assert UNBROKEN in browser.find_element(By.TAG_NAME, "main").text  # "You answered: …"
    assert _sideways_overflow(browser) <= 0


def test_the_message_naming_a_long_goal_fits_a_phone(browser, tool):
    base = _student_at_phone_width(browser, tool)
    browser.get(f"{base}/goals")
    browser.find_element(By.ID, "goal-title-new").send_keys("Fractions" + "x" * 60)
    click_through(browser, "//button[normalize-space()='Add my goal']")
    wait(browser, lambda b: "Goal added" in b.find_element(By.ID, "flashes").text)
    assert _sideways_overflow(browser) <= 0


def test_the_target_dates_fit_a_phone_without_scrolling_sideways(browser, tool):
    """Each skill's target date and where it comes from read at 375 px with nothing to scroll, in its box or the
    page (the three columns scrolled sideways before)."""
    from datetime import date, timedelta

    _student_at_phone_width(browser, tool)
    launch_as(browser, tool, TEACHER)
    teacher_base = re.search(r"^.*?/c/[^/?]+", browser.current_url).group(0)
    browser.get(f"{teacher_base}/teacher/settings")
    ends_on = browser.find_element(By.ID, "ends-on")
    browser.execute_script("arguments[0].value = arguments[1]", ends_on,
                           (date.today() + timedelta(days=120)).isoformat())
    click_through(browser, "//button[normalize-space()='Save']")
    base = re.search(r"^.*?/c/[^/?]+", launch_as(browser, tool, STUDENT)).group(0)
    browser.get(f"{base}/goals")
    table = browser.find_element(By.CSS_SELECTOR, "[data-testid=pace-targets]")
    assert _sideways_overflow(browser) <= 0
    wider = browser.execute_script("""
      const found = [];
      for (const el of document.querySelectorAll("[data-testid=pace-targets], [data-testid=pace-targets] *")) {
        const box = el.getBoundingClientRect();
        if (box.right > window.innerWidth + 1) found.push(el.tagName + " " + Math.round(box.right));
        // (The column names' row is clipped to one pixel for screen readers: hidden, not scrolled.)
        if (el.clientWidth > 1 && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible")
          found.push(el.tagName);
      }
      const wrap = document.querySelector("[data-testid=pace-targets]").closest(".table-wrap");
      if (wrap && wrap.scrollWidth > wrap.clientWidth) found.push("table-wrap scrolls " + (wrap.scrollWidth - wrap.clientWidth));
      return found;""")
    assert wider == []
    # Each date says what it is on the phone too: its column's name before it (CSS generated text, which
    # WebElement.text leaves out).
    first = table.find_element(By.CSS_SELECTOR, "td")
    assert browser.execute_script("return getComputedStyle(arguments[0], '::before').content", first) == \
        '"Aim to reach Proficient by: "'


def test_the_plans_table_of_levels_fits_a_phone_without_scrolling_sideways(browser, tool):
    """The plan's "where you are on each skill" table (a level, its reason and what the next level needs) scrolled
    sideways in its own box on a 360 px phone in Spanish (its words are longer)."""
    _student_at_phone_width(browser, tool)
    browser.set_window_size(360, 800)
    browser.get(tool.url("/"))
    link = browser.find_element(By.LINK_TEXT, f"Launch Pathways as {STUDENT}").get_attribute("href")
    browser.get(link + "&locale=es")
    wait(browser, lambda b: "/c/" in b.current_url)
    wrap = browser.find_element(By.CSS_SELECTOR, "#skills-heading ~ .table-wrap")
    assert "Por qué" in wrap.get_attribute("innerHTML")
    assert _sideways_overflow(browser) <= 0
    assert browser.execute_script("return arguments[0].scrollWidth - arguments[0].clientWidth", wrap) <= 0
