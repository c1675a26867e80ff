"""In real Chromium at phone width: the gradebook check (Pathways' scores beside the LMS's) reads as a card per
student, its "Match" cell, the one the page is for, on screen without scrolling the table sideways."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from .accessibility import PHONE, PageAudit
from .test_grades_folded_per_student_in_chromium import _practise
from .test_skill_columns_named_on_course_page_in_chromium import open_a_course_graded_per_skill

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale, match", [("", "Match"), ("es", "Coincide")])
def test_the_gradebook_checks_match_column_is_on_a_phone_screen(browser, tool, sandbox, locale, match):
    audit = PageAudit(browser)
    home = open_a_course_graded_per_skill(browser, tool, sandbox, locale=locale)
    _practise(sandbox, tool, "student")  # Priya Shah: a grade sent to the LMS

    browser.get(home)
    check = browser.find_element(By.CSS_SELECTOR, "a[href*='/grades/compare/']").get_attribute("href")
    browser.set_window_size(*PHONE)
    browser.get(check)
    cells = browser.find_elements(By.CSS_SELECTOR, "tbody tr td:last-child")  # Match: Same or Different
    assert cells, browser.page_source[:2000]
    width = browser.execute_script("return document.documentElement.clientWidth")
    for cell in cells:
        box = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right];", cell)
        assert 0 <= box[0] and box[1] <= width, (cell.text, box, width)
        # Each cell says what it is, as its column heading is not beside it on a card.
        label = browser.execute_script("return getComputedStyle(arguments[0], '::before').content", cell)
        assert re.search(rf"{match}: ", label), label
    audit.check("gradebook check at phone width")
    audit.assert_clean()
