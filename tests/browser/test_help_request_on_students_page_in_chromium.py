"""In real Chromium, with the keyboard: a student's "ask my teacher" request shows on the teacher's page for that
student (the skill, when), not only on "Needs help now", and "Mark … as helped" there leads back to the student.

Before, a teacher who opened the student from the class view never saw that the student had asked."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support import open_in_launch, submit_form

from .accessibility import PageAudit, left_page, mark_page, teacher_opens_the_demo_course, wait

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"


def test_the_students_page_shows_their_help_request_and_marks_it_helped(browser, tool, sandbox):
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    question = open_in_launch(sandbox.launch("student"), tool, "/practice/frac-equivalent")
    submit_form(question, "/practice/frac-equivalent/ask")
    audit = PageAudit(browser)
    # From the course page's "Needs help now", as a teacher goes, to the student's own page.
    browser.get(re.match(r".*/c/[^/]+/", browser.current_url).group(0) + "class/needs-help")
    browser.find_element(By.LINK_TEXT, STUDENT).click()
    wait(browser, lambda b: "/students/" in b.current_url)
    student_page = browser.current_url
    asked = browser.find_element(By.CSS_SELECTOR, "[data-testid='help-requests']")
    assert asked.find_element(By.TAG_NAME, "h2").text == "Asked for your help"
    assert re.search(r"Equivalent fractions, asked \S", asked.text), asked.text
    audit.check("a student's page with their help request")

    button = asked.find_element(By.XPATH, f".//button[normalize-space() = 'Mark {STUDENT} as helped']")
    mark_page(browser)
    button.send_keys(Keys.ENTER)
    wait(browser, left_page)
    assert browser.current_url == student_page
    assert "Marked as helped." in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='help-requests']")
    audit.assert_clean()
