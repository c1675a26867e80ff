"""In real Chromium with axe-core: a teacher assigns a skill with a due date from the class view, and the student's
plan shows it first, marked as assigned; each page passes axe at desktop and 360 px."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .accessibility import PageAudit, launch_as, teacher_opens_the_demo_course
from .accessibility import click_through as _click

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"



def test_teacher_assigns_a_skill_from_the_class_view_and_it_leads_the_students_plan(browser, tool, sandbox):
    audit = PageAudit(browser)
    sandbox.launch("student")
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    _click(browser, "//a[contains(normalize-space(), 'Open the class view')]")
    _click(browser, "//nav//a[normalize-space()='Assignments']")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Assignments"
    audit.check("assignments, none yet")

    browser.find_element(By.XPATH, "//label[normalize-space()='Unit rates']").click()
    Select(browser.find_element(By.ID, "assign-person")).select_by_visible_text(STUDENT)
    browser.execute_script("document.getElementById('assign-due').value = '2031-12-18'")
    _click(browser, "//button[normalize-space()='Assign']")
    assert "Assigned to 1 student." in browser.page_source
    row = browser.find_element(By.CSS_SELECTOR, "table.assignments tbody tr")
    assert STUDENT in row.text and "Unit rates" in row.text and "2031-12-18" in row.text
    audit.check("assignments after assigning one skill")

    launch_as(browser, tool, STUDENT)
    first = browser.find_element(By.CSS_SELECTOR, ".steps > li")
    assert "step-assigned" in first.get_attribute("class")
    assert first.find_element(By.TAG_NAME, "h3").text.startswith("Unit rates")
    assert first.find_element(By.CSS_SELECTOR, ".assigned-by-teacher").text == (
        "Assigned by your teacher · Due by 18 December 2031")
    audit.check("the student's plan with an assigned skill first")
    audit.assert_clean()


_PAST_DATE_ACCEPTED = """
const field = document.getElementById(arguments[0]);
const day = new Date(field.min ? field.min + 'T12:00:00Z' : Date.now());
day.setUTCDate(day.getUTCDate() - 1);
field.value = day.toISOString().slice(0, 10);
return field.checkValidity();
"""


def test_a_groups_due_date_cannot_be_set_before_today_as_on_the_assignments_page(browser, tool, sandbox):
    # Before, the Assign button under a group took yesterday (a slip of the date picker): the skill was overdue
    # the moment it was assigned, where the Assignments page's own date field refuses any day before today.
    for who in ("student", "student-2", "student-3"):
        sandbox.launch(who)
    home = launch_as(browser, tool, TEACHER)
    _click(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    _click(browser, "//button[contains(normalize-space(), 'Update roster from the course')]")
    browser.get(home + "class/assignments")
    today = browser.find_element(By.ID, "assign-due").get_attribute("min")
    assert browser.execute_script(_PAST_DATE_ACCEPTED, "assign-due") is False
    browser.get(home + "class/groups?skill=frac-equivalent&kind=same-need")
    due = browser.find_element(By.CSS_SELECTOR, "form.group-assign input[type=date]")
    assert due.get_attribute("min") == today
    assert browser.execute_script(_PAST_DATE_ACCEPTED, due.get_attribute("id")) is False
