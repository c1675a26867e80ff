"""In real Chromium: a student takes the placement check and practises by keyboard; the teacher sees the class and
overrides a level, and the grade reaches the sandbox LMS gradebook."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from lti_tool.jobs.worker import drain
from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import answer_for_served, demo_first_goal_due, served_item

from .accessibility import launch_as, left_page, mark_page, wait

pytestmark = pytest.mark.browser

PACK = load_pack(demo_pack_data())
TEACHER, STUDENT = "Amara Okafor", "Priya Shah"


def _teacher_sets_up_the_demo_pack(browser, tool) -> str:
    home = launch_as(browser, tool, TEACHER)
    browser.find_element(By.XPATH, "//button[contains(., 'Use the demo pack')]").click()
    wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flashes"), "The course now uses"))
    return home


def _right_answer(served_id: str) -> str:
    return answer_for_served(None, served_id)


def _answer_by_keyboard(browser, answer: str) -> None:
    """Answer the question on the page with the keyboard only: focus the answer, type or pick it, press Enter."""
    item_id = browser.find_element(By.NAME, "served").get_attribute("value")
    mark_page(browser)
    if served_item(None, item_id).type == "multiple_choice":
        choice = browser.find_element(By.ID, f"choice-{answer}")
        choice.send_keys(Keys.SPACE)  # focuses the radio button and selects it
        assert choice.is_selected()
        choice.send_keys(Keys.ENTER)
    else:
        field = browser.switch_to.active_element
        assert field.get_attribute("id") == "answer", "the answer box has the focus when the question opens"
        field.send_keys(answer, Keys.ENTER)
    wait(browser, left_page)


def test_student_launches_from_the_lms_takes_the_placement_check_and_sees_where_they_start(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    launch_as(browser, tool, STUDENT)
    browser.find_element(By.LINK_TEXT, "Start your placement check (up to 12 questions)").click()

    asked = 0
    while "/diagnostic/result" not in browser.current_url:
        asked += 1
        assert asked <= 12
        progress = browser.find_element(By.CSS_SELECTOR, "[data-testid=diagnostic-progress]").text
        assert progress == f"Question {asked} of up to 12"
        assert "Show a hint" not in browser.page_source
        item_id = browser.find_element(By.NAME, "served").get_attribute("value")
        _answer_by_keyboard(browser, _right_answer(item_id))
        assert "That's right" not in browser.page_source  # placement: no marks per question

    assert browser.find_element(By.TAG_NAME, "h1").text == "Here’s where you’re starting"
    assert "Looks solid already" in browser.page_source
    browser.find_element(By.LINK_TEXT, "Go to my plan").click()
    wait(browser, ec.presence_of_element_located((By.ID, "next-heading")))
    assert "Start your placement check" not in browser.page_source


def test_student_answers_by_keyboard_until_a_level_changes(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    launch_as(browser, tool, STUDENT)
    browser.find_element(By.CSS_SELECTOR, ".step a.button").click()  # the first next step: "Practise …"
    wait(browser, ec.url_contains("/practice/"))

    for _ in range(8):
        item_id = browser.find_element(By.NAME, "served").get_attribute("value")
        _answer_by_keyboard(browser, _right_answer(item_id))
        assert "That’s right!" in browser.page_source or "That's right!" in browser.page_source
        if browser.find_elements(By.CSS_SELECTOR, ".level-change"):
            break
        # "Next question" has the focus on the feedback page: Enter opens it.
        assert browser.switch_to.active_element.text == "Next question"
        mark_page(browser)
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        wait(browser, left_page)
    # The first answer on a skill starts it (Not started to Attempted, said in those words), or a level changes.
    change = browser.find_element(By.CSS_SELECTOR, ".level-change").text
    assert (change.startswith("You've started ")
            or change.startswith("Your level on ") and " changed from Not started to " in change), change


def test_teacher_sees_the_class_heatmap_with_the_students_level_in_words(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    launch_as(browser, tool, STUDENT)
    skill_name = browser.find_element(By.CSS_SELECTOR, ".step h3").text.rsplit(" ", 2)[0]
    browser.find_element(By.CSS_SELECTOR, ".step a.button").click()
    wait(browser, ec.url_contains("/practice/"))
    item_id = browser.find_element(By.NAME, "served").get_attribute("value")
    _answer_by_keyboard(browser, _right_answer(item_id))
    change = browser.find_element(By.CSS_SELECTOR, ".level-change")
    # "You've started X" is Not started to Attempted; any other change names its new level last.
    level = ("Attempted" if change.text.startswith("You've started ")
             else change.find_element(By.CSS_SELECTOR, "strong:last-child").text)

    launch_as(browser, tool, TEACHER)  # the student's launch ended the teacher's in this browser
    browser.find_element(By.LINK_TEXT, "Open the class view").click()
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".heatmap table")))
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, ".heatmap thead th")]
    row = browser.find_element(By.XPATH, f"//tr[th[@scope='row'][normalize-space()='{STUDENT}']]")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[headers.index(skill_name) - 1] == level
    assert level in ("Attempted", "Familiar", "Proficient", "Mastered")
    assert cells.count("Not started") == len(PACK.skills) - 1


def test_teacher_override_reaches_the_lms_gradebook(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    # The demo's goals lie weeks ahead, and a grade with nothing due has no number and is not sent before one
    # was: the calendar moves to the day after the first goal's date.
    demo_first_goal_due(tool)
    first_goal = {s.id: s.name for s in PACK.skills if s.id in PACK.goals[0].skills}

    # The teacher places Pathways in the LMS course with Deep Linking, with a gradebook column.
    browser.get(tool.url("/"))
    browser.find_element(
        By.XPATH, f"//a[contains(., 'Add Pathways to a module (Deep Linking)') and contains(., '{TEACHER}')]"
    ).click()
    wait(browser, ec.url_contains("/deep-link"))
    title = browser.find_element(By.ID, "title-plan").get_attribute("value")
    browser.find_element(By.XPATH, "//button[contains(., 'Add to course')]").click()
    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Added to Grade 7 Mathematics"))
    assert title in browser.page_source

    # The student opens the placed link from the LMS course page.
    browser.find_element(By.LINK_TEXT, "Back to the course").click()
    placed = browser.find_elements(By.XPATH, f"//form[.//strong[normalize-space()='{title}']]")[-1]
    Select(placed.find_element(By.NAME, "sub")).select_by_visible_text(STUDENT)
    placed.find_element(By.TAG_NAME, "button").click()
    wait(browser, ec.url_contains("/c/"))
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=placement-title]").text == title

    # The teacher sets the student's level on one skill by their own judgement.
    launch_as(browser, tool, TEACHER)  # the student's launch ended the teacher's in this browser
    browser.find_element(By.LINK_TEXT, "Open the class view").click()
    wait(browser, ec.presence_of_element_located((By.ID, "override-person")))
    Select(browser.find_element(By.ID, "override-person")).select_by_visible_text(STUDENT)
    skill = next(iter(first_goal.values()))
    Select(browser.find_element(By.ID, "override-skill")).select_by_visible_text(skill)
    Select(browser.find_element(By.ID, "override-level")).select_by_visible_text("Mastered")
    browser.find_element(By.ID, "override-note").send_keys("Explained it to the class on the whiteboard")
    browser.find_element(By.XPATH, "//button[contains(., 'Set level')]").click()
    wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".flashes"), "Level set to Mastered"))

    # The outbox worker posts the new score to the LMS.
    stats = drain(tool.app, once=True, max_seconds=60)
    assert stats.posted >= 1 and stats.failed == 0

    browser.get(tool.url("/sandbox/gradebook"))
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "thead th")]
    column = next(i for i, text in enumerate(headers) if text.startswith(title))
    row = browser.find_element(By.XPATH, f"//tr[th[@scope='row'][normalize-space()='{STUDENT}']]")
    cell = row.find_elements(By.TAG_NAME, "td")[column - 1].text
    # By default the grade is the share of the skills due so far (the first goal's and what it builds on, now) at
    # Proficient or above: one of them, set to Mastered, and the comment names it.
    due = re.search(r"([0-9.]+) / 100.*Graded on the (\d+) skills due so far", cell, re.S)
    assert due and float(due.group(1)) == pytest.approx(100 / int(due.group(2)), abs=0.01), cell
    assert skill in cell
