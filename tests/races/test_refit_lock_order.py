"""A model refit rewrites the class's estimates while a student's answer holds their learner-wide row.

The refit locked every mastery row of the course in the order the table returned them; after an answer has
updated a learner's "*" row, that row comes after their skill rows, so the refit held a skill row and waited for
"*" while the answer held "*" and waited for the skill row: a deadlock, one of them failing (PostgreSQL; SQLite
has one writer at a time). It now locks in the answers' order: by person, "*" first, then the skills.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.mastery import ALL_SKILLS
from lti_tool.models import SkillMastery
from lti_tool.models.base import utcnow
from lti_tool.services import model_fitting
from lti_tool.services.mastery import _insert_learner_row, model_for, override_level
from lti_tool.services.permissions import Actor
from tests.races.support import LockWait, at_once, demo_course
from tests.web.test_override_notes import FIRST


def test_a_refit_and_an_answer_lock_one_learner_in_the_same_order(sandbox, tool):
    app = tool.app
    with app.app_context():
        if db.engine.dialect.name != "postgresql":  # before the demo course: a skip needs none of it
            pytest.skip("row locks: SQLite serialises the writers")
    course_id, _, student, teacher = demo_course(sandbox, tool)
    with app.app_context():
        override_level(course_id, student, FIRST, "Proficient", note="seen in class",
                       actor=Actor(teacher, "instructor"), now=utcnow())
        # The learner-wide row stored after the skill's, as when an answer's update of it (every answer writes it)
        # moved it to another page of the table: the refit's scan then meets the skill's row first.
        db.session.execute(sa.delete(SkillMastery).where(SkillMastery.skill_id == ALL_SKILLS))
        _insert_learner_row(course_id, student, utcnow())
        db.session.commit()
        model = model_for(course_id)
        db.session.remove()
    holding, refitting = threading.Event(), LockWait()

    def answer():  # as `_lock_skills`: the learner-wide row, then (once the refit waits for a row) the skill's
        db.session.execute(sa.select(SkillMastery.id).where(SkillMastery.skill_id == ALL_SKILLS).with_for_update())
        holding.set()
        # The refit has taken what it takes before the learner-wide row and waits for it (for longer than
        # deadlock_timeout), or has finished: no fixed sleep, which under load ended before the refit began.
        refitting.start_and_wait()
        db.session.execute(sa.select(SkillMastery.id).where(SkillMastery.skill_id == FIRST).with_for_update())
        db.session.commit()

    def refit():
        assert holding.wait(20)
        with refitting.watching():
            model_fitting._refresh_estimates(course_id, model)
            db.session.commit()

    errors = at_once(app, [answer, refit])
    assert not errors, [repr(e)[:300] for e in errors]
