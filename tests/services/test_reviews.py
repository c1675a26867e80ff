"""Mastered skills come back for spaced review; a failed review lowers the level."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import served_answer, submit_form


def _right_answer(item) -> str:
    if item.type == "multiple_choice":
        return item.answer
    if item.type == "numeric":
        return str(item.answer)
    return item.answers[0]


def _practise(page, tool, skill_id, pack, *, right: bool, times: int):
    feedback = None
    for _ in range(times):
        question = page.http.get(tool.url(re.search(r"/c/[^/]+/", page.url).group(0) + f"practice/{skill_id}"))
        question.http = page.http
        answer = served_answer(tool, question) if right else "999999 wrong"
        feedback = submit_form(question, f"practice/{skill_id}", answer=answer)
    return feedback


def _levels(tool):
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import MasteryEvent, ReviewSchedule, SkillMastery

        return (
            {m.skill_id: m.level for m in db.session.scalars(db.select(SkillMastery))},
            list(db.session.scalars(db.select(ReviewSchedule))),
            list(db.session.scalars(db.select(MasteryEvent).order_by(MasteryEvent.id))),
        )


def test_a_mastered_skill_is_scheduled_for_review_and_a_failed_review_lowers_it(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    first_skill = pack.skill_graph.topological_order()[0]
    student = sandbox.launch("student")
    for _ in range(4):
        _practise(student, tool, first_skill, pack, right=True, times=5)
        if _levels(tool)[0].get(first_skill) == "Mastered":
            break
    levels, schedules, _ = _levels(tool)
    assert levels[first_skill] == "Mastered"
    (schedule,) = [s for s in schedules if s.skill_id == first_skill]
    assert schedule.due_at > datetime.now(UTC).replace(tzinfo=None)  # not due at once: spacing

    with tool.app.app_context():  # time passes: the review falls due
        from lti_tool.extensions import db
        from lti_tool.models import ReviewSchedule

        db.session.execute(db.update(ReviewSchedule).values(due_at=datetime(2020, 1, 1)))
        db.session.commit()
    plan = student.http.get(student.url)
    assert "review" in plan.text.lower()

    _practise(student, tool, first_skill, pack, right=False, times=1)
    levels, schedules, events = _levels(tool)
    assert levels[first_skill] != "Mastered"
    assert events[-1].source == "review" and events[-1].old_level == "Mastered"
    (schedule,) = [s for s in schedules if s.skill_id == first_skill]
    assert schedule.due_at > datetime(2020, 1, 2)  # rescheduled soon, to relearn
