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


def test_a_level_set_below_the_level_the_page_showed_stays_the_teachers(sandbox, tool):
    # Right answers to Proficient, then a miss: the page still shows Proficient (a shown level holds through one
    # slip), though the answers alone no longer reach it. The teacher, doubting them, sets Familiar: below what the
    # answers had shown. That was judged against the answers' level without the hold, so the teacher read as not
    # doubting them, the plan said "To reach Proficient: 1 more right answer" and one right answer undid the level.
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
