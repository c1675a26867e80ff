"""Proficient needs right answers on distinct items: practice brings back the items still to get right."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.services.test_placement_evidence import _answer
from tests.support import submit_form

START = datetime(2026, 9, 1, 9, 0)
SKILL = "percent"  # the demo pack's Percent: four fixed items and one template (pc-t1)


def test_a_student_who_missed_the_fixed_items_gets_them_again_and_moves_up(sandbox, tool):
    # Seen in a browser walk: a student missed Percent's fixed items, then got the template right again and again.
    # Every variant of a template is one item, and the missed items waited for the template's hundred variants to
    # be used, so she stayed at Familiar with two items answered right, right answer after right answer.
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.learning.mastery import Level
        from lti_tool.models import Course, Enrollment
        from lti_tool.services.mastery import SkillView, record_answer, require_pack
        from lti_tool.services.serving import serve_next

        course_id = db.session.scalars(db.select(Course.id)).one()
        person_id = db.session.scalars(db.select(Enrollment.person_id).where(Enrollment.role == "student")).one()
        pack = require_pack(course_id)
        fixed = {item.id for _, item in pack.items() if SKILL in item.skills and not item.parameters}
        assert len(fixed) == 4

        def practise(now: datetime, right) -> tuple[str, SkillView]:
            question = serve_next(course_id, person_id, SKILL, pack, now=now)
            result = record_answer(course_id, person_id, question.id, _answer(question.item, right(question.item)),
                                   now=now)
            return question.item.id, next(v for v in result.views if v.skill_id == SKILL)

        # First sitting: every fixed item missed (the template right whenever it comes), then the template right.
        now, missed = START, set()
        while missed != fixed:
            now += timedelta(seconds=40)
            item_id, _ = practise(now, lambda item: bool(item.parameters))
            if item_id in fixed:
                missed.add(item_id)
        for _ in range(12):
            now += timedelta(seconds=40)
            item_id, view = practise(now, lambda item: True)
            assert item_id == "pc-t1"  # a missed item again now would be a repeat without credit
        assert view.level is Level.FAMILIAR  # one item right, many times
        assert view.other_items  # the feedback says other questions are what is missing

        # The next day the missed items come back, and right answers on them move her up.
        now += timedelta(days=1)
        served, levels = [], []
        for _ in range(4):
            now += timedelta(seconds=40)
            item_id, view = practise(now, lambda item: True)
            served.append(item_id)
            levels.append(view.level)

        assert levels[-1].rank >= Level.PROFICIENT.rank  # on the old serving: Familiar, pc-t1 four times more
        assert set(served[:2]) <= fixed
