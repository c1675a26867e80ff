"""In real Chromium at phone width, with the keyboard: the course page's "Grades sent to the LMS" with a gradebook
column per skill is a fold per student, not a row per student and column (some 500 rows for a class of 30).

The student whose grade the LMS refused comes first, open, its one line counting it; the others stay folded and
open with Enter; nothing on the page scrolls sideways."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import drain_outbox, open_in_launch, served_answer, submit_form

from .accessibility import PHONE, PageAudit, wait
from .test_skill_columns_named_on_course_page_in_chromium import open_a_course_graded_per_skill

pytestmark = pytest.mark.browser

TEACHER = "Amara Okafor"
PACK = load_pack(demo_pack_data())
FOLDS = "//section[@aria-labelledby='grades-heading']//details[@data-testid='grade-student']"


def _practise(sandbox, tool, who: str) -> None:
    student = sandbox.launch(who)
    skill = PACK.skills[0]
    page = open_in_launch(student, tool, f"/practice/{skill.id}")
    submit_form(page, f"/practice/{skill.id}", answer=served_answer(tool, page))
    drain_outbox(tool)


def test_grades_fold_per_student_failed_first_and_open_at_phone_width_with_the_keyboard(browser, tool, sandbox):
    audit = PageAudit(browser)
    home = open_a_course_graded_per_skill(browser, tool, sandbox)
    _practise(sandbox, tool, "student")  # Priya Shah: sent
    sandbox.platform.fail_next.extend([403] * 3)  # the LMS refuses the next student's grades
    _practise(sandbox, tool, "student-2")

    browser.set_window_size(*PHONE)
    browser.get(home)
    folds = browser.find_elements(By.XPATH, FOLDS)
    assert len(folds) == 5, [f.text for f in folds]
    first, *others = folds
    summary = first.find_element(By.TAG_NAME, "summary").text
    assert "Priya Shah" not in summary and re.search(r"Failed: [1-9]", summary), summary
    assert first.get_attribute("open") is not None
    assert first.find_element(By.XPATH, ".//button[starts-with(normalize-space(), 'Retry')]").is_displayed()
    assert all(f.get_attribute("open") is None for f in others)
    # Priya's line says her grades went; Enter on it opens her columns, one row each.
    priya = next(f for f in others if "Priya Shah" in f.text)
    line = priya.find_element(By.TAG_NAME, "summary")
    assert re.search(r"Synced: [1-9]", line.text) and "Failed: 0" in line.text, line.text
    browser.execute_script("arguments[0].focus()", line)
    line.send_keys(Keys.ENTER)
    wait(browser, lambda b: priya.get_attribute("open") is not None)
    rows = priya.find_elements(By.XPATH, ".//tbody/tr")
    assert len(rows) > 1 and all(row.is_displayed() for row in rows)
    # Nothing wider than the phone.
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), (
        "the course page scrolls sideways at phone width")
    audit.check("the course page's grades folded per student, at phone width")
    audit.assert_clean()
