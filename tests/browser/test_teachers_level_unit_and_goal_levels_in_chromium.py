"""In real Chromium: a level the teacher set still says what the student's own answers need for the next one (on
the plan and the practice feedback alike), or that only the teacher changes it; "Back to my plan" after practice
opens the plan on the unit, and at the row, of the skill just practised; the goals page shows each goal's skills
with the plan's levels."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from tests.support import SandboxActions, submit_form

from .test_practice_in_chromium import STUDENT, _answer, _click, _launch_as, _practise

pytestmark = pytest.mark.browser

HOLDS = ("Your teacher set this level, and only your teacher changes it now. Keep practising: your teacher sees "
         "your answers.")


def _demo_course_with_a_teacher(tool):
    """The teacher (over HTTP, as the LMS launches them) sets the course up with the demo pack; return their page."""
    return submit_form(SandboxActions(tool).launch("teacher"), "/content/demo")


def _set_level(teacher, tool, skill_id: str, level: str) -> None:
    """The teacher sets the student's level on a skill by their own judgement (the class view's form)."""
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+", teacher.url).group(0) + "/class"), timeout=30)
    view.http = teacher.http
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', view.text, re.S).group(1)
    student = next(pid for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select) if name == STUDENT)
    done = submit_form(view, "/class/override", person_id=student, skill_id=skill_id, level=level,
                       note="Showed it at the board")
    assert f"Level set to {level}" in done.text


def _row(browser, name: str):
    return browser.find_element(By.XPATH, f"//table//tr[th[@scope='row'][normalize-space()='{name}']]")


def _needs_in_row(browser, name: str) -> str:
    return _row(browser, name).find_element(By.CSS_SELECTOR, "strong.level-needs").text


def _feedback_needs(browser, name: str) -> str:
    """What the feedback says under the skill's level."""
    line = browser.find_element(By.XPATH, f"//p[starts-with(normalize-space(), '{name}:')]")
    return line.find_element(By.CSS_SELECTOR, "strong.level-needs").text


def _back_to_the_plan(browser) -> None:
    _click(browser, browser.find_element(By.LINK_TEXT, "Back to my plan"))


def test_a_level_the_teacher_set_says_what_the_next_level_needs_on_the_plan_and_the_feedback(browser, tool):
    # Before, a skill whose level the teacher set said nothing of the next level, on the plan or the feedback: a
    # student set at Proficient never read what Mastered takes, though their right answers raise the teacher's level.
    teacher = _demo_course_with_a_teacher(tool)
    home = _launch_as(browser, tool, STUDENT)  # on the class roster from their first launch
    _set_level(teacher, tool, "frac-equivalent", "Proficient")
    browser.get(home)
    told = _needs_in_row(browser, "Equivalent fractions")
    assert told.startswith("To reach Mastered: ") and "after a break of an hour or more" in told, told

    _practise(browser, home, "frac-equivalent")
    _answer(browser, right=True)
    feedback = _feedback_needs(browser, "Equivalent fractions")
    assert feedback.startswith("To reach Mastered: "), feedback
    _back_to_the_plan(browser)
    assert _needs_in_row(browser, "Equivalent fractions") == feedback  # one thing said on both pages

    # Right answers on another skill until they show Familiar; the teacher then sets it lower (they doubt them):
    # only the teacher changes that level, and both pages say so instead of a target no answer can reach.
    for _ in range(6):
        _practise(browser, home, "frac-add-sub")
        _answer(browser, right=True)
        if browser.find_elements(By.XPATH, "//p[starts-with(normalize-space(), 'Add and subtract fractions:')]"
                                           "/span[normalize-space()='Familiar']"):
            break
    else:
        pytest.fail("six right answers never showed Familiar")
    _set_level(teacher, tool, "frac-add-sub", "Attempted")
    _practise(browser, home, "frac-add-sub")
    _answer(browser, right=True)
    assert _feedback_needs(browser, "Add and subtract fractions") == HOLDS
    _back_to_the_plan(browser)
    row = _row(browser, "Add and subtract fractions")
    assert row.find_element(By.CSS_SELECTOR, ".level").text == "Attempted"
    assert row.find_element(By.CSS_SELECTOR, "strong.level-needs").text == HOLDS


_IN_VIEW = """
const box = arguments[0].getBoundingClientRect();
return box.top >= 0 && box.bottom <= window.innerHeight;
"""


def test_back_to_my_plan_after_practice_opens_the_unit_of_the_skill_just_practised_at_its_row(browser, tool):
    # Before, the link opened the plan on the student's own unit (Fractions, their first next step's): the skill
    # just practised, in another unit, was not on the page at all.
    _demo_course_with_a_teacher(tool)
    home = _launch_as(browser, tool, STUDENT)
    assert "Fractions" in browser.find_element(By.ID, "map-heading").text
    _practise(browser, home, "percent")
    _click(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Back to my plan"))  # the practice page's link
    assert browser.find_element(By.ID, "map-heading").text == "Your skill map: Ratios, rates and percents"
    _practise(browser, home, "percent")
    _answer(browser, right=True)
    _back_to_the_plan(browser)
    assert browser.find_element(By.ID, "map-heading").text == "Your skill map: Ratios, rates and percents"
    row = _row(browser, "Percent of a quantity")
    assert browser.execute_script("return document.querySelector(':target')") == row
    assert browser.execute_script(_IN_VIEW, row), "the row of the skill just practised is scrolled into view"
    # The unit shown is the one marked in the list of units, as when the student chooses it there.
    current = browser.find_element(By.CSS_SELECTOR, ".unit-list a[aria-current='true']")
    assert current.text == "Ratios, rates and percents"


def test_the_goals_page_shows_each_goals_skills_with_the_plans_levels(browser, tool):
    # Before, a goal listed its skills by name alone: the student had to go back to the plan to see where they were.
    teacher = _demo_course_with_a_teacher(tool)
    home = _launch_as(browser, tool, STUDENT)
    _set_level(teacher, tool, "frac-multiply", "Proficient")
    browser.get(home)
    on_plan = {name: _row(browser, name).find_element(By.CSS_SELECTOR, ".level")
               for name in ("Add and subtract fractions", "Multiply fractions", "Divide fractions")}
    on_plan = {name: (badge.text, badge.get_attribute("class")) for name, badge in on_plan.items()}
    assert on_plan["Multiply fractions"] == ("Proficient", "level level-3")
    browser.get(home.split("?")[0].rstrip("/") + "/goals")
    goal = browser.find_element(By.XPATH, "//li[strong[normalize-space()='Fluent with fractions']]")
    skills = goal.find_element(By.XPATH, ".//span[starts-with(normalize-space(), 'Skills:')]")
    badges = skills.find_elements(By.CSS_SELECTOR, ".level")
    assert skills.text == ("Skills: Add and subtract fractions Not started, Multiply fractions Proficient, "
                           "Divide fractions Not started")
    assert [(badge.text, badge.get_attribute("class")) for badge in badges] == list(on_plan.values())

    # A goal of the student's own names its skills with the same levels.
    browser.find_element(By.ID, "goal-title-new").send_keys("Multiply like a pro")
    box = browser.find_element(By.XPATH, "//label[normalize-space()='Multiply fractions']")
    browser.find_element(By.ID, box.get_attribute("for")).click()
    _click(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Add my goal']"))
    mine = browser.find_element(By.XPATH, "//*[@data-testid='my-goal']//span[starts-with(normalize-space(), 'Skills:')]")
    assert mine.text == "Skills: Multiply fractions Proficient"
    assert mine.find_element(By.CSS_SELECTOR, ".level").get_attribute("class") == "level level-3"
