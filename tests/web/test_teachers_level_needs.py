"""What the plan says a teacher's level needs is what `record_answer` does with it: only a right answer raises a
teacher's level, and a level set below what the answers had shown (as the page showed it) stays the teacher's."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _days_pass, _practise
from tests.support import submit_form
from tests.web.test_assignments import _get, _students
from tests.web.test_mixed_review import _plan
from tests.web.test_override_holds import _set_level

PACK = load_pack(demo_pack_data())
SKILL = PACK.skill_graph.topological_order()[0]
NAME = PACK.skills_by_id[SKILL].name
HOLDS = ("Your teacher set this level, and only your teacher changes it now. Keep practising: your teacher sees "
         "your answers.")


def _needs(student) -> str:
    row = re.search(rf'<th scope="row">{re.escape(NAME)}</th>(.*?)</tr>', html.unescape(_plan(student).text), re.S)
    found = re.search(r'<strong class="level-needs">([^<]*)</strong>', row.group(1))
    return found.group(1) if found else ""


def _row(tool):
    """The skill's stored level, whether the teacher holds it, and the model's levels of its answers: held at the
    stored level, and without it."""
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.learning.mastery import Level, SkillState
        from lti_tool.models import SkillMastery
        from lti_tool.services.mastery import model_for, thresholds_for

        row = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == SKILL)).one()
        state, model, rules = SkillState.from_dict(row.state), model_for(row.course_id), thresholds_for(PACK)
        return (row.level, row.overridden, model.level(state, rules, previous=Level(row.level)).value,
                model.level(state, rules).value)


def test_a_teachers_level_the_answers_already_reach_needs_one_right_answer_not_a_break(sandbox, tool):
    # The teacher set Proficient; the student came back after a break and missed one: the answers reach Mastered
    # now, but a wrong answer does not raise a teacher's level. The plan said "To reach Mastered, take a break of an
    # hour or more, then come back" (the words for a projection of no answers), though they had just done that and
    # one right answer is what raises it.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _set_level(teacher, tool, "Proficient")
    _practise(student, tool, SKILL, PACK, right=True, times=14)
    assert _row(tool)[:2] == ("Proficient", True)
    _days_pass(tool, 1)
    _practise(student, tool, SKILL, PACK, right=False, times=1)
    level, overridden, earned, _ = _row(tool)
    assert (level, overridden, earned) == ("Proficient", True, "Mastered")  # the case: the answers earn more
    told = _needs(student)
    assert told == "To reach Mastered: 1 more right answer.", told
    _practise(student, tool, SKILL, PACK, right=True, times=1)
    assert _row(tool)[:2] == ("Mastered", False)  # that one right answer was all it took


def _proficient_shown_through_a_slip(sandbox, tool):
    """Right answers to Proficient, then misses until the answers alone no longer reach it while the page still
    shows Proficient (a shown level holds through one slip). Return the teacher's and the student's pages."""
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    for _ in range(10):
        _practise(student, tool, SKILL, PACK, right=True, times=1)
        if _row(tool)[0] == "Proficient":
            break
    for _ in range(4):
        _practise(student, tool, SKILL, PACK, right=False, times=1)
        level, _, shown, alone = _row(tool)
        if alone != "Proficient":
            break
    assert (level, shown) == ("Proficient", "Proficient") and alone != "Proficient", (level, shown, alone)
    return teacher, student


def test_a_level_set_below_the_level_the_page_showed_stays_the_teachers(sandbox, tool):
    # Right answers to Proficient, then a miss: the page still shows Proficient (a shown level holds through one
    # slip), though the answers alone no longer reach it. The teacher, doubting them, sets Familiar: below what the
    # answers had shown. That was judged against the answers' level without the hold, so the teacher read as not
    # doubting them, the plan said "To reach Proficient: 1 more right answer" and one right answer undid the level.
    teacher, student = _proficient_shown_through_a_slip(sandbox, tool)
    _set_level(teacher, tool, "Familiar")
    assert _needs(student) == HOLDS
    for _ in range(3):
        _practise(student, tool, SKILL, PACK, right=True, times=1)
        assert _row(tool)[:2] == ("Familiar", True)


def test_the_plans_step_for_a_level_only_the_teacher_changes_does_not_promise_practice_moves_it(sandbox, tool):
    # The table said "only your teacher changes it now" and the next step on the same page "more practice moves you
    # up": one of the two was false.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _practise(student, tool, SKILL, PACK, right=True, times=2)
    assert _row(tool)[0] == "Familiar"
    _set_level(teacher, tool, "Attempted")  # below what the answers showed
    plan = html.unescape(_plan(student).text)
    steps = dict(re.findall(r'<li class="step">\s*<h3>([^<]+?) <span.*?</h3>\s*<p>(.*?)</p>', plan, re.S))
    assert NAME in steps, steps
    assert "more practice moves you up" not in steps[NAME] and "You're ready for this" in steps[NAME], steps[NAME]
    assert _needs(student) == HOLDS


def _feedback_needs(feedback) -> list[str]:
    return re.findall(r'<strong class="level-needs">([^<]*)</strong>', html.unescape(feedback.text))


def test_a_teachers_not_started_asks_for_a_right_answer_as_only_a_right_answer_starts_it(sandbox, tool):
    # The teacher set Not started on a skill the student had not answered: the plan said "To get started: answer one
    # question on it", but a wrong answer leaves a teacher's level where it is; only a right one raises it.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _set_level(teacher, tool, "Not started")
    assert _needs(student) == "To get started: get one question on it right."
    feedback = _practise(student, tool, SKILL, PACK, right=False, times=1)
    assert _row(tool)[:2] == ("Not started", True)  # the wrong answer did not start it
    assert _feedback_needs(feedback) == ["To get started: get one question on it right."]
    assert _needs(student) == "To get started: get one question on it right."
    _practise(student, tool, SKILL, PACK, right=True, times=1)
    assert _row(tool)[:2] == ("Attempted", False)  # one right answer did, as the words said


def test_a_skill_nobody_set_still_starts_with_any_answer(sandbox, tool):
    # A guard: the model's own Not started is started by any answer, and says so.
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    assert _needs(student) == "To get started: answer one question on it."
    _practise(student, tool, SKILL, PACK, right=False, times=1)
    assert _row(tool)[:2] == ("Attempted", False)


def test_an_assigned_skill_only_the_teacher_changes_does_not_say_reaching_proficient_takes_it_off_the_top(sandbox,
                                                                                                          tool):
    # Assigned, then set below what the answers showed: the step said "It leaves the top of your plan once you
    # reach Proficient", which no answer can bring about now, while the table said only the teacher changes it.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    assignments = _get(teacher, tool, "/class/assignments")
    assert "Assigned to 1 student." in submit_form(assignments, "/class/assignments", target="student",
                                                   person_id=_students(assignments)["Priya Shah"], skill_id=SKILL,
                                                   due_on="").text
    _practise(student, tool, SKILL, PACK, right=True, times=2)
    assert _row(tool)[0] == "Familiar"
    _set_level(teacher, tool, "Attempted")  # below what the answers showed
    assert _needs(student) == HOLDS
    plan = html.unescape(_plan(student).text)
    step = re.search(rf'<li class="step[^"]*">\s*<h3>{re.escape(NAME)} <span.*?</li>', plan, re.S)
    assert step and "Assigned by your teacher" in step.group(0), plan
    assert "once you reach Proficient" not in step.group(0)
    assert ("It stays at the top of your plan until your teacher sets your level to Proficient or removes the "
            "assignment.") in step.group(0)
    for _ in range(3):  # and it does stay: right answers do not move it
        _practise(student, tool, SKILL, PACK, right=True, times=1)
    assert _row(tool)[:2] == ("Attempted", True)


def test_setting_a_held_level_again_keeps_it_the_teachers(sandbox, tool):
    # The teacher set Familiar below the Proficient the page showed (they doubt those answers), then set Familiar
    # again with a new note, or lowered it further: the answers alone did not earn more than the new level, so it
    # read as no doubt, the plan said what right answers still need and they raised it, though the teacher had
    # changed nothing about their doubt (the docs: set below what the answers had shown, only you change it).
    teacher, student = _proficient_shown_through_a_slip(sandbox, tool)
    _set_level(teacher, tool, "Familiar")
    assert _needs(student) == HOLDS
    _set_level(teacher, tool, "Familiar")  # again, for a new note
    assert _needs(student) == HOLDS
    _set_level(teacher, tool, "Attempted")  # lower still
    assert _needs(student) == HOLDS
    for _ in range(4):
        _practise(student, tool, SKILL, PACK, right=True, times=1)
        assert _row(tool)[:2] == ("Attempted", True)


def test_a_held_level_the_teacher_raises_but_still_below_what_the_answers_had_shown_stays_the_teachers(sandbox,
                                                                                                       tool):
    # The teacher set Attempted below the Proficient the page showed (they doubt those answers), then raised it to
    # Familiar: still below that Proficient. It was compared afresh with the answers alone (which, after the slip,
    # earn no more than Familiar), read as no doubt, and the next right answer raised it to the Proficient the
    # teacher had doubted. Only setting the level the answers had shown, or more, ends the teacher's hold.
    teacher, student = _proficient_shown_through_a_slip(sandbox, tool)
    _set_level(teacher, tool, "Attempted")
    assert _needs(student) == HOLDS
    _set_level(teacher, tool, "Familiar")  # raised, still below the answers' Proficient
    assert _needs(student) == HOLDS
    for _ in range(3):
        _practise(student, tool, SKILL, PACK, right=True, times=1)
        assert _row(tool)[:2] == ("Familiar", True)
    _set_level(teacher, tool, "Proficient")  # the level the answers had shown: the teacher's doubt is over
    assert _needs(student) != HOLDS and _needs(student).startswith("To reach Mastered"), _needs(student)


def test_evidence_accepted_below_what_the_answers_had_shown_keeps_the_teachers_hold(sandbox, tool):
    # Accepting evidence is the teacher setting a level too: held at Attempted below the answers' Proficient,
    # evidence accepted at Familiar ended the hold, and right answers raised it to the doubted Proficient.
    teacher, student = _proficient_shown_through_a_slip(sandbox, tool)
    _set_level(teacher, tool, "Attempted")
    form = _get(student, tool, "/evidence")
    submit_form(form, "/evidence", skill_id=SKILL, kind="explanation", text="Halves are twice quarters.")
    queue = _get(teacher, tool, "/teacher/evidence")
    evidence_id = re.search(r"/teacher/evidence/(\d+)/accept", queue.text).group(1)
    submit_form(queue, f"/teacher/evidence/{evidence_id}/accept", level="Familiar")
    assert _row(tool)[:2] == ("Familiar", True)
    assert _needs(student) == HOLDS
    for _ in range(3):
        _practise(student, tool, SKILL, PACK, right=True, times=1)
        assert _row(tool)[:2] == ("Familiar", True)
