"""A teacher's "recalculate and resend" runs while another teacher raises a student's level.

The class-wide publish read every level, then queued the scores; a score's timestamp comes from the newest row
at insert time, so a level read before the override committed went out after it, newer-stamped, and the LMS kept
the older level. It now locks the course's learners before reading: the override waits for it (or it for the
override) and the last score sent is the student's current level.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Person, ScoreOutbox
from lti_tool.models.base import utcnow
from lti_tool.services import publishing
from lti_tool.services.mastery import override_level
from lti_tool.services.permissions import Actor
from tests.services.test_per_skill_grades import _setup
from tests.support import drain_outbox
from tests.web.test_override_notes import FIRST


def test_a_class_republish_never_sends_levels_older_than_a_parallel_override(sandbox, tool, monkeypatch):
    _setup(sandbox, tool, per_skill=False)  # FIRST is Proficient for the student, queued
    drain_outbox(tool)
    app = tool.app
    with app.app_context():
        course_id = db.session.scalar(sa.select(Course.id))
        student = db.session.scalar(sa.select(Person.id).where(Person.name == "Priya Shah"))
        teacher = db.session.scalar(sa.select(Person.id).where(Person.id != student))
    read, go_on = threading.Event(), threading.Event()
    original = publishing._levels_and_pending

    def slow_read(course, person, *rest):  # widen the window between reading the levels and queueing the scores
        found = original(course, person, *rest)
        if person is None:
            read.set()
            go_on.wait(10)
        return found

    monkeypatch.setattr(publishing, "_levels_and_pending", slow_read)

    def republish():
        with app.app_context():
            publishing.republish_course(course_id, actor=Actor(teacher, "instructor"), now=utcnow())
            db.session.remove()

    r = threading.Thread(target=republish)
    r.start()
    assert read.wait(10)
    # The override goes first unless it has to wait for the republish (fixed): then the republish goes on.
    threading.Timer(1.0, go_on.set).start()
    with app.app_context():
        override_level(course_id, student, FIRST, "Mastered", note="portfolio", actor=Actor(teacher, "instructor"),
                       now=utcnow())
        db.session.remove()
    go_on.set()
    r.join(20)
    assert not r.is_alive()
    drain_outbox(tool)
    with app.app_context():
        rows = db.session.execute(sa.select(ScoreOutbox.id, ScoreOutbox.score_given, ScoreOutbox.status,
                                            ScoreOutbox.score_timestamp).order_by(ScoreOutbox.id)).all()
        assert rows, "the scores were queued"
        # What the database says now, published afresh:
        fresh = publishing._publish(course_id, now=utcnow(), person_id=student)
        db.session.rollback()
        db.session.remove()
    assert fresh == 0, "the LMS holds a score older than the student's current level"


def test_a_student_who_only_opened_practice_is_not_sent_a_grade_by_a_class_republish(sandbox, tool):
    # Serving a question creates the learner's lock row; it holds no level, so it must not make a grade.
    import re

    _setup(sandbox, tool, per_skill=False)
    drain_outbox(tool)
    noah = sandbox.launch("student-2")
    skill = re.search(r'href="([^"]*/practice/[^"?]+)', noah.text).group(1)
    assert noah.http.get(tool.url(skill) if skill.startswith("/") else skill).status_code == 200
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id))
        noah_id = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-2"))
        publishing.queue_course(course_id, now=utcnow())
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ScoreOutbox)
                                 .where(ScoreOutbox.person_id == noah_id)) == 0
