"""A teacher changes the grading scheme while "Recalculate and resend" (hers in another tab, or a colleague's) runs.

The resend read the course's scheme, then locked the learners and queued every score. A scheme change committed in
between, and its own resend went out first: the older resend then queued the old scheme's scores after it, newer
stamped, so the LMS kept grades in the scheme the teacher had just left, and the settings page said the new one.
The class-wide publish now locks the learners before it reads the scheme: a change committed meanwhile has its
resend wait for this one, and its scores are the last sent.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Person
from lti_tool.models.base import utcnow
from lti_tool.services import publishing
from lti_tool.services.permissions import Actor
from tests.races.support import hold_first_call
from tests.races.test_delete_during_write import _start_writer
from tests.services.test_per_skill_grades import _setup
from tests.support import drain_outbox


def _graded_on_four_points(sandbox, tool) -> tuple[int, int, Actor]:
    """One graded column on the four-point scheme, its scores sent; the student is Proficient on one skill."""
    _setup(sandbox, tool, per_skill=False)
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id))
        student = db.session.scalar(sa.select(Person.id).where(Person.name == "Priya Shah"))
        teacher = Actor(db.session.scalar(sa.select(Person.id).where(Person.id != student)), "instructor")
        publishing.set_grading(course_id, actor=teacher, scheme="four_point", per_skill=False, now=utcnow())
        db.session.remove()
    drain_outbox(tool)
    return course_id, student, teacher


def test_a_scheme_changed_while_a_resend_runs_is_the_one_the_gradebook_keeps(sandbox, tool, monkeypatch):
    course_id, student, teacher = _graded_on_four_points(sandbox, tool)
    app = tool.app
    # The resend is held once it has read the scheme (four-point).
    reached, go = hold_first_call(monkeypatch, publishing, "_scheme")

    outcome: list[object] = []
    thread = _start_writer(tool, lambda: publishing.republish_course(course_id, actor=teacher, now=utcnow()), outcome)
    assert reached.wait(10)
    # The change goes through unless it has to wait for the resend (fixed): then the resend goes on after 1 s.
    threading.Timer(1.0, go.set).start()
    with app.app_context():
        publishing.set_grading(course_id, actor=teacher, scheme="proficiency_share", per_skill=False, now=utcnow())
        db.session.remove()
    go.set()
    thread.join(20)
    assert not thread.is_alive() and len(outcome) == 1 and isinstance(outcome[0], publishing.Resent), outcome
    with app.app_context():
        assert publishing.grading_settings(course_id) == ("proficiency_share", False)
        # The newest score queued for the student is the one the current scheme gives: nothing left to send.
        assert publishing._publish(course_id, now=utcnow(), person_id=student) == 0
        db.session.rollback()
        db.session.remove()


def test_a_scheme_changed_while_a_students_level_changes_is_the_one_the_gradebook_keeps(sandbox, tool, monkeypatch):
    # One student's publish (an answer's, an override's) used the course's scheme as read before the learner's
    # lock: a change committed (with its class resend) in between was followed by this student's score in the old
    # scheme, newer stamped, for the LMS to keep.
    from lti_tool.learning.coursepack import load_pack
    from lti_tool.services import mastery
    from lti_tool.services.content import demo_pack_data

    course_id, student, teacher = _graded_on_four_points(sandbox, tool)
    app = tool.app
    last = load_pack(demo_pack_data()).skill_graph.topological_order()[-1]  # not started: any new level counts
    reached, go = hold_first_call(monkeypatch, mastery, "require_pack")  # the course read, before the lock

    outcome: list[object] = []
    thread = _start_writer(tool, lambda: mastery.override_level(course_id, student, last, "Mastered", note="Viva",
                                                                actor=teacher, now=utcnow()), outcome)
    assert reached.wait(10)
    with app.app_context():
        publishing.set_grading(course_id, actor=teacher, scheme="proficiency_share", per_skill=False, now=utcnow())
        db.session.remove()
    go.set()
    thread.join(20)
    assert not thread.is_alive() and len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    with app.app_context():
        # The newest score queued for the student is the one the current scheme gives: nothing left to send.
        assert publishing._publish(course_id, now=utcnow(), person_id=student) == 0
        db.session.rollback()
        db.session.remove()
