"""In real Chromium with axe-core: a teacher opens the class activity table and sorts it from the keyboard, looks at
the class skill map, and a student sees their own map on their plan; each page passes axe at desktop and 360 px."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support import served_answer, submit_form

from .accessibility import (
    PageAudit,
    click_through,
    launch_as,
    left_page,
    mark_page,
    teacher_opens_the_demo_course,
    wait,
)

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"


def _answer_two(sandbox, tool) -> None:
    """The student answers two questions over HTTP, so the table has someone ahead of the rest."""
    plan = sandbox.launch("student")
    path = re.search(r'href="[^"]*/c/[^/]+(/practice/[^"?]+)"', plan.text).group(1)
    base = re.search(r"/c/[^/?]+", plan.url).group(0)
    for _ in range(2):
        question = plan.http.get(tool.url(base + path), timeout=30)
        question.http = plan.http
        submit_form(question, path, answer=served_answer(tool, question))


def test_teacher_sorts_the_activity_table_from_the_keyboard_and_the_student_sees_their_map(browser, tool, sandbox):
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    _answer_two(sandbox, tool)
    click_through(browser, "//a[contains(normalize-space(), 'Open the class view')]")
    click_through(browser, "//nav//a[normalize-space()='Class activity']")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Class activity"
    audit.check("class activity, by name")

    link = browser.find_element(By.XPATH, "//th/a[starts-with(normalize-space(), 'Questions this week')]")
    # Tab to the header link as a keyboard user would, then press Enter on it.
    browser.execute_script("document.activeElement.blur()")
    for _ in range(60):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.execute_script("return document.activeElement === arguments[0]", link):
            break
    assert browser.execute_script("return document.activeElement === arguments[0]", link), "not reachable by Tab"
    mark_page(browser)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser, left_page)
    header = browser.find_element(By.XPATH, "//th[a[starts-with(normalize-space(), 'Questions this week')]]")
    assert header.get_attribute("aria-sort") == "descending"
    first = browser.find_element(By.CSS_SELECTOR, ".activity-table tbody tr")
    assert first.find_element(By.TAG_NAME, "th").text == STUDENT
    assert first.find_elements(By.TAG_NAME, "td")[1].text == "2"
    audit.check("class activity, sorted by questions this week")

    click_through(browser, "//nav//a[normalize-space()='Skill map']")
    boxes = browser.find_elements(By.CSS_SELECTOR, "svg.skill-map a.map-link")
    assert len(boxes) == 16
    audit.check("class skill map")

    launch_as(browser, tool, STUDENT)
    picture = browser.find_element(By.CSS_SELECTOR, "svg.skill-map[role=img]")
    assert picture.find_element(By.TAG_NAME, "title").get_attribute("textContent").startswith("Your skill map")
    # The plan draws the unit the student works in (issue 14): Fractions, four of the demo's sixteen skills.
    assert picture.size["width"] > 0 and len(picture.find_elements(By.CSS_SELECTOR, "g.map-level")) == 4
    audit.check("the student's plan with their skill map")
    audit.assert_clean()


def _tab_to(browser, element) -> None:
    """Move the keyboard focus to `element` with Tab, as a keyboard user would."""
    browser.execute_script("document.activeElement.blur()")
    for _ in range(80):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.execute_script("return document.activeElement === arguments[0]", element):
            return
    raise AssertionError("not reachable by Tab")


def test_student_moves_to_another_units_map_with_the_keyboard_and_a_link(browser, tool, sandbox):
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    launch_as(browser, tool, STUDENT)
    units = browser.find_element(By.CSS_SELECTOR, "[data-testid=unit-list]")
    shown = units.find_elements(By.CSS_SELECTOR, "a[aria-current=true]")
    assert [a.text for a in shown] == ["Fractions"]
    assert browser.find_element(By.ID, "map-heading").text == "Your skill map: Fractions"
    audit.check("the student's plan with the list of units")

    # Tab to another unit and press Enter: its map and table replace Fractions', no script involved.
    _tab_to(browser, units.find_element(By.LINK_TEXT, "Equations and lines"))
    mark_page(browser)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser, left_page)
    assert "unit=unit-linear" in browser.current_url
    assert browser.find_element(By.ID, "map-heading").text == "Your skill map: Equations and lines"
    current = browser.find_elements(By.CSS_SELECTOR, "[data-testid=unit-list] a[aria-current=true]")
    assert [a.text for a in current] == ["Equations and lines"]
    rows = browser.find_elements(By.CSS_SELECTOR, "table tbody th[scope=row]")
    assert len(rows) == 4 and "Two-step equations" in [row.text for row in rows]
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.skill-map g.map-level")) == 4
    audit.check("the plan showing another unit")

    # And back with a plain click on the link.
    click_through(browser, "//*[@data-testid='unit-list']//a[normalize-space()='Fractions']")
    assert browser.find_element(By.ID, "map-heading").text == "Your skill map: Fractions"
    audit.assert_clean()
