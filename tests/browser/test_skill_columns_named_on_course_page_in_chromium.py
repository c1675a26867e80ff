"""In real Chromium, in Spanish: with a gradebook column per skill, the course page's "Grades sent to the LMS"
names each skill's column by the skill's name in the teacher's language, as the LMS gradebook's column title does.

Before, the table read "Grade 7 Mathematics (frac-equivalent)": the skill's id in the course pack, a word no
teacher chose and no other page shows."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import drain_outbox, open_in_launch, parse_form, served_answer, submit_form

from .accessibility import PageAudit, click_through, wait

pytestmark = pytest.mark.browser

TEACHER = "Amara Okafor"
PACK = load_pack(demo_pack_data())


def _add_pathways_to_a_module(sandbox) -> None:
    """Add the plan to the course through Deep Linking, over HTTP: the course's gradebook column."""
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields, timeout=30)


def open_a_course_graded_per_skill(browser, tool, sandbox, *, locale: str = "") -> str:
    """As the teacher (in `locale`): the demo pack and roster, the plan added to a module, a share of every skill
    graded (sent at once, no goal date needed) with a column per skill; return the course page's address."""
    browser.get(tool.url("/sandbox/" + (f"?locale={locale}" if locale else "")))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {TEACHER}").click()
    wait(browser, ec.url_contains("/c/"))
    home = re.match(r".*/c/[^/]+/", browser.current_url).group(0)
    click_through(browser, "//form[contains(@action, '/content/demo')]//button[@type='submit']")
    click_through(browser, "//form[contains(@action, '/roster/sync')]//button[@type='submit']")
    _add_pathways_to_a_module(sandbox)
    browser.get(home + "teacher/grading")
    browser.find_element(By.ID, "scheme-share").click()
    browser.find_element(By.ID, "per-skill").click()
    click_through(browser, "//form[.//input[@id='per-skill']]//button[@type='submit']")
    return home


def test_each_skills_gradebook_column_is_named_by_the_skill_in_the_teachers_language(browser, tool, sandbox):
    audit = PageAudit(browser)
    home = open_a_course_graded_per_skill(browser, tool, sandbox, locale="es")

    student = sandbox.launch("student")  # Priya Shah
    skill = PACK.skills[0]
    page = open_in_launch(student, tool, f"/practice/{skill.id}")
    submit_form(page, f"/practice/{skill.id}", answer=served_answer(tool, page))
    drain_outbox(tool)

    browser.get(home)
    # A fold per student: Priya's opened, as a teacher would, to read her columns.
    fold = browser.find_element(By.XPATH, "//section[@aria-labelledby='grades-heading']"
                                          "//details[summary[contains(., 'Priya Shah')]]")
    if fold.get_attribute("open") is None:
        fold.find_element(By.TAG_NAME, "summary").click()
    rows = [row.text for row in browser.find_elements(By.XPATH, "//section[@aria-labelledby='grades-heading']//tbody/tr")]
    mine = [row.text for row in fold.find_elements(By.XPATH, ".//tbody/tr") if "(" in row.text]
    assert mine, rows
    assert not [row for row in rows if f"({skill.id})" in row], rows
    assert any("(Fracciones equivalentes)" in row for row in mine), mine
    audit.check("the course page's grades, a column per skill, in Spanish")
    audit.assert_clean()
