"""In real Chromium: after an answer (practice, review, unit check), Back then Forward and a reload show the feedback
again, not Chromium's "Confirm Form Resubmission" page (a student walkthrough found that dead end): the answer's POST
redirects to a page of its own (Post/Redirect/Get), with the Next button still focused. "Show a hint" redirects too,
so Back after the answer that follows it shows the question's page."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from .accessibility import left_page, mark_page, wait
from .test_cookieless_launch import (  # noqa: F401 (fixtures)
    STUDENT,
    _practise_one_item,
    cookie_blocking_browser,
    lms_on_another_site,
)
from .test_practice_in_chromium import _answer, _click, _practise, _student_in_the_demo_course
from .test_review_in_chromium import two_skills_due
from .test_unit_check_in_chromium import fractions_check_offered

pytestmark = pytest.mark.browser


def _moved(browser, move) -> None:
    """Go Back or Forward and wait for the page: a new address, loaded (from the back/forward cache or not)."""
    before = browser.current_url
    move()
    wait(browser, lambda b: b.current_url != before and b.execute_script("return document.readyState") == "complete")


def _reloaded(browser) -> None:
    mark_page(browser)
    browser.refresh()
    wait(browser, left_page)


def _is_feedback(browser, heading: str, focused: str) -> None:
    """The page is our feedback on the answer, with its next step focused: no browser error page."""
    assert "/answered/" in browser.current_url, browser.current_url
    main = browser.find_element(By.TAG_NAME, "main").text
    assert heading in main
    assert "Confirm Form Resubmission" not in browser.page_source
    assert "ERR_CACHE_MISS" not in browser.page_source
    assert browser.switch_to.active_element.text == focused


def _back_forward_and_reload(browser, heading: str, focused: str) -> None:
    _is_feedback(browser, heading, focused)
    _moved(browser, browser.back)
    assert "/answered/" not in browser.current_url  # the question's page (a GET) before it
    _moved(browser, browser.forward)
    _is_feedback(browser, heading, focused)
    _reloaded(browser)
    _is_feedback(browser, heading, focused)


def test_back_forward_and_reload_after_a_practice_answer_show_its_feedback(browser, tool):
    home = _student_in_the_demo_course(browser, tool)
    _practise(browser, home, "frac-equivalent")
    _answer(browser, right=False)
    assert "Worked solution" in browser.find_element(By.TAG_NAME, "main").text
    _back_forward_and_reload(browser, "Not quite.", "Next question")
    assert "Worked solution" in browser.find_element(By.TAG_NAME, "main").text
    _practise(browser, home, "frac-equivalent")
    _answer(browser, right=True)
    _back_forward_and_reload(browser, "That's right!", "Next question")
    _click(browser, browser.find_element(By.LINK_TEXT, "Next question"))
    assert browser.find_elements(By.CSS_SELECTOR, "form.practice")


#: Each sitting from the plan: how the plan comes to offer it, its panel and button, and the feedback's next step.
SITTINGS = {
    "review": (two_skills_due, "review-panel", "Start the mixed review", "Next review question"),
    "unit check": (fractions_check_offered, "unit-check-panel", "Start the unit check on Fractions", "Next question"),
}


def _start(browser, tool, sitting: str) -> str:
    """Start the sitting from the plan's panel; return the name of its feedback's next step."""
    offered, panel_id, start, following = SITTINGS[sitting]
    browser.get(offered(browser, tool))
    panel = browser.find_element(By.CSS_SELECTOR, f"[data-testid={panel_id}]")
    _click(browser, panel.find_element(By.XPATH, f".//button[normalize-space()='{start}']"))
    return following


@pytest.mark.parametrize("sitting", list(SITTINGS))
def test_back_forward_and_reload_after_a_review_or_unit_check_answer_show_its_feedback(browser, tool, sitting):
    following = _start(browser, tool, sitting)
    _answer(browser, right=True)
    _back_forward_and_reload(browser, "That's right!", following)
    label = "review-label" if sitting == "review" else "unit-check-label"
    assert browser.find_element(By.CSS_SELECTOR, f"h1 [data-testid={label}]").text == sitting.capitalize()
    mark_page(browser)
    browser.switch_to.active_element.send_keys(Keys.ENTER)  # the focused next step, one key as before
    wait(browser, left_page)
    assert browser.find_elements(By.NAME, "served")  # the sitting's next question


def test_cookieless_launch_keeps_its_token_through_the_feedback_redirect_and_a_reload(
    cookie_blocking_browser, lms_on_another_site  # noqa: F811 (fixtures)
):
    browser = cookie_blocking_browser
    browser.get(f"{lms_on_another_site}/frame/{STUDENT}")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".step a.button")))
    _practise_one_item(browser)
    frame_url = browser.execute_script("return location.href")
    assert "/answered/" in frame_url and "lt=" in frame_url  # the launch token, not a cookie, carries the launch
    mark_page(browser)
    browser.execute_script("location.reload()")
    wait(browser, left_page)
    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "main"), "That's right!"))
    assert "lt=" in browser.find_element(By.LINK_TEXT, "Next question").get_attribute("href")


def _hint_then_answer(browser, following: str) -> None:
    """Choose an answer, ask for a hint, reload, answer; then Back, Forward and a reload: no browser error page."""
    served = browser.find_element(By.NAME, "served").get_attribute("value")
    choices = browser.find_elements(By.CSS_SELECTOR, "input[name=answer][type=radio]")
    if choices:
        choices[-1].click()
    else:
        browser.find_element(By.ID, "answer").send_keys("3 apples")
    chosen = choices[-1].get_attribute("value") if choices else "3 apples"
    _click(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Show a hint']"))
    for _ in range(2):  # the hint's page, then reloaded: a page of its own, the hint counted once
        assert "Confirm Form Resubmission" not in browser.page_source
        assert browser.find_element(By.NAME, "served").get_attribute("value") == served
        assert len(browser.find_elements(By.CSS_SELECTOR, "#hints li")) == 1
        if choices:
            assert browser.find_element(By.CSS_SELECTOR, "input[name=answer]:checked").get_attribute("value") == chosen
        else:
            assert browser.find_element(By.ID, "answer").get_attribute("value") == chosen
        _reloaded(browser)
    _answer(browser, right=False)
    assert "/answered/" in browser.current_url
    _moved(browser, browser.back)  # the hint's page, not "Confirm Form Resubmission" (ERR_CACHE_MISS)
    assert "Confirm Form Resubmission" not in browser.page_source
    assert "ERR_CACHE_MISS" not in browser.page_source
    # Our page, fetched again (not as the back/forward cache kept it): the question answered is not offered as open.
    wait(browser, lambda b: served not in [e.get_attribute("value") for e in b.find_elements(By.NAME, "served")])
    assert browser.find_elements(By.CSS_SELECTOR, "main h1")
    _moved(browser, browser.forward)
    _is_feedback(browser, "Not quite.", following)


def test_back_after_a_hint_and_an_answer_shows_the_question_page_not_a_browser_error(browser, tool):
    home = _student_in_the_demo_course(browser, tool)
    _practise(browser, home, "frac-equivalent")
    _hint_then_answer(browser, "Next question")


@pytest.mark.parametrize("sitting", list(SITTINGS))
def test_back_after_a_hint_and_an_answer_in_a_review_or_unit_check_shows_no_browser_error(browser, tool, sitting):
    _hint_then_answer(browser, _start(browser, tool, sitting))


def test_back_to_the_plan_after_a_level_changed_shows_the_new_level(browser, tool):
    """The plan said "Not started"; after a right answer the feedback says "Attempted"; Back to the plan says so too."""
    home = _student_in_the_demo_course(browser, tool)
    browser.get(home)
    level = "//tr[th[normalize-space()='Equivalent fractions']]//span[contains(@class, 'level')]"
    assert browser.find_element(By.XPATH, level).text == "Not started"
    _click(browser, browser.find_element(By.CSS_SELECTOR, "main a.button[href$='/practice/frac-equivalent']"))
    _answer(browser, right=True)
    assert "Equivalent fractions: Attempted" in browser.find_element(By.TAG_NAME, "main").text
    _moved(browser, browser.back)  # the question's page
    _moved(browser, browser.back)  # the plan
    assert browser.current_url == home
    wait(browser, lambda b: b.find_element(By.XPATH, level).text == "Attempted")
