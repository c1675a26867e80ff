"""In real Chromium with axe-core: a teacher whose LMS speaks Spanish gets the class view and a student's page in
Spanish, labelled `<html lang="es">`, and both pass axe at desktop and 360 px."""

from __future__ import annotations

import html
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.support import served_answer, submit_form
from tests.web.test_agency import FIRST_SKILL, _open

from .accessibility import PageAudit, left_page, mark_page, wait
from .test_spanish_student_in_chromium import NARROW, _problems

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"


def _click(browser, xpath: str) -> None:
    """Click a link or button and wait for the next page."""
    mark_page(browser)
    browser.find_element(By.XPATH, xpath).click()
    wait(browser, left_page)


def _practise_once(tool, sandbox) -> None:
    """Answer one question wrong as a student, over HTTP, so the class has something to show."""
    student = sandbox.launch("student")
    link = re.search(r'href="([^"]*/practice/([^"/?]+))"', student.text)
    page = student.http.get(tool.url(html.unescape(link.group(1))), timeout=30)
    page.http = student.http
    submit_form(page, f"/practice/{link.group(2)}", answer=served_answer(tool, page, right=False))


def test_a_spanish_teachers_class_view_and_student_page_are_spanish_and_accessible(browser, tool, sandbox):
    audit = PageAudit(browser)
    browser.get(tool.url("/sandbox/?locale=es"))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {TEACHER}").click()
    wait(browser, ec.url_contains("/c/"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    _click(browser, "//button[contains(normalize-space(), 'Usar el paquete de demostración')]")
    _click(browser, "//button[contains(normalize-space(), 'Actualizar la lista desde el curso')]")
    _practise_once(tool, sandbox)

    _click(browser, "//a[contains(normalize-space(), 'Abrir la vista de la clase')]")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Vista de la clase: ")
    assert browser.find_element(By.CSS_SELECTOR, ".skip-link").get_attribute("textContent") == "Saltar al contenido"
    cells = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "td.level-cell")]
    assert "Intentado" in cells and "Sin empezar" in cells
    audit.check("the class view in Spanish")

    _click(browser, f"//tbody//th/a[normalize-space() = '{STUDENT}']")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    assert browser.find_element(By.ID, "next-heading").text == f"Próximos pasos, tal como los ve {STUDENT}"
    assert browser.find_element(By.ID, "history-heading").text == "Historial de dominio"
    audit.check("a student's page in Spanish")
    audit.assert_clean()


# Pages whose skill names (the pack's Spanish translations) a Spanish teacher reads, and one name each must show.
NAMED_SKILLS = {"class": "Fracciones equivalentes", "teacher/evidence": "Fracciones equivalentes", "class/assignments": "Sumar y restar fracciones",
                "class/skills/frac-add-sub/trouble-spots": "Preguntas más falladas: Sumar y restar fracciones",
                # The class skill map named its boxes in English (the pack's own texts) under Spanish words.
                "class/map": "Fracciones equivalentes"}
ENGLISH_SKILL_NAMES = ("Equivalent fractions", "Add and subtract fractions", "Multiply fractions")


def test_every_teacher_page_is_spanish_fits_360_px_and_names_skills_in_spanish(browser, tool, sandbox):
    browser.set_window_size(*NARROW)
    browser.get(tool.url("/sandbox/?locale=es"))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {TEACHER}").click()
    wait(browser, ec.url_contains("/c/"))
    _click(browser, "//button[contains(normalize-space(), 'Usar el paquete de demostración')]")
    _click(browser, "//button[contains(normalize-space(), 'Actualizar la lista desde el curso')]")
    _practise_once(tool, sandbox)
    # Work waiting in the evidence queue, so its page shows an item with its accept and return forms.
    submit_form(_open(sandbox.launch("student"), tool, "Show what I know"), "/evidence", skill_id=FIRST_SKILL,
                kind="explanation", text="1/2 = 2/4 = 3/6.")
    base = re.search(r".*/c/[^/]+/", browser.current_url).group(0)
    problems = _problems(browser, "course home")
    browser.get(base + "class")
    student = browser.find_element(By.XPATH, f"//tbody//th/a[normalize-space() = '{STUDENT}']").get_attribute("href")
    pages = ("class", "class/needs-help", "class/groups", "class/map", "class/activity", "teacher/evidence", "class/assignments", "teacher/map",
             "teacher/map/course", "teacher/map/skill", "teacher/map/unit", "teacher/map/activity", "teacher/map/item",
             "teacher/map/goal", "class/reports?lang=es",
             "teacher/grading", "teacher/settings", "teacher/reflections", "teacher/model",
             "class/skills/frac-add-sub/trouble-spots", "privacy/course/delete")
    # The family report's body follows the family's language, which the teacher picks on the page.
    for url in [base + path for path in pages] + [student, student + "/report?lang=es", base + "students/999999"]:
        browser.get(url)
        what = url.removeprefix(base)
        problems += _problems(browser, what)
        text = browser.execute_script("return document.body.innerText")
        if what in NAMED_SKILLS and NAMED_SKILLS[what] not in text:
            problems.append(f"{what}: no {NAMED_SKILLS[what]!r}")
        # The course map editor edits the pack's own (English) texts, so it shows them as they are.
        if not what.startswith("teacher/map"):
            problems += [f"{what}: English skill name {name!r}" for name in ENGLISH_SKILL_NAMES if name in text]
        if "There is no such student" in text:
            problems.append(f"{what}: the refusal is in English")
    # Accepting the work confirms it with the skill's Spanish name, and the queue lists it reviewed the same way.
    browser.get(base + "teacher/evidence")
    _click(browser, "//form[contains(@action, '/accept')]//button[@type='submit']")
    problems += _problems(browser, "evidence accepted")
    text = browser.execute_script("return document.body.innerText")
    if f"Se aceptó el trabajo de {STUDENT} para Fracciones equivalentes" not in text:
        problems.append(f"evidence accepted: no Spanish confirmation naming the skill in Spanish: {text[:400]!r}")
    assert not problems, "\n".join(problems)
