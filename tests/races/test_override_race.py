"""Two teachers override the same student's skill (one the student has not practised) at the same moment.

Both waited for the learner's lock, then read the learner's rows: on PostgreSQL the read still came from before
the wait, so the second did not see the skill row the first had just created, inserted it again and failed (500).
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import SkillMastery
from lti_tool.models.base import utcnow
from lti_tool.services.mastery import lock_learner, override_level
from lti_tool.services.permissions import Actor
from tests.races.support import at_once, demo_course
from tests.web.test_override_notes import PACK

SKILL = PACK.skill_graph.topological_order()[-1]


def test_two_teachers_override_the_same_unpractised_skill_at_once(sandbox, tool):
    course_id, _, student, teacher = demo_course(sandbox, tool)
    app = tool.app
    with app.app_context():
        lock_learner(course_id, student, utcnow())  # the learner-wide row, as after any first answer
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SkillMastery)) == 1
        db.session.remove()
    holder_ready, release = threading.Event(), threading.Event()

    def hold():  # someone (an answer) holds the learner lock while both overrides arrive
        with app.app_context():
            lock_learner(course_id, student, utcnow())
            holder_ready.set()
            release.wait(5)
            db.session.commit()
            db.session.remove()

    def override(level: str):
        return lambda: override_level(course_id, student, SKILL, level, note="seen in class",
                                      actor=Actor(teacher, "instructor"), now=utcnow())

    holder = threading.Thread(target=hold)
    holder.start()
    assert holder_ready.wait(5)
    threading.Timer(0.5, release.set).start()  # both overrides are waiting for the lock by then
    errors = at_once(app, [override("Proficient"), override("Mastered")])
    holder.join(30)
    assert not errors, [repr(e)[:300] for e in errors]
    with app.app_context():
        levels = db.session.scalars(sa.select(SkillMastery.level).where(SkillMastery.skill_id == SKILL)).all()
        db.session.remove()
    assert len(levels) == 1 and levels[0] in ("Proficient", "Mastered"), levels
