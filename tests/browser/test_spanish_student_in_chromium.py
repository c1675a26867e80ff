"""In real Chromium at 360 px: a student whose LMS speaks Spanish walks the placement check, the plan, practice,
reflection and goals; each page is Spanish throughout (no sentence of the English catalogue left), fits the width
without sideways scrolling, passes axe and offers a way on."""

from __future__ import annotations

import gettext
import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

import lti_tool
from tests.support import answer_for_served, served_item, submit_form
from tests.web.test_agency import _open

from .accessibility import horizontal_overflow, left_page, mark_page, overflowing_elements, serious_violations, wait

pytestmark = pytest.mark.browser

STUDENT = "Priya Shah"
NARROW = (360, 740)


@cache
def english_sentences() -> tuple[str, ...]:
    """Return the catalogue's English wording that Spanish pages translate: each run of 3+ words between values."""
    mo = Path(lti_tool.__file__).parent / "translations" / "es" / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as file:
        catalog = gettext.GNUTranslations(file)._catalog
    found = set()
    for msgid, msgstr in catalog.items():
        if isinstance(msgid, str) and msgid and msgid != msgstr:
            for part in re.split(r"%\(\w+\)[sd]|<[^>]+>", msgid):
                part = part.strip(" .,:;()")
                if len(part.split()) >= 3:
                    found.add(part)
    return tuple(sorted(found))


def _problems(browser, what: str) -> list[str]:
    """Describe what is wrong with the page now shown: English left, sideways scrolling, axe, no way on."""
    problems = []
    text = browser.execute_script("return document.body.innerText")
    english = [sentence for sentence in english_sentences() if sentence in text]
    if english:
        problems.append(f"{what}: English on a Spanish page: {english[:5]}")
    if browser.find_element(By.TAG_NAME, "html").get_attribute("lang") != "es":
        problems.append(f"{what}: the page is not marked Spanish")
    overflow = horizontal_overflow(browser)
    if overflow:
        problems.append(f"{what}: scrolls sideways by {overflow}px at {NARROW[0]} px: "
                        + ", ".join(overflowing_elements(browser)))
    problems += [f"{what}: {problem}" for problem in serious_violations(browser)]
    # A way on: a link or a button in the page's content (the header's "sign out" is no way on).
    if not browser.find_elements(By.CSS_SELECTOR, "main a[href], main button"):
        problems.append(f"{what}: a dead end (no link or button)")
    return problems


def _click(browser, xpath: str) -> None:
    mark_page(browser)
    browser.find_element(By.XPATH, xpath).click()
    wait(browser, left_page)


def _answer(browser, form: str, *, right: bool) -> None:
    """Answer the question on the page (right, or wrong on purpose) and wait for the next page."""
    served = browser.find_element(By.NAME, "served").get_attribute("value")
    item = served_item(None, served)
    if item.type == "multiple_choice":
        choice = answer_for_served(None, served) if right else next(c.id for c in item.choices if c.id != item.answer)
        browser.find_element(By.ID, f"choice-{choice}").click()
    else:
        browser.find_element(By.ID, "answer").send_keys(answer_for_served(None, served, right=right))
    _click(browser, f"//form[contains(@class, '{form}')]//button[@type='submit'][1]")


def test_a_spanish_students_pages_are_spanish_fit_360_px_and_always_lead_on(browser, tool, sandbox):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    # A course end date, so the goals page has its target dates too.
    submit_form(_open(teacher, tool, "Settings"), "/teacher/settings",
                ends_on=(date.today() + timedelta(days=90)).isoformat())
    browser.set_window_size(*NARROW)
    browser.get(tool.url("/sandbox/?locale=es"))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {STUDENT}").click()
    wait(browser, ec.url_contains("/c/"))
    home = browser.current_url
    problems = _problems(browser, "plan with the placement check offer")

    _click(browser, "//main//a[contains(@href, '/diagnostic')]")
    problems += _problems(browser, "placement check question")
    _answer(browser, "diagnostic", right=True)
    _click(browser, "(//form[contains(@action, 'diagnostic/finish')]//button)[last()]")
    problems += _problems(browser, "placement check result")
    _click(browser, "//main//a[contains(@class, 'button')][1]")
    problems += _problems(browser, "plan after the placement check")

    _click(browser, "//li[@class='step']//a[contains(@class, 'button')]")
    problems += _problems(browser, "practice question")
    _click(browser, "//button[@name='show_hint']")
    problems += _problems(browser, "practice question with a hint")
    _answer(browser, "practice", right=False)
    problems += _problems(browser, "feedback after a wrong answer")
    _click(browser, "//main//a[contains(@href, '/reflect')]")
    problems += _problems(browser, "reflect")
    browser.find_element(By.ID, "reflect-answer-0").send_keys("Las fracciones fueron más fáciles.")
    _click(browser, "//form[contains(@action, '/reflect')]//button[@type='submit']")
    problems += _problems(browser, "reflect after saving")

    browser.get(home)
    _click(browser, "//main//a[contains(@href, '/goals')]")
    problems += _problems(browser, "goals")
    browser.find_element(By.ID, "goal-title-new").send_keys("Dominar las fracciones antes del examen")
    _click(browser, "//form[contains(@action, '/goals')]//button[@type='submit']")
    problems += _problems(browser, "goals with my own goal")
    assert not problems, "\n".join(problems)


def test_a_spanish_students_evidence_review_and_unit_check_pages_are_spanish_and_fit_360_px(browser, tool, sandbox):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    browser.set_window_size(*NARROW)
    browser.get(tool.url("/sandbox/?locale=es"))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {STUDENT}").click()
    wait(browser, ec.url_contains("/c/"))
    base = re.search(r".*/c/[^/]+/", browser.current_url).group(0)
    problems = []
    for path, what in (("evidence", "show what I know"), ("review", "review"),
                       ("unit-check/unit-fractions", "unit check start")):
        browser.get(base + path)
        problems += _problems(browser, what)
    assert not problems, "\n".join(problems)
