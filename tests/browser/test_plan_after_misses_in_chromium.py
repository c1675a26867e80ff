"""In real Chromium: after misses in a row on a skill, the plan says what the practice feedback said (learn it another
way before more questions, or ask the teacher), not that more practice moves the student up, and its step offers
"Ask my teacher" as the feedback did."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from .accessibility import PageAudit, wait
from .test_practice_in_chromium import _answer, _click, _practise, _student_in_the_demo_course

pytestmark = pytest.mark.browser

SKILL, NAME = "frac-equivalent", "Equivalent fractions"  # the demo plan's first step for a new student
MORE_PRACTICE = "more practice moves you up"
LEARN_FIRST = (
    "Your last answers on it missed: before more questions, try one of the ways to learn it, or ask your teacher."
)


def _step(browser):
    return browser.find_element(
        By.XPATH, f"//li[contains(@class, 'step')][h3[starts-with(normalize-space(), '{NAME}')]]"
    )


def test_after_two_misses_the_plan_says_learn_it_another_way_and_offers_to_ask_the_teacher(browser, tool):
    # The feedback after two misses said "A few misses in a row are a sign to look at it differently before more
    # questions"; back on the plan, the same skill's step said "You've already started it and you're at Attempted;
    # more practice moves you up", with only a Practise button and no way to ask for help.
    audit = PageAudit(browser)
    home = _student_in_the_demo_course(browser, tool)
    _practise(browser, home, SKILL)
    _answer(browser, right=True)
    browser.get(home)
    assert MORE_PRACTICE in _step(browser).text  # one right answer: practice moves them up
    assert not _step(browser).find_elements(By.XPATH, ".//button[starts-with(normalize-space(), 'Ask my teacher')]")

    for _ in range(2):
        _practise(browser, home, SKILL)
        _answer(browser, right=False)
    assert browser.find_elements(By.ID, "another-way-heading")  # the feedback's own advice
    _click(browser, browser.find_element(By.LINK_TEXT, "Back to my plan"))
    step = _step(browser)
    assert LEARN_FIRST in step.text and MORE_PRACTICE not in step.text, step.text
    # The level table gives the same reason for the same skill.
    row = browser.find_element(By.XPATH, f"//table//tr[th[@scope='row'][normalize-space()='{NAME}']]")
    assert "last 2 missed" in row.text
    audit.check("plan after two misses")
    ask = step.find_element(By.XPATH, ".//button[starts-with(normalize-space(), 'Ask my teacher')]")
    assert ask.accessible_name.startswith("Ask my teacher") and ask.accessible_name.endswith(NAME)  # which skill
    _click(browser, ask)
    wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flashes"), f"asked for help with {NAME}"))
    # Back on the plan, not on to a question: the step said to learn it another way first.
    assert not browser.find_elements(By.NAME, "served")
    assert LEARN_FIRST in _step(browser).text

    # A right answer ends the run of misses: the step goes back to saying practice moves them up.
    _practise(browser, home, SKILL)
    _answer(browser, right=True)
    browser.get(home)
    assert MORE_PRACTICE in _step(browser).text and LEARN_FIRST not in _step(browser).text
    audit.assert_clean()
