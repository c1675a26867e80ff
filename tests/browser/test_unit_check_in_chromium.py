"""In real Chromium with axe-core (desktop and 360 px): a student who has started most of a unit takes its unit
check from the plan, labelled as a unit check on every page, and ends on a summary of what moved."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from .accessibility import PageAudit, wait
from .test_practice_in_chromium import _answer, _click, _practise, _student_in_the_demo_course

pytestmark = pytest.mark.browser


def fractions_check_offered(browser, tool) -> str:
    """Launch the student in the demo course with three of the Fractions unit's skills begun (its unit check is
    offered); return the plan's address."""
    home = _student_in_the_demo_course(browser, tool)
    for skill_id in ("frac-equivalent", "frac-add-sub", "frac-multiply"):
        _practise(browser, home, skill_id)
        _answer(browser, right=True)
    return home


def test_a_unit_check_from_the_plan_is_labelled_and_ends_on_a_summary_of_what_moved(browser, tool):
    audit = PageAudit(browser)
    home = fractions_check_offered(browser, tool)
    browser.get(home)
    panel = browser.find_element(By.CSS_SELECTOR, "[data-testid=unit-check-panel]")
    assert "Fractions" in panel.find_element(By.TAG_NAME, "h2").text
    audit.check("plan offering a unit check")
    # The check's address opened on its own (a bookmark, another site's link) starts nothing: it offers the button,
    # focused, so Enter starts it.
    browser.get(home.split("?")[0].rstrip("/") + "/unit-check/unit-fractions")
    button = browser.find_element(By.XPATH, "//main//button[normalize-space()='Start the unit check on Fractions']")
    assert browser.switch_to.active_element == button
    audit.check("unit check start page")
    browser.get(home)
    panel = browser.find_element(By.CSS_SELECTOR, "[data-testid=unit-check-panel]")
    _click(browser, panel.find_element(By.XPATH, ".//button[normalize-space()='Start the unit check on Fractions']"))
    assert browser.find_element(By.CSS_SELECTOR, "h1 [data-testid=unit-check-label]").text == "Unit check"
    assert "Question 1 of 8." in browser.find_element(By.CSS_SELECTOR, ".lead").text
    audit.check("unit check question")
    for number in range(8):
        _answer(browser, right=True)
        if number == 0:
            assert browser.find_element(By.CSS_SELECTOR, "h1 [data-testid=unit-check-label]").text == "Unit check"
            audit.check("unit check feedback")
        if number < 7:
            _click(browser, browser.find_element(By.LINK_TEXT, "Next question"))
    _click(browser, browser.find_element(By.LINK_TEXT, "See how your unit check went"))
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=unit-check-results]")))
    assert "Your level went up on" in browser.find_element(By.CSS_SELECTOR, "[data-testid=unit-check-raised]").text
    rows = browser.find_elements(By.CSS_SELECTOR, "[data-testid=unit-check-results] tbody tr")
    assert len(rows) == 4 and all("2 of 2" in row.text for row in rows)
    audit.check("unit check summary")
    _click(browser, browser.find_element(By.LINK_TEXT, "Back to my plan"))
    assert browser.find_elements(By.ID, "next-heading")
    audit.assert_clean()
