"""A teacher's level stands until the teacher changes it, or until the student's own answers earn more."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import served_answer, submit_form

PACK = load_pack(demo_pack_data())
FIRST = PACK.skill_graph.topological_order()[0]


def _get(page, tool, path: str):
    response = page.http.get(tool.url(re.search(r"/c/[^/]+", page.url).group(0) + path), timeout=30)
    response.http = page.http
    return response


def _set_level(teacher, tool, level: str):
    view = _get(teacher, tool, "/class")
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', view.text, re.S).group(1)
    priya = next(pid for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select) if name == "Priya Shah")
    done = submit_form(view, "/class/override", person_id=priya, skill_id=FIRST, level=level,
                       note="Showed it at the board", note_to_student="Well explained in class!")
    assert f"Level set to {level}" in done.text


def _answer(student, tool, *, right: bool):
    question = _get(student, tool, f"/practice/{FIRST}")
    answer = served_answer(tool, question) if right else "999999 wrong"
    return submit_form(question, f"practice/{FIRST}", answer=answer)


def _row(tool) -> tuple[str, bool, str]:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import SkillMastery

        row = db.session.execute(sa.select(SkillMastery.level, SkillMastery.overridden, SkillMastery.reason)
                                 .where(SkillMastery.skill_id == FIRST)).one()
    return row.level, row.overridden, row.reason


def test_a_right_answer_after_the_teacher_set_proficient_keeps_the_teachers_level(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _set_level(teacher, tool, "Proficient")
    feedback = _answer(student, tool, right=True)
    assert "That's right!" in html.unescape(feedback.text)
    # Before, the model (which never saw what the teacher saw) took over: Proficient → Attempted on a right answer.
    assert "changed from Proficient" not in feedback.text
    assert _row(tool) == ("Proficient", True, "Set by your teacher: Well explained in class!")
    for _ in range(2):
        _answer(student, tool, right=False)
    assert _row(tool)[:2] == ("Proficient", True)  # until the teacher changes it
    home = html.unescape(sandbox.launch("student").text)
    assert "Set by your teacher: Well explained in class!" in home
    assert "Proficient" in html.unescape(_get(teacher, tool, "/class").text)


def test_answers_that_earn_more_than_the_teachers_level_replace_it(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _set_level(teacher, tool, "Familiar")
    levels = []
    for _ in range(6):
        _answer(student, tool, right=True)
        levels.append(_row(tool)[:2])
    assert levels[0] == ("Familiar", True)
    assert ("Proficient", False) in levels  # the student's own evidence took over, upwards only


def test_a_level_the_teacher_lowered_below_the_answers_stays_until_the_teacher_changes_it(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    for _ in range(8):
        _answer(student, tool, right=True)
        if _row(tool)[0] == "Proficient":
            break
    assert _row(tool)[0] == "Proficient"
    _set_level(teacher, tool, "Familiar")  # e.g. the teacher doubts the answers were the student's own
    # Before, the answers the teacher doubted still counted: the next right answer gave Proficient back.
    for _ in range(3):
        _answer(student, tool, right=True)
        assert _row(tool)[:2] == ("Familiar", True)
    _set_level(teacher, tool, "Proficient")
    assert _row(tool)[:2] == ("Proficient", True)


def test_a_level_the_teacher_raised_still_yields_to_answers_once_a_refit_raised_the_estimate_past_it(sandbox, tool):
    # Whether the teacher set the level below the answers was judged before every answer: once a refit (or a
    # sitting) had the answers show more than the teacher's level, the teacher read as doubting them, for good.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _set_level(teacher, tool, "Familiar")  # above what the answers show: none yet
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import SkillMastery

        row = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == FIRST)).one()
        # As a refit leaves a learner with three right answers on distinct items: the estimate now says more.
        row.state = {**row.state, "attempts": 3, "correct": 3, "recent": "111", "recent_hard": "000",
                     "evidence": 2.71, "weight": 2.71, "right_items": ["a1", "b2", "c3"], "estimate": 3.0,
                     "sessions": 1}
        db.session.commit()
    _answer(student, tool, right=True)
    level, overridden, _ = _row(tool)
    assert level in ("Proficient", "Mastered") and not overridden
