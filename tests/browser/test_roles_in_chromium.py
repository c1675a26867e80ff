"""In real Chromium with axe-core: a teaching assistant works in the course but is refused deleting all of it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from .accessibility import PageAudit, launch_as, teacher_opens_the_demo_course, wait
from .accessibility import click_through as _click

pytestmark = pytest.mark.browser

TEACHER, TA = "Amara Okafor", "Daniel Reyes"


def test_a_teaching_assistant_sees_no_delete_button_and_is_refused_the_delete_page(browser, tool, sandbox):
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)

    launch_as(browser, tool, TA)
    _click(browser, "//a[normalize-space()='Privacy and data']")
    assert browser.find_elements(By.XPATH, "//a[contains(normalize-space(), 'Delete all course data')]") == []
    audit.check("privacy page as a teaching assistant")
    privacy_url = browser.current_url

    # Typing the address does not help: the page refuses, says why in words, and deletes nothing.
    browser.get(privacy_url.split("privacy/")[0] + "privacy/course/delete")
    wait(browser, ec.presence_of_element_located((By.TAG_NAME, "h1")))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "teaching assistant" in page and "delete all course data" in page
    assert browser.find_elements(By.XPATH, "//button[contains(normalize-space(), 'Delete')]") == []
    audit.check("refused: delete all course data")
    assert sandbox.launch("teacher").status_code == 200
    assert not audit.problems, "\n".join(audit.problems)
