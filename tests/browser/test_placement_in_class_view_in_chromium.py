"""In real Chromium, the class view tells a teacher what the student's page, the groups and the student's own plan
already say: where a student's placement check suggests they know a skill, the cell says so beside the level.

Before, such a cell read a bare "Not started", the same as a classmate who had never seen the skill: a teacher
scanning the heatmap for whom to reteach counted the student in, while the student's plan offered only a short
practice to confirm it and their page read "From the placement check: got … right"."""

from __future__ import annotations

import html
import re

import pytest
from selenium.webdriver.common.by import By

from tests.support import open_in_launch, served_answer, submit_form

from .accessibility import PageAudit, teacher_opens_the_demo_course

pytestmark = pytest.mark.browser

TEACHER, STUDENT, NAME = "Amara Okafor", "student-3", "Sofía García"


def _take_the_placement_check(tool, sandbox) -> None:
    """As a student, answer the whole placement check right, over HTTP."""
    student = sandbox.launch(STUDENT)
    page = open_in_launch(student, tool, html.unescape(re.search(r'href="[^"]*(/diagnostic)"', student.text).group(1)))
    for _ in range(40):
        if 'name="served"' not in page.text:
            break
        page = submit_form(page, "/diagnostic", answer=served_answer(tool, page))
    assert "/diagnostic/result" in page.url


def test_the_class_view_marks_the_skills_a_placement_check_suggests_a_student_knows(browser, tool, sandbox):
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    home = re.match(r".*/c/[^/]+/", browser.current_url).group(0)
    _take_the_placement_check(tool, sandbox)

    browser.get(home + "class")
    row = browser.find_element(By.XPATH, f"//tbody/tr[th/a[normalize-space() = '{NAME}']]")
    student_page = row.find_element(By.XPATH, "th/a").get_attribute("href")
    marked = {cell.find_element(By.TAG_NAME, "a").get_attribute("href").rsplit("/", 1)[1]
              for cell in row.find_elements(By.CSS_SELECTOR, "td.placed-cell")}
    assert marked, "the cells the placement check stands in for say so"
    for cell in row.find_elements(By.CSS_SELECTOR, "td.placed-cell"):
        assert "placement check: likely knows it" in cell.text
    assert browser.find_element(By.ID, "placed-key").is_displayed()
    # No other student took the check: no other row carries the words.
    others = browser.find_elements(By.XPATH, f"//tbody/tr[not(th/a[normalize-space() = '{NAME}'])]/td")
    assert others and not any("placement check" in cell.text for cell in others)
    audit.check("the class view with a placement check's suggestions")

    # The student's page names the same skills as the check's "got … right": one truth on both pages.
    browser.get(student_page)
    known = set()
    for line in browser.find_elements(By.XPATH, "//table[.//th[normalize-space() = 'Why']]/tbody/tr"):
        if line.find_elements(By.XPATH, "td[contains(., 'From the placement check: got')]"):
            known.add(line.find_element(By.XPATH, "th").text)
    skill_ids = {a.text: a.get_attribute("href").rsplit("/", 1)[1]
                 for a in browser.find_elements(By.XPATH, "//a[contains(@href, '/skills/')]")}
    assert known, "the check placed some skills as known"
    assert {skill_ids.get(name, name) for name in known} <= marked

    # And the student's own plan: each next step it offers "to confirm" is marked in the class view.
    plan = sandbox.launch(STUDENT)
    steps = plan.text.split('<ol class="steps">', 1)[1].split("</ol>", 1)[0].split('<li class="step">')[1:]
    confirming = {re.search(r'/practice/([^"/?]+)"', step).group(1) for step in steps
                  if "The placement check suggests you know this already" in step}
    assert confirming, "the plan offers a skill to confirm"
    assert set(confirming) <= marked
    audit.assert_clean()
