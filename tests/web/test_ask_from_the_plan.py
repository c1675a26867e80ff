"""Pressing "Ask my teacher" on a plan step after misses in a row keeps the student on the plan.

The step says "before more questions, try one of the ways to learn it, or ask your teacher"; asking from it took the
student to the skill's practice page, which served them the next question straight away.
"""

from __future__ import annotations

import html
import re

from tests.support import class_override, open_in_launch, served_answer, submit_form

SKILL, NAME = "frac-equivalent", "Equivalent fractions"  # the demo plan's first step for a new student
LEARN_FIRST = (
    "Your last answers on it missed: before more questions, try one of the ways to learn it, or ask your teacher."
)


def _missed_twice(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    for _ in range(2):
        question = open_in_launch(student, tool, f"/practice/{SKILL}")
        submit_form(question, f"/practice/{SKILL}", answer=served_answer(tool, question, right=False))
    plan = open_in_launch(student, tool, "/")
    assert LEARN_FIRST in html.unescape(plan.text)
    return plan


def test_asking_from_a_plan_step_brings_the_student_back_to_the_plan_not_to_a_question(sandbox, tool):
    plan = _missed_twice(sandbox, tool)
    asked = submit_form(plan, f"/practice/{SKILL}/ask")
    assert asked.status_code == 200 and asked.history and asked.history[0].status_code == 303
    assert re.search(r"/c/[^/]+/$", asked.url), asked.url  # the plan page, where the step was
    text = html.unescape(asked.text)
    assert f"Your teacher will see that you asked for help with {NAME}." in text
    assert 'name="served"' not in asked.text  # no question was put in front of the student
    assert LEARN_FIRST in text


def test_asking_from_the_practice_feedback_still_goes_on_to_practice(sandbox, tool):
    plan = _missed_twice(sandbox, tool)
    question = open_in_launch(plan, tool, f"/practice/{SKILL}")
    asked = submit_form(question, f"/practice/{SKILL}/ask")
    assert asked.status_code == 200 and re.search(rf"/practice/{SKILL}$", asked.url), asked.url


def test_the_return_address_is_not_taken_from_the_form(sandbox, tool):
    # Only the plan is named, by a fixed word: a posted address goes nowhere but practice.
    plan = _missed_twice(sandbox, tool)
    asked = submit_form(plan, f"/practice/{SKILL}/ask", back="https://evil.example/")
    assert asked.status_code == 200 and re.search(rf"/practice/{SKILL}$", asked.url), asked.url


def test_an_assigned_step_after_misses_in_a_row_says_the_same_and_offers_to_ask_the_teacher(sandbox, tool):
    # The step for a skill the teacher assigned (the one most likely to be hard) said nothing after the misses and
    # had no "Ask my teacher", while the same misses on a skill not assigned did.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    page = open_in_launch(teacher, tool, "/class/assignments")
    assert "Assigned to 1 student." in submit_form(page, "/class/assignments", target="class", skill_id=SKILL).text
    for _ in range(2):
        question = open_in_launch(student, tool, f"/practice/{SKILL}")
        submit_form(question, f"/practice/{SKILL}", answer=served_answer(tool, question, right=False))
    plan = open_in_launch(student, tool, "/")
    # The first step, up to the next one (its "Learn it" list holds <li>s of its own).
    listed = re.search(
        r'<ol class="steps">\s*<li class="step[^"]*">(.*?)(?:<li class="step|</ol>)', plan.text, re.S
    ).group(1)
    step = html.unescape(listed)
    assert NAME in step and "Your teacher assigned this skill." in step, step
    assert LEARN_FIRST in step
    assert re.search(rf'<form method="post" action="[^"]*/practice/{SKILL}/ask"', listed)
    asked = submit_form(plan, f"/practice/{SKILL}/ask")
    assert f"Your teacher will see that you asked for help with {NAME}." in html.unescape(asked.text)


def test_misses_in_the_placement_check_do_not_say_the_student_is_stuck(sandbox, tool):
    # The placement check asks at the edge of what the student knows, to be missed about half the time, and gives no
    # feedback: its misses are not the run of practice misses after which the feedback advises another way. The plan
    # read every answer, so a new student's first plan told them to ask their teacher before practising at all.
    from tests.web.test_diagnostic import _start_check, _take_whole_check

    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _take_whole_check(_start_check(student, tool), lambda page: served_answer(tool, page, right=False))
    plan = open_in_launch(student, tool, "/")
    assert "Your next steps" in plan.text
    assert LEARN_FIRST not in html.unescape(plan.text)
    assert not re.search(r'<form method="post" action="[^"]*/practice/[^"/]+/ask"', plan.text)


def test_a_level_the_teacher_set_after_the_misses_does_not_leave_the_step_saying_the_student_is_stuck(sandbox, tool):
    # The teacher's walk: a student missed twice, the teacher saw her do it at the board and set Proficient with a note;
    # her plan still opened on "Equivalent fractions Proficient: Your last answers on it missed…", against the level.
    plan = _missed_twice(sandbox, tool)
    teacher = sandbox.launch("teacher")
    class_view = open_in_launch(teacher, tool, "/class")
    set_level = class_override(
        class_view,
        skill_id=SKILL,
        level="Proficient",
        note="Did it at the board",
        note_to_student="Well done at the board!",
    )
    assert "Level set to Proficient" in html.unescape(set_level.text)

    plan = open_in_launch(plan, tool, "/")
    text = html.unescape(plan.text)
    assert "Set by your teacher: Well done at the board!" in text
    assert LEARN_FIRST not in text
    assert not re.search(rf'<form method="post" action="[^"]*/practice/{SKILL}/ask"', plan.text)

    # Misses after the teacher's level still count: two more in a row, and the plan says so again.
    for _ in range(2):
        question = open_in_launch(plan, tool, f"/practice/{SKILL}")
        submit_form(question, f"/practice/{SKILL}", answer=served_answer(tool, question, right=False))
    plan = open_in_launch(plan, tool, "/")
    assert LEARN_FIRST in html.unescape(plan.text)


def test_evidence_the_teacher_accepted_after_the_misses_does_not_leave_the_step_saying_the_student_is_stuck(
    sandbox, tool
):
    plan = _missed_twice(sandbox, tool)
    form = open_in_launch(plan, tool, "/evidence")
    submit_form(form, "/evidence", skill_id=SKILL, kind="explanation", text="Times top and bottom by 2.")
    queue = open_in_launch(sandbox.launch("teacher"), tool, "/teacher/evidence")
    evidence_id = re.search(r"/teacher/evidence/(\d+)/accept", queue.text).group(1)
    accepted = submit_form(queue, f"/teacher/evidence/{evidence_id}/accept", level="Proficient")
    assert "at Proficient" in html.unescape(accepted.text)

    plan = open_in_launch(plan, tool, "/")
    assert LEARN_FIRST not in html.unescape(plan.text)
    assert not re.search(rf'<form method="post" action="[^"]*/practice/{SKILL}/ask"', plan.text)


def test_the_practice_feedback_counts_the_misses_since_the_teachers_level_as_the_plan_does(sandbox, tool):
    # The plan counted only the misses after the teacher's level; the feedback after the next miss still read the two
    # before it with this one and said "Try learning it another way", while the plan, a click away, did not.
    plan = _missed_twice(sandbox, tool)
    class_view = open_in_launch(sandbox.launch("teacher"), tool, "/class")
    class_override(class_view, skill_id=SKILL, level="Proficient", note="Did it at the board")
    question = open_in_launch(plan, tool, f"/practice/{SKILL}")
    feedback = submit_form(question, f"/practice/{SKILL}", answer=served_answer(tool, question, right=False))
    assert "Practise: Equivalent fractions" in html.unescape(feedback.text)
    assert "Try learning it another way" not in feedback.text
    assert LEARN_FIRST not in html.unescape(open_in_launch(plan, tool, "/").text)

    # A second miss since the teacher's level: both pages say so.
    question = open_in_launch(plan, tool, f"/practice/{SKILL}")
    feedback = submit_form(question, f"/practice/{SKILL}", answer=served_answer(tool, question, right=False))
    assert "Try learning it another way" in feedback.text
    assert LEARN_FIRST in html.unescape(open_in_launch(plan, tool, "/").text)
