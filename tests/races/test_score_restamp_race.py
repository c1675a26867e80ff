"""The LMS refuses a student's newest score (409) while a teacher's change of their level is being saved.

The worker sends such a score again with a later time (jobs/worker.py _refused_as_not_later), unless a newer score
of ours was queued meanwhile. But its check saw only committed rows: the teacher's change had read the older
score's time and was about to stamp its own one second after it, earlier than the worker's new time. The older
score then ranked as the newest and went to the LMS again; the teacher's change was taken as stale and never sent,
and the gradebook kept the older grade. The worker now takes the student's lock, as every writer of their scores
does, before giving a score a later time.
"""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs import worker
from lti_tool.models import Course, Person, ScoreOutbox
from lti_tool.models.base import utcnow
from lti_tool.services import grades, publishing
from lti_tool.services.mastery import override_level
from lti_tool.services.permissions import Actor
from tests.races.support import hold_first_call
from tests.services.test_per_skill_grades import _setup
from tests.support import drain_outbox
from tests.web.test_override_notes import FIRST


def test_a_level_changed_while_the_lms_refuses_the_previous_score_is_the_grade_the_lms_keeps(
        sandbox, tool, monkeypatch):
    app = tool.app
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks: on SQLite the teacher's write lock keeps the worker's later time out already")
    _setup(sandbox, tool, per_skill=False)  # FIRST is Proficient for the student
    with app.app_context():
        course_id, context_id = db.session.execute(sa.select(Course.id, Course.context_id)).one()
        student, sub = db.session.execute(sa.select(Person.id, Person.sub).where(Person.name == "Priya Shah")).one()
        teacher = Actor(db.session.scalar(sa.select(Person.id).where(Person.id != student)), "instructor")
        publishing.set_grading(course_id, actor=teacher, scheme="proficiency_share", per_skill=False, now=utcnow())
        db.session.commit()
    drain_outbox(tool)
    with app.app_context():
        override_level(course_id, student, FIRST, "Familiar", note="retaught", actor=teacher, now=utcnow())
        refused_time = db.session.scalar(sa.select(sa.func.max(ScoreOutbox.score_timestamp)))
        db.session.remove()
    # Scores queued in one second are stamped a second apart, ahead of the clock: the worker meets the 409 once
    # the clock has passed this one's time, as when a score waited in the queue (its later time is then the clock's).
    time.sleep(max(0.0, (refused_time - utcnow()).total_seconds() + 0.2))
    tool.platform.fail_next = [409]  # the LMS holds a score it stamped later than our Familiar one

    # The teacher's next change has read the newest score's time and not committed yet when the worker meets the 409.
    read, go = hold_first_call(monkeypatch, grades, "_unchanged")
    record = worker._record

    def record_then_go(token, outcomes):  # unfixed, the worker wrote its later time without waiting: go on then
        try:
            return record(token, outcomes)
        finally:
            go.set()

    monkeypatch.setattr(worker, "_record", record_then_go)

    def change_level():
        with app.app_context():
            override_level(course_id, student, FIRST, "Proficient", note="showed it", actor=teacher, now=utcnow())
            db.session.remove()

    teacher_saves = threading.Thread(target=change_level)
    teacher_saves.start()
    assert read.wait(10)
    threading.Timer(2.0, go.set).start()  # the worker waits for the teacher's commit (fixed): the change goes on

    stats = drain_outbox(tool)

    teacher_saves.join(20)
    assert not teacher_saves.is_alive()
    drain_outbox(tool)  # whatever the first drain left (nothing, fixed)
    with app.app_context():
        newest = db.session.scalars(sa.select(ScoreOutbox).order_by(ScoreOutbox.id.desc())).first()
        assert newest.status == "synced"
        assert tool.platform.latest_scores(context_id)[newest.lineitem_url][sub]["scoreGiven"] == newest.score_given
        fresh = publishing._publish(course_id, now=utcnow(), person_id=student)
        db.session.rollback()
        db.session.remove()
    assert fresh == 0, "the LMS holds a score older than the student's current level"
    # The refused score was replaced, not sent again: no retry was scheduled for it.
    assert (stats.retries_scheduled, stats.superseded, stats.errors) == (0, 1, {"409": 1})
