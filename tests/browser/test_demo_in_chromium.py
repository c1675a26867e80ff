"""A person opens the demo sandbox LMS in Chromium and launches Pathways as a teacher and as a student."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser


def _launch_as(browser, tool, name: str) -> None:
    browser.get(tool.url("/"))  # redirects to the sandbox LMS course page
    assert "Grade 7 Mathematics" in browser.page_source
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {name}").click()
    # The platform's auto-posting form carries the id_token to the tool.
    WebDriverWait(browser, 20).until(ec.url_contains("/c/"))


def test_teacher_launches_from_the_sandbox_and_sees_the_class_page(browser, tool):
    _launch_as(browser, tool, "Amara Okafor")
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == "Grade 7 Mathematics"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=person-name]").text == "Amara Okafor"
    assert "Class roster" in browser.page_source
    browser.find_element(By.XPATH, "//button[contains(., 'Update roster')]").click()
    WebDriverWait(browser, 20).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flashes"), "Roster updated"))
    table = browser.find_element(By.TAG_NAME, "table").text
    for student in ("Priya Shah", "Zainab Hassan", "Sofía García"):
        assert student in table


def test_student_launches_from_the_sandbox_and_sees_their_own_page(browser, tool):
    _launch_as(browser, tool, "Priya Shah")
    assert "Welcome, Priya Shah" in browser.find_element(By.TAG_NAME, "h1").text
    assert "Grade 7 Mathematics" in browser.page_source
    assert "Class roster" not in browser.page_source


def test_pages_fit_a_phone_screen(browser, tool):
    browser.set_window_size(360, 740)
    _launch_as(browser, tool, "Amara Okafor")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
