"""In real Chromium with axe-core: a teacher clicks a heatmap cell to read a student's answers and sets the level
there, and opens a skill's most-missed questions from its header; each page passes axe at desktop and 360 px."""

from __future__ import annotations

import html
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import served_answer, submit_form

from .accessibility import PageAudit, teacher_opens_the_demo_course
from .accessibility import click_through as _click

pytestmark = pytest.mark.browser

PACK = load_pack(demo_pack_data())
NAMES = {s.id: s.name for s in PACK.skills}
TEACHER, STUDENT = "Amara Okafor", "Priya Shah"



def _practise(tool, sandbox, who: str, *, wrong: int, right: int) -> str:
    """Answer the first skill's questions as a student, over HTTP; return the skill."""
    student = sandbox.launch(who)
    link = re.search(r'href="([^"]*/practice/([^"/?]+))"', student.text)
    for index in range(wrong + right):
        page = student.http.get(tool.url(html.unescape(link.group(1))), timeout=30)
        page.http = student.http
        submit_form(page, f"/practice/{link.group(2)}", answer=served_answer(tool, page, right=index >= wrong))
    return link.group(2)


def test_teacher_reads_answers_from_a_heatmap_cell_overrides_there_and_reads_the_most_missed_list(browser, tool,
                                                                                                   sandbox):
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    skill_id = _practise(tool, sandbox, "student", wrong=2, right=1)
    _practise(tool, sandbox, "student-2", wrong=1, right=0)
    skill = NAMES[skill_id]

    _click(browser, "//a[contains(normalize-space(), 'Open the class view')]")
    # The cell's link names the student and the skill to a screen reader; its visible text is the level.
    _click(browser, f"//td//a[contains(@aria-label, \"{STUDENT}'s answers on {skill}\")]")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"{STUDENT} on {skill}"
    answers = browser.find_elements(By.CSS_SELECTOR, ".answer-entry")
    assert [a.get_attribute("class").split()[-1] for a in answers] == ["answer-wrong", "answer-wrong", "answer-right"]
    assert "Time taken" in answers[0].text and "Hints used" in answers[0].text
    assert browser.find_elements(By.CSS_SELECTOR, ".level-change")
    audit.check("a student's answers on a skill")

    Select(browser.find_element(By.ID, "override-level")).select_by_visible_text("Proficient")
    browser.find_element(By.ID, "override-note").send_keys("Showed me three ways at the board")
    _click(browser, f"//button[contains(normalize-space(), 'Set level for {STUDENT}')]")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"{STUDENT} on {skill}"
    assert "Level set to Proficient" in browser.page_source
    assert "Showed me three ways at the board" in browser.find_element(By.CSS_SELECTOR, ".answer-history").text
    audit.check("a student's answers after an override there")

    _click(browser, "//nav//a[contains(normalize-space(), 'Class view')]")
    _click(browser, f"//thead//a[@aria-label=\"{skill}: most-missed questions\"]")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Most-missed questions: {skill}"
    missed = browser.find_elements(By.CSS_SELECTOR, ".missed-list > li")
    assert missed and "2 students got it wrong" in missed[0].text
    audit.check("a skill's most-missed questions")
    audit.assert_clean()


def test_heatmap_keeps_student_names_and_skill_headers_in_view_when_scrolled_on_a_phone(browser, tool, sandbox):
    for i in range(16):
        tool.platform.add_user(f"extra-{i}", roles=["Learner"], name=f"Extra Student {i:02d}", context_id="math-7")
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    sandbox.launch("student")
    _click(browser, "//a[contains(normalize-space(), 'Open the class view')]")
    assert browser.find_element(By.CSS_SELECTOR, ".class-summary th").text == "Class summary"
    audit.check("class view with a summary row and many students")
    browser.set_window_size(360, 740)
    try:
        offsets = browser.execute_script("""
          const box = document.querySelector('.heatmap');
          box.scrollTop = 300; box.scrollLeft = 300;
          const frame = box.getBoundingClientRect();
          const header = box.querySelector('thead th:nth-child(3)').getBoundingClientRect();
          const name = box.querySelector('tbody tr:nth-child(10) th').getBoundingClientRect();
          return {scrolledDown: box.scrollTop, scrolledRight: box.scrollLeft,
                  headerTop: header.top - frame.top, nameLeft: name.left - frame.left};
        """)
    finally:
        browser.set_window_size(1200, 900)
    # The box did scroll both ways, and the header row and the name column stayed at its edges.
    assert offsets["scrolledDown"] > 0 and offsets["scrolledRight"] > 0, offsets
    assert abs(offsets["headerTop"]) <= 2 and abs(offsets["nameLeft"]) <= 2, offsets
    audit.assert_clean()


def test_the_heatmaps_name_column_keeps_each_name_whole_on_a_phone(browser, tool, sandbox):
    # The reviewer's class view at 375 px: "Liam O'Conn / or", the name column squeezed and names broken mid-word.
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    for who in ("student-1", "student-2", "student-3", "student-4", "student-5"):
        sandbox.launch(who)
    _click(browser, "//a[contains(normalize-space(), 'Open the class view')]")
    browser.set_window_size(375, 800)
    try:
        # Each word of a name on one line: a word's box as tall as one line of the link.
        broken = browser.execute_script("""
          const broken = [];
          for (const link of document.querySelectorAll('.heatmap tbody th[scope=row] a')) {
            const line = parseFloat(getComputedStyle(link).lineHeight) || link.getClientRects()[0].height;
            for (const word of link.textContent.trim().split(/\\s+/)) {
              const range = document.createRange(), node = link.firstChild, at = node.textContent.indexOf(word);
              range.setStart(node, at); range.setEnd(node, at + word.length);
              if (range.getClientRects().length > 1 || range.getBoundingClientRect().height > line * 1.5)
                broken.push(word);
            }
          }
          return broken;
        """)
    finally:
        browser.set_window_size(1200, 900)
    assert broken == [], broken
