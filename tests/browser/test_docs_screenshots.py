"""The pictures in README.md and docs/ come from this story in real Chromium, so they show what Pathways shows.

A teacher starts the demo course, two students practise, the teacher opens the class view. With
PATHWAYS_SCREENSHOTS=docs/img the test also saves each page as a PNG there (docs/development.md: refreshing the
screenshots); without it, it checks the same pages and saves nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from .accessibility import launch_as
from .test_accessibility import STUDENT, TEACHER, _answer, _click, _link, _teacher_sets_up_the_demo_pack

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("PATHWAYS_SCREENSHOTS")
WIDTH = 1100


def _shoot(browser, name: str) -> None:
    """Save the whole page (not only the window) as docs/img/<name>.png when screenshots are asked for."""
    if not SCREENSHOTS:
        return
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(WIDTH, min(max(height + 140, 600), 2600))
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(folder / f"{name}.png"))
    browser.set_window_size(WIDTH, 900)


def _practise(browser, tool, student: str, answers: list[bool]) -> str:
    home = launch_as(browser, tool, student)
    _click(browser, "//li[@class='step']//a[contains(@class, 'button')]")
    for right in answers:
        _answer(browser, right=right)
        _click(browser, _link("Next question"))
    return home


def test_pages_shown_in_the_documentation(browser, tool):
    browser.set_window_size(WIDTH, 900)
    _teacher_sets_up_the_demo_pack(browser, tool)

    browser.get(tool.url("/sandbox/"))
    assert "Launch settings" in browser.page_source
    _shoot(browser, "sandbox-lms")

    _practise(browser, tool, "Zainab Hassan", [True, False, True])
    _practise(browser, tool, "Noah Kim", [False, False])
    _practise(browser, tool, "Sofía García", [True, True, True, True])
    student_home = _practise(browser, tool, STUDENT, [True] * 6)
    _answer(browser, right=False)
    assert "worked solution" in browser.page_source.lower() or "solution" in browser.page_source.lower()
    _shoot(browser, "practice-feedback")

    browser.get(student_home)
    assert "Welcome, Priya Shah" in browser.find_element(By.TAG_NAME, "h1").text
    levels = [span.text for span in browser.find_elements(By.CSS_SELECTOR, ".level")]
    assert any(level != "Not started" for level in levels), "the plan shows progress after practice"
    _shoot(browser, "student-plan")

    launch_as(browser, tool, TEACHER)  # the students' launches ended the teacher's in this browser
    _click(browser, _link("Open the class view"))
    cells = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, ".heatmap td.level-cell")]
    assert cells and any(text != "Not started" for text in cells)
    _shoot(browser, "class-view")
