"""In real Chromium with axe-core: a teacher opens a student's family report, writes a comment, switches the report
to Spanish and reads it there with the comment, then prints every family's report at once; each page passes axe at
desktop and 360 px."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from .accessibility import PageAudit, teacher_opens_the_demo_course
from .accessibility import click_through as _click

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"
COMMENT = "Priya helps her table group.\nPlease ask her about unit rates at dinner."



def test_teacher_writes_a_comment_reads_the_report_in_spanish_and_prints_every_familys(browser, tool, sandbox):
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    _click(browser, "//a[contains(normalize-space(), 'Open the class view')]")
    _click(browser, f"//th[@scope='row']/a[normalize-space()='{STUDENT}']")
    _click(browser, "//a[normalize-space()='Progress report for the family']")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Progress report for {STUDENT}"
    assert f"Here is how {STUDENT} is doing" in browser.find_element(By.CSS_SELECTOR, "article.report").text
    audit.check("a student's family report in English")

    browser.find_element(By.ID, "comment").send_keys(COMMENT)
    _click(browser, "//button[normalize-space()='Save comment']")
    assert "Comment saved." in browser.page_source
    article = browser.find_element(By.CSS_SELECTOR, "article.report")
    assert COMMENT in article.text and "A note from the teacher" in article.text

    Select(browser.find_element(By.ID, "report-lang")).select_by_value("es")
    _click(browser, "//form[.//select[@id='report-lang']]//button")
    article = browser.find_element(By.CSS_SELECTOR, "article.report")
    assert article.get_attribute("lang") == "es"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert f"Así le va a {STUDENT}" in article.text and "Una nota del docente" in article.text
    assert COMMENT in article.text
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Informe de progreso de {STUDENT}"
    audit.check("the same report in Spanish, with the comment")

    _click(browser, "//a[normalize-space()='Print all family reports']")
    reports = browser.find_elements(By.CSS_SELECTOR, ".report-page article.report")
    assert len(reports) == 5  # every student on the demo roster
    assert {r.get_attribute("lang") for r in reports} == {"es"}  # the language chosen on the report carries over
    assert sum(COMMENT in r.text for r in reports) == 1
    breaks = browser.execute_script(
        "return [...document.querySelectorAll('.report-page')].slice(1).map("
        "  e => [...document.styleSheets].some(s => [...s.cssRules].some(r => r.media && r.media.mediaText === 'print'"
        "    && [...r.cssRules].some(c => e.matches(c.selectorText) && c.style.breakBefore === 'page'))))")
    assert breaks == [True] * 4  # each report after the first starts a new printed page
    audit.check("print-all family reports")
    audit.assert_clean()
