"""In real Chromium with axe-core: every page a teacher and a student reach has no serious accessibility problem,
fits a 320 px wide screen, works by keyboard alone, shows levels in words and renders inside an LMS iframe."""

from __future__ import annotations

import re

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import answer_for_served, served_item

from .accessibility import (
    PHONE,
    PageAudit,
    horizontal_overflow,
    launch_as,
    left_page,
    mark_page,
    serious_violations,
    wait,
)

pytestmark = pytest.mark.browser

PACK = load_pack(demo_pack_data())
TEACHER, STUDENT = "Amara Okafor", "Priya Shah"
LEVEL_WORDS = ["Not started", "Attempted", "Familiar", "Proficient", "Mastered"]


def _click(browser, xpath: str) -> None:
    """Click a button or link and wait for the next page."""
    mark_page(browser)
    browser.find_element(By.XPATH, xpath).click()
    wait(browser, left_page)


def _press(browser, element, *keys: str) -> None:
    """Press keys on an element that lead to another page, and wait for it."""
    mark_page(browser)
    element.send_keys(*keys)
    wait(browser, left_page)


def _button(text: str) -> str:
    return f"//button[contains(normalize-space(), \"{text}\")]"


def _link(text: str) -> str:
    return f"//a[contains(normalize-space(), \"{text}\")]"


def _teacher_sets_up_the_demo_pack(browser, tool, audit: PageAudit | None = None) -> str:
    home = launch_as(browser, tool, TEACHER)
    if audit:
        audit.check("teacher home before any content")
    _click(browser, _button("Use the demo pack"))
    _click(browser, _button("Update roster from the course"))
    return home


def _right_answer(served_id: str) -> str:
    return answer_for_served(None, served_id)


def _answer(browser, right: bool = True) -> None:
    """Answer the question on the page (right, or wrong on purpose) and wait for the next page."""
    item_id = browser.find_element(By.NAME, "served").get_attribute("value")
    item = served_item(None, item_id)
    if item.type == "multiple_choice":
        choice = _right_answer(item_id) if right else next(c.id for c in item.choices if c.id != item.answer)
        browser.find_element(By.ID, f"choice-{choice}").click()
    else:
        browser.find_element(By.ID, "answer").send_keys(_right_answer(item_id) if right else "no idea")
    _click(browser, "//form[contains(@class, 'practice')]//button[@type='submit'][1]")


def test_every_page_a_teacher_and_a_student_reach_passes_axe_and_fits_a_phone(browser, tool):
    browser.set_window_size(1200, 900)
    audit = PageAudit(browser)
    teacher_home = _teacher_sets_up_the_demo_pack(browser, tool, audit)
    audit.check("teacher home with the demo pack and roster")

    # The student: plan, placement check, practice, feedback, goals, evidence, reflection, their data.
    student_home = launch_as(browser, tool, STUDENT)
    audit.check("student home with the placement check offer")
    _click(browser, _link("Start your placement check"))
    audit.check("placement check question")
    _answer(browser)
    _click(browser, _button("Stop here and see where I’m starting"))
    audit.check("placement check result")
    _click(browser, _link("Go to my plan"))
    audit.check("student home with a plan")
    skill_id = browser.find_element(By.CSS_SELECTOR, ".step a.button").get_attribute("href").rsplit("/", 1)[-1]
    _click(browser, "//li[@class='step']//a[contains(@class, 'button')]")
    audit.check("practice question")
    if browser.find_elements(By.XPATH, _button("Show a hint")):
        _click(browser, _button("Show a hint"))
        audit.check("practice question with a hint")
    _answer(browser, right=True)
    audit.check("feedback after a right answer")
    _click(browser, _link("Next question"))
    _answer(browser, right=False)
    audit.check("feedback after a wrong answer")
    _click(browser, _link("Reflect on this session"))
    audit.check("reflect")
    browser.find_element(By.ID, "reflect-answer-0").send_keys("Fractions felt easier after the second hint.")
    _click(browser, _button("Save my reflection"))
    audit.check("reflect with an earlier reflection")
    browser.get(student_home)
    _click(browser, _link("My goals"))
    audit.check("goals")
    browser.find_element(By.ID, "goal-title-new").send_keys("Master fractions before the test")
    _click(browser, _button("Add my goal"))
    audit.check("goals with my own goal")
    _click(browser, "//a[starts-with(normalize-space(), 'Edit')]")
    audit.check("editing a goal")
    browser.get(student_home)
    _click(browser, _link("Show what I know"))
    audit.check("evidence form")
    browser.find_element(By.ID, "evidence-kind-explanation").click()
    browser.find_element(By.ID, "evidence-text").send_keys("I explained equivalent fractions to my brother.")
    _click(browser, _button("Send to my teacher"))
    audit.check("evidence form with work sent")
    browser.get(student_home)
    _click(browser, _link("download it"))
    audit.check("student privacy page")
    _click(browser, _link("Read it as a page"))
    audit.check("student's own data as a page")

    # The teacher: class view and its filters, needs help, groups, a student, the family report, evidence,
    # reflections, settings, privacy and the deep-link picker. The teacher opens Pathways again from the course: in
    # a browser shared with a student, the student's launch ended the teacher's (tests/hostile/test_shared_browser).
    teacher_home = launch_as(browser, tool, TEACHER)
    audit.check("teacher home after students worked")
    _click(browser, _link("Open the class view"))
    audit.check("class view")
    Select(browser.find_element(By.ID, "hm-skill")).select_by_value(skill_id)
    Select(browser.find_element(By.ID, "hm-below")).select_by_visible_text("Mastered")
    _click(browser, _button("Show"))
    audit.check("class view filtered by skill and level")
    Select(browser.find_element(By.ID, "hm-below")).select_by_visible_text("Attempted")
    _click(browser, _button("Show"))
    audit.check("class view filtered to no one")
    _click(browser, _link("Needs help now"))
    audit.check("needs help now")
    _click(browser, "//nav//a[normalize-space()='Groups']")
    audit.check("groups")
    _click(browser, _button("Make a page to print"))
    audit.check("groups ready to print")
    _click(browser, "//nav//a[normalize-space()='Class view']")
    _click(browser, f"//table//a[normalize-space()='{STUDENT}']")
    audit.check("student page")
    _click(browser, _link("Progress report for the family"))
    audit.check("family report")
    browser.get(teacher_home)
    _click(browser, _link("Evidence to review"))
    audit.check("evidence queue with work waiting")
    _click(browser, "//button[starts-with(normalize-space(), 'Accept')]")
    audit.check("evidence queue after a review")
    browser.get(teacher_home)
    _click(browser, _link("Reflections"))
    audit.check("reflections")
    browser.get(teacher_home)
    _click(browser, "//a[normalize-space()='Settings']")
    audit.check("settings")
    browser.get(teacher_home)
    _click(browser, _link("Mastery model"))
    audit.check("mastery model")
    _click(browser, _button("Refit now"))
    audit.check("mastery model after a refit")
    browser.get(teacher_home)
    _click(browser, _link("Privacy and data"))
    audit.check("teacher privacy page")
    _click(browser, f"//a[normalize-space()='Page for {STUDENT}']")
    audit.check("a student's data as a page")
    browser.back()
    _click(browser, f"//a[starts-with(normalize-space(), 'Delete data of {STUDENT}')]")
    audit.check("confirm deleting a student's data")
    browser.back()
    _click(browser, _link("Delete all course data"))
    audit.check("confirm deleting the course's data")
    activity = next(a for a in PACK.activities if a.items)
    for what, path in [("course map", "teacher/map"), ("course map: the course", "teacher/map/course"),
                       ("course map: a skill", f"teacher/map/skill?id={PACK.skills[0].id}"),
                       ("course map: a new skill", "teacher/map/skill"),
                       ("course map: a unit", f"teacher/map/unit?id={PACK.units[0].id}"),
                       ("course map: an activity", f"teacher/map/activity?id={activity.id}"),
                       ("course map: a question", f"teacher/map/item?activity={activity.id}&id={activity.items[0].id}"),
                       ("course map: a goal", f"teacher/map/goal?id={PACK.goals[0].id}")]:
        browser.get(teacher_home + path)
        assert not browser.find_elements(By.CSS_SELECTOR, "main [role=alert] h1"), f"{what}: {browser.title}"
        audit.check(what)
    browser.get(teacher_home + "nope")
    audit.check("page not found inside the course")

    browser.get(tool.url("/"))
    _click(browser, f"//a[contains(., 'Add Pathways to a module (Deep Linking)') and contains(., '{TEACHER}')]")
    audit.check("deep-link picker")
    title = browser.find_element(By.ID, "title-plan").get_attribute("value")
    browser.find_element(By.XPATH, _button("Add to course")).click()
    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Added to"))
    browser.find_element(By.LINK_TEXT, "Back to the course").click()
    placed = browser.find_elements(By.XPATH, f"//form[.//strong[normalize-space()='{title}']]")[-1]
    Select(placed.find_element(By.NAME, "sub")).select_by_visible_text(STUDENT)
    placed.find_element(By.TAG_NAME, "button").click()
    wait(browser, ec.url_contains("/c/"))
    teacher_home = launch_as(browser, tool, TEACHER)  # the student's launch ended the teacher's in this browser
    audit.check("teacher home with a gradebook column")
    _click(browser, _link("against the LMS"))
    audit.check("gradebook check")

    # Someone whose role is neither teacher nor student.
    tool.platform.add_user("parent-1", roles=["Mentor"], name="Grace Shah", context_id="math-7")
    browser.get(tool.url("/"))
    _click(browser, _link("Launch Pathways as Grace Shah"))
    audit.check("no access for a mentor")

    audit.assert_clean()


def test_student_practises_with_the_keyboard_alone(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    launch_as(browser, tool, STUDENT)
    body = browser.find_element(By.TAG_NAME, "body")

    # The first Tab reaches the skip link, which shows itself when focused.
    body.send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.text == "Skip to content"
    assert skip.rect["x"] >= 0 and skip.is_displayed()

    # Tab on to the first "Practise …" button; every stop on the way shows where the focus is.
    for _ in range(40):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused = browser.switch_to.active_element
        outline = browser.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth];", focused)
        assert outline[0] != "none" and outline[1] != "0px", f"no visible focus on {focused.text!r}"
        if focused.text.startswith("Practise "):
            break
    else:
        pytest.fail("Tab never reached a Practise button")
    _press(browser, focused, Keys.ENTER)

    for _ in range(3):
        item_id = browser.find_element(By.NAME, "served").get_attribute("value")
        answer = _right_answer(item_id)
        if served_item(None, item_id).type == "multiple_choice":
            # Tab into the radio group, then arrow keys move through the choices, as with any radio group.
            field = browser.switch_to.active_element
            for _ in range(10):
                if field.get_attribute("type") == "radio":
                    break
                field.send_keys(Keys.TAB)
                field = browser.switch_to.active_element
            for _ in range(len(served_item(None, item_id).choices)):
                if field.get_attribute("id") == f"choice-{answer}":
                    break
                field.send_keys(Keys.ARROW_DOWN)
                field = browser.switch_to.active_element
            if not field.is_selected():
                field.send_keys(Keys.SPACE)  # Tab focuses the first choice without choosing it
            assert field.get_attribute("id") == f"choice-{answer}" and field.is_selected()
            _press(browser, field, Keys.ENTER)
        else:
            field = browser.switch_to.active_element
            assert field.get_attribute("id") == "answer", "the answer box has the focus when the question opens"
            _press(browser, field, answer, Keys.ENTER)
        assert "That's right!" in browser.page_source
        # Feedback is announced and "Next question" has the focus: Enter opens the next one.
        assert browser.find_element(By.CSS_SELECTOR, "[role=status]").is_displayed()
        next_question = browser.switch_to.active_element
        assert next_question.text == "Next question"
        _press(browser, next_question, Keys.ENTER)
    assert "/practice/" in browser.current_url


def test_teacher_reads_every_heatmap_cell_as_a_word_not_only_a_colour(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    launch_as(browser, tool, STUDENT)
    _click(browser, "//li[@class='step']//a[contains(@class, 'button')]")
    _answer(browser, right=True)

    launch_as(browser, tool, TEACHER)  # the student's launch ended the teacher's in this browser
    _click(browser, _link("Open the class view"))
    key = [span.text for span in browser.find_elements(By.CSS_SELECTOR, "p.muted .level")]
    assert key == LEVEL_WORDS
    cells = browser.find_elements(By.CSS_SELECTOR, ".heatmap td.level-cell")
    assert len(cells) >= len(PACK.skills) * 5
    for cell in cells:
        rank = int(re.search(r"level-(\d)", cell.get_attribute("class")).group(1))
        assert cell.text == LEVEL_WORDS[rank], "each cell says its level in words, matching its colour"
    assert any(cell.text != "Not started" for cell in cells)
    # The colours themselves keep text readable (axe's colour-contrast rule on every level shown).
    problems = serious_violations(browser)
    assert not problems, "\n".join(problems)


def test_student_plan_renders_inside_an_lms_iframe_and_at_phone_width(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    student_home = launch_as(browser, tool, STUDENT)

    # A page without a launch may be framed by the tool's own origin only (the sandbox LMS lives on it);
    # launch pages add their own platform's origin (tests/web/test_sessions_and_headers.py).
    policy = requests.get(tool.url("/healthz"), timeout=30).headers["Content-Security-Policy"]
    ancestors = re.search(r"frame-ancestors ([^;]+)", policy).group(1).split()
    assert ancestors == ["'self'"]

    # An LMS page frames the student's plan in a phone-wide (PHONE) iframe.
    browser.get(tool.url("/sandbox/"))
    browser.execute_script("""
        const frame = document.createElement("iframe");
        frame.id = "tool-frame"; frame.title = "Pathways"; frame.src = arguments[0];
        frame.style.width = arguments[1] + "px"; frame.style.height = "700px";
        document.body.prepend(frame);
    """, student_home, PHONE[0])
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))
    heading = wait(browser, ec.presence_of_element_located((By.ID, "next-heading")))
    assert heading.text == "Your next steps"
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Welcome, {STUDENT}"
    assert browser.execute_script("return window.self !== window.top")
    assert horizontal_overflow(browser) == 0
    # Inside the frame the student can still practise.
    _click(browser, "//li[@class='step']//a[contains(@class, 'button')]")
    assert browser.find_elements(By.NAME, "served")
    browser.switch_to.default_content()
