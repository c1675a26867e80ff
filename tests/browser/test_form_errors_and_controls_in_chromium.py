"""In real Chromium: a refused form says so where the keyboard and a screen reader are (the error box has the focus,
the title starts with "Error:", the refused field is marked and keeps what was typed); a hint asked for describes
the answer and comes before it; choices are big enough to hit; the privacy page reflows at 320 px."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from .accessibility import DESKTOP, PHONE, horizontal_overflow, launch_as, overflowing_elements, wait
from .test_accessibility import STUDENT, _button, _click, _link, _teacher_sets_up_the_demo_pack

pytestmark = pytest.mark.browser

FOCUSED_ID = "return document.activeElement && document.activeElement.id"


def _focus_lands_on(browser, element_id: str) -> bool:
    """True once the element has the focus. Chromium moves the focus to an autofocus element at a rendering update,
    which can come after the page reports it has loaded, so the check waits a little rather than reading at once."""
    return _focus_lands(browser, lambda b: b.execute_script(FOCUSED_ID) == element_id)


def _focus_lands(browser, condition) -> bool:
    try:
        wait(browser, condition, seconds=5)
    except TimeoutException:
        return False
    return True


def _attr(browser, element_id: str, name: str) -> str | None:
    return browser.find_element(By.ID, element_id).get_attribute(name)


def _describes(browser, element_id: str) -> list[str]:
    return (_attr(browser, element_id, "aria-describedby") or "").split()


def _submit_blank(browser, field_id: str, button: str) -> None:
    """Send a form with a field the browser would insist on left blank, as a script or an old browser can."""
    browser.execute_script("const e = document.getElementById(arguments[0]); e.removeAttribute('required');"
                           "e.value = '   '", field_id)
    _click(browser, _button(button))


def test_a_student_whose_goal_or_reflection_is_refused_lands_on_the_error_with_what_they_wrote_kept(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    home = launch_as(browser, tool, STUDENT)

    _click(browser, _link("My goals"))
    browser.find_element(By.ID, "goal-why-new").send_keys("I want to be faster")
    _submit_blank(browser, "goal-title-new", "Add my goal")
    assert _focus_lands_on(browser, "flashes")
    assert browser.title.startswith("Error: My goals")
    assert _attr(browser, "goal-title-new", "aria-invalid") == "true"
    assert _describes(browser, "goal-title-new") == ["form-error"]
    assert browser.find_element(By.ID, "form-error").text == "Say what your goal is."
    assert _attr(browser, "goal-why-new", "value") == "I want to be faster"
    assert _attr(browser, "goal-why-new", "aria-invalid") is None
    # The form still carries its CSRF token: the student fixes the title and sends it again.
    browser.find_element(By.ID, "goal-title-new").send_keys("Master fractions")
    _click(browser, _button("Add my goal"))
    assert "Goal added: Master fractions" in browser.page_source
    assert not browser.title.startswith("Error")
    # A success message does not pull the focus: its box is not marked to take it, and the focus is elsewhere.
    assert browser.find_element(By.ID, "flashes").get_attribute("autofocus") is None
    assert browser.execute_script(FOCUSED_ID) != "flashes"

    browser.get(home.split("?")[0].rstrip("/") + "/reflect")
    browser.find_element(By.ID, "reflect-answer-0").send_keys("Drawing the fractions helped")
    browser.execute_script("document.getElementById('reflect-answer-1').value = 'x'.repeat(4001)")
    _click(browser, _button("Save my reflection"))
    assert _focus_lands_on(browser, "flashes")
    assert browser.title.startswith("Error: Reflect")
    assert _attr(browser, "reflect-answer-1", "aria-invalid") == "true"
    assert _describes(browser, "reflect-answer-1") == ["form-error"]
    assert _attr(browser, "reflect-answer-0", "value") == "Drawing the fractions helped"


# Run in each page before its own scripts: note the status region as the page was parsed, before any script ran.
_NOTE_FLASHES_AT_LOAD = """
document.addEventListener("readystatechange", function () {
  if (document.readyState !== "interactive") { return; }
  var region = document.getElementById("flashes");
  window.__flashesAtLoad = region && {node: region, text: region.textContent.trim(), role: region.getAttribute("role")};
});
"""

_ANNOUNCED = """
const region = document.getElementById("flashes"), atLoad = window.__flashesAtLoad;
return {sameRegion: !!atLoad && atLoad.node === region, textAtLoad: atLoad && atLoad.text, roleAtLoad: atLoad && atLoad.role,
        text: region.textContent.trim(), focusInRegion: region.contains(document.activeElement),
        focusOnBody: document.activeElement === document.body,
        shownAfter: (document.getElementById("flashes-shown") || {textContent: ""}).textContent.trim()};
"""


def test_a_students_success_message_is_announced_by_the_status_region_without_moving_the_focus(browser, tool):
    # A live region is announced when it changes, not for what it holds as the page loads: the message used to be
    # in the region from the start, so a screen reader said nothing after "Add my goal" (WCAG 4.1.3).
    _teacher_sets_up_the_demo_pack(browser, tool)
    launch_as(browser, tool, STUDENT)
    _click(browser, _link("My goals"))
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _NOTE_FLASHES_AT_LOAD})
    browser.find_element(By.ID, "goal-title-new").send_keys("Master fractions")
    _click(browser, _button("Add my goal"))
    # Sighted people (and browsers without script) see the message from the start.
    assert "Goal added: Master fractions" in browser.find_element(By.TAG_NAME, "main").text
    wait(browser, lambda b: "Goal added: Master fractions" in b.execute_script(_ANNOUNCED)["text"], seconds=10)

    found = browser.execute_script(_ANNOUNCED)
    # The status region was in the page, empty, when it loaded; the message came into it afterwards.
    assert (found["sameRegion"], found["roleAtLoad"], found["textAtLoad"]) == (True, "status", ""), found
    assert found["text"] == "Goal added: Master fractions"
    assert found["shownAfter"] == ""  # read once in the page, not twice
    assert browser.find_element(By.ID, "flashes").is_displayed()  # still on screen, where it was
    assert not found["focusInRegion"] and found["focusOnBody"], found
    assert not browser.title.startswith("Error")


def test_a_teachers_refused_settings_and_course_map_forms_put_the_focus_on_the_problem(browser, tool):
    home = _teacher_sets_up_the_demo_pack(browser, tool)
    base = home.split("?")[0].rstrip("/") + "/"

    browser.get(base + "teacher/settings")
    browser.execute_script("const e = document.getElementById('ends-on'); e.type = 'text'; e.value = '2020-13-45'")
    _click(browser, "//main//form//button[@type='submit']")
    assert _focus_lands_on(browser, "flashes")
    assert browser.title.startswith("Error: Settings")
    assert _attr(browser, "ends-on", "aria-invalid") == "true"
    assert _describes(browser, "ends-on") == ["form-error", "ends-on-help"]
    # What the teacher typed comes back (a date field shows no value that is not a date, but keeps it in its markup).
    assert browser.execute_script("return document.getElementById('ends-on').getAttribute('value')") == "2020-13-45"

    browser.get(base + "teacher/map/skill")
    browser.execute_script("for (const e of document.querySelectorAll('[required]')) e.removeAttribute('required')")
    _click(browser, "//main//form//button[@type='submit']")
    # The problem is the name's: the focus goes to the name field, which is marked and reads the problem.
    assert _focus_lands_on(browser, "f-name")
    assert browser.title.startswith("Error: ")
    assert _attr(browser, "f-name", "aria-invalid") == "true"
    (problem,) = _describes(browser, "f-name")
    assert browser.find_element(By.ID, problem).text == "Give the skill a name."

    # A problem that is no field's (a prerequisite circle) still puts the focus on the list of problems.
    browser.get(base + "teacher/map/skill?id=frac-equivalent")
    browser.execute_script("document.querySelector('input[name=prerequisites][value=frac-add-sub]').checked = true")
    _click(browser, "//main//form[not(contains(@class, 'map-delete'))]//button[@type='submit']")
    assert _focus_lands_on(browser, "problems")


def test_a_hint_asked_for_comes_before_the_answer_and_describes_it(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    home = launch_as(browser, tool, STUDENT)
    browser.get(home.split("?")[0].rstrip("/") + "/practice/frac-equivalent")
    _click(browser, _button("Show a hint"))
    hints = browser.find_element(By.ID, "hints")
    assert hints.find_elements(By.TAG_NAME, "li")
    answers = browser.find_elements(By.ID, "answer")
    if answers:  # a typed answer: the field is focused, and described by the question and the hints
        described = _describes(browser, "answer")
        focused_is_answer = _focus_lands_on(browser, "answer")
        field = answers[0]
    else:  # multiple choice: the choices' group is described by the hints, and a choice has the focus
        group = browser.find_element(By.CSS_SELECTOR, "form.practice fieldset")
        described = (group.get_attribute("aria-describedby") or "").split()
        field = group.find_element(By.CSS_SELECTOR, "input[type=radio]")
        focused_is_answer = _focus_lands(browser, lambda b: b.execute_script(
            "return document.activeElement.name === 'answer' && document.activeElement.type === 'radio'"))
    assert "hints" in described and "prompt" in described
    assert focused_is_answer
    # Read in order, the hints come before the answer (Node.DOCUMENT_POSITION_FOLLOWING = 4).
    assert browser.execute_script("return arguments[0].compareDocumentPosition(arguments[1]) & 4", hints, field)


def _box(browser, element) -> dict:
    return browser.execute_script("const b = arguments[0].getBoundingClientRect(); return {w: b.width, h: b.height}",
                                  element)


def test_radio_buttons_and_checkboxes_are_big_enough_to_hit_and_each_choice_row_is_its_label(browser, tool):
    _teacher_sets_up_the_demo_pack(browser, tool)
    home = launch_as(browser, tool, STUDENT)
    browser.set_window_size(*PHONE)
    try:
        for path in ("evidence", "goals"):
            browser.get(home.split("?")[0].rstrip("/") + "/" + path)
            controls = browser.find_elements(By.CSS_SELECTOR, "main form fieldset input[type=radio], "
                                                              "main form fieldset input[type=checkbox]")
            assert controls, path
            for control in controls:
                row = control.find_element(By.XPATH, "..")
                label = browser.find_element(By.CSS_SELECTOR, f"label[for='{control.get_attribute('id')}']")
                size, height, label_box = _box(browser, control), _box(browser, row)["h"], _box(browser, label)
                assert size["w"] >= 20 and size["h"] >= 20, (path, control.get_attribute("id"), size)
                assert height >= 44 and label_box["h"] >= 44, (path, label.text, height, label_box)
    finally:
        browser.set_window_size(*DESKTOP)


def test_the_teachers_privacy_page_reflows_at_320_px(browser, tool):
    home = _teacher_sets_up_the_demo_pack(browser, tool)
    assert PHONE[0] == 320  # every page audit checks reflow at 320 CSS px (WCAG 1.4.10)
    browser.get(home.split("?")[0].rstrip("/") + "/privacy/")
    browser.set_window_size(*PHONE)
    try:
        assert horizontal_overflow(browser) == 0, overflowing_elements(browser)
    finally:
        browser.set_window_size(*DESKTOP)


_BORDER = "const s = getComputedStyle(document.getElementById(arguments[0])); return [s.borderTopWidth, s.borderTopColor]"


def test_a_teachers_refused_level_comes_back_as_chosen_with_the_note_field_marked_to_the_eye(browser, tool):
    # Before, the class view's form came back at the first student, skill and level with both notes emptied (the
    # next "Set level" changed someone else's level), and nothing but the message at the top showed what was wrong.
    home = _teacher_sets_up_the_demo_pack(browser, tool)
    browser.get(home + "class")
    Select(browser.find_element(By.ID, "override-person")).select_by_visible_text("Sofía García")
    Select(browser.find_element(By.ID, "override-skill")).select_by_visible_text("Unit rates")
    Select(browser.find_element(By.ID, "override-level")).select_by_visible_text("Familiar")
    browser.find_element(By.ID, "override-student-note").send_keys("Let's go over this on Monday.")
    _submit_blank(browser, "override-note", "Set level")
    assert _focus_lands_on(browser, "flashes")
    assert Select(browser.find_element(By.ID, "override-person")).first_selected_option.text == "Sofía García"
    assert Select(browser.find_element(By.ID, "override-skill")).first_selected_option.text == "Unit rates"
    assert Select(browser.find_element(By.ID, "override-level")).first_selected_option.text == "Familiar"
    assert _attr(browser, "override-student-note", "value") == "Let's go over this on Monday."
    assert _attr(browser, "override-note", "aria-invalid") == "true"
    assert _describes(browser, "override-note") == ["form-error", "override-note-help"]
    # Seen as well as announced: the refused field's border is not the one every other field has.
    assert (browser.execute_script(_BORDER, "override-note")
            != browser.execute_script(_BORDER, "override-student-note"))


def test_a_teacher_who_presses_set_level_without_choosing_changes_no_ones_level(browser, tool):
    # The teacher's walk: the class view's "Set a level" form started at the first student (Liam O'Connor), the
    # first skill and Not started. A teacher who wrote the note and pressed "Set level" without looking set his
    # Equivalent fractions to Not started (and sent that to the gradebook). The menus now start at "Choose …", and
    # the browser asks for each before sending; sent anyway (by a script, an old browser), the server names it.
    home = _teacher_sets_up_the_demo_pack(browser, tool)
    browser.get(home + "class")
    for menu, first in (("override-person", "Choose a student"), ("override-skill", "Choose a skill"),
                        ("override-level", "Choose a level")):
        assert Select(browser.find_element(By.ID, menu)).first_selected_option.text == first
        assert _attr(browser, menu, "required") == "true"
    browser.find_element(By.ID, "override-note").send_keys("Exit ticket")
    browser.find_element(By.ID, "override-note").send_keys(Keys.ENTER)  # the keyboard's way to send it
    assert browser.execute_script("return document.getElementById('override-person').matches(':invalid')")
    assert "Level set to" not in browser.page_source  # the browser kept the form: nothing was sent

    for menu in ("override-person", "override-skill", "override-level"):
        browser.execute_script("document.getElementById(arguments[0]).removeAttribute('required')", menu)
    _click(browser, _button("Set level"))
    assert _focus_lands_on(browser, "flashes")
    assert "Choose a student." in browser.find_element(By.ID, "flashes").text
    assert _attr(browser, "override-person", "aria-invalid") == "true"
    assert _attr(browser, "override-note", "value") == "Exit ticket"
    assert "Level set to" not in browser.page_source
