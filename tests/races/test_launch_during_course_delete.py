"""A launch into a course that a teacher deletes (the whole course's data) while the launch is under way.

The launch read the course (and its person), the deletion then removed the course, and the launch went on writing
rows that point at it: on SQLite (no row locks) the enrolment's INSERT failed on the foreign key, an HTTP 500. On
PostgreSQL the deletion, having deleted the enrolment, waited for the person the launch holds FOR SHARE while the
launch waited for the enrolment it had deleted: a deadlock, and the launch was the one aborted (a 500 too). The LMS
says the course exists, so a deletion of our copy of its data must not turn a launch away: the launch now lands in
a fresh copy of the course when the old one went before it wrote (SQLite, or a launch that had only read the
course), and on PostgreSQL a deletion that finds a launch holding one of the course's people waits for it first.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import (
    Course,
    CourseContent,
    DiagnosticRun,
    Enrollment,
    ItemResponse,
    LaunchSession,
    Person,
    ServedItem,
    SkillMastery,
)
from lti_tool.models.base import utcnow
from lti_tool.services import launches, privacy
from tests.races.support import demo_course, hold_first_call
from tests.support import PEOPLE


def _launch_posted(sandbox, as_: str) -> object:
    """Post a launch's id_token and return the tool's own answer to it (303 to the landing page, or an error)."""
    pending = sandbox.begin(as_)
    return pending.http.post(pending.action, data={"id_token": pending.id_token, "state": pending.state},
                             allow_redirects=False, timeout=30)


def _teacher_deletes_the_course(tool, deleted: list[object]) -> threading.Thread:
    def delete() -> None:
        with tool.app.app_context():
            teacher = db.session.scalars(sa.select(LaunchSession).join(Person).where(
                Person.sub == PEOPLE["teacher"]).order_by(LaunchSession.created_at.desc())).first()
            deleted.append(privacy.delete_course(teacher, typed_title="Grade 7 Mathematics", now=utcnow()))
            db.session.remove()

    thread = threading.Thread(target=delete)
    thread.start()
    return thread


@pytest.mark.parametrize(("who", "held"), [
    # A returning student: the launch read the course and the student in one row, holding the student.
    ("student", "_returning"),
    # Someone new to the course: the launch found the course (its first _find_or_insert) and holds nothing.
    ("student-3", "_find_or_insert"),
])
def test_a_launch_into_a_course_being_deleted_lands_in_the_course_not_on_an_error(sandbox, tool, monkeypatch,
                                                                                     who, held):
    demo_course(sandbox, tool)
    sandbox.platform.add_user("student-3", roles=["Learner"], name="Noor Haddad", context_id="math-7")
    reached, go = hold_first_call(monkeypatch, launches, held)
    posted: list[object] = []
    launch = threading.Thread(target=lambda: posted.append(_launch_posted(sandbox, who)))
    launch.start()
    assert reached.wait(20)  # the launch has read the course, and written nothing yet
    deleted: list[object] = []
    deleting = _teacher_deletes_the_course(tool, deleted)
    # SQLite: the deletion is done. PostgreSQL: done too, unless the launch holds a person of the course (the
    # returning student), whom the deletion then waits for.
    deleting.join(5)
    go.set()
    launch.join(30)
    deleting.join(30)
    assert not launch.is_alive() and not deleting.is_alive()
    assert len(deleted) == 1, deleted
    assert len(posted) == 1 and posted[0].status_code == 303, (posted[0].status_code, posted[0].text[:2000])

    sub = PEOPLE.get(who, who)
    with tool.app.app_context():
        course = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).first()
        if db.session.get_bind().dialect.name == "postgresql" and who == "student":
            # The deletion waited for the launch, which held the student, and then deleted the course with the
            # launch in it.
            assert course is None
        else:
            # The deletion went first: the launch made the course again, as the LMS's launch said it exists, and
            # opened its session there, for a person with none of the old course's data. (SQLite may give the new
            # course the old one's id: what tells them apart is what is in it.)
            assert course is not None and course.title == "Grade 7 Mathematics"
            assert db.session.get(CourseContent, course.id) is None  # the old course had the demo pack
            person = db.session.scalars(sa.select(Person).where(Person.sub == sub)).one()
            assert db.session.execute(sa.select(Enrollment.course_id, Enrollment.person_id)).all() \
                == [(course.id, person.id)]
            assert db.session.execute(sa.select(LaunchSession.course_id, LaunchSession.person_id).where(
                LaunchSession.expires_at > utcnow())).all() == [(course.id, person.id)]
        # Nothing of the old course's learning records is left, whichever went first.
        for model in (ItemResponse, SkillMastery, ServedItem, DiagnosticRun):
            assert not db.session.scalar(sa.select(sa.func.count()).select_from(model)), model.__tablename__
        db.session.remove()

    # Either way, the next launch opens the course.
    again = sandbox.launch(who)
    assert again.status_code == 200, again.text[:2000]
