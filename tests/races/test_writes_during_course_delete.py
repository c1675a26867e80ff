"""A teacher deletes the whole course while a student's answer, or a write naming one of its people elsewhere,
is under way.

The deletion locked the course's people FOR UPDATE before anything else (so that a launch holding one of them
commits first: test_launch_during_course_delete.py). An answer already holding its learner's lock then waited
for the person (its ItemResponse INSERT checks the foreign key: FOR KEY SHARE), while the deletion waited for the
answer's mastery rows: a deadlock on PostgreSQL, and one of the two lost its work with a 503. The deletion now
takes the learners' locks first, as every class-wide writer does, so it waits for the answer and then deletes it
with the rest of the course. SQLite has one writer at a time: the deletion waits for the answer's write lock.

FOR UPDATE on the people also held up, until the deletion committed, every row another course inserted that names
one of them (an enrolment, an answer: the foreign key's FOR KEY SHARE); the deletion now locks them FOR NO KEY
UPDATE, which still waits for a launch holding the person FOR SHARE but lets those inserts by (a learner's first
write, whose lock row the deletion cannot see yet, still goes with the course).

A model refit locks the course's content and then every mastery row; the deletion deleted the mastery rows and
then waited for the content: a deadlock too. It now locks the content first, as the refit does.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Enrollment, ItemResponse, LaunchSession, Person, ServedItem, SkillMastery
from lti_tool.models.base import utcnow
from lti_tool.models.learning import StudentGoal
from lti_tool.services import goals, mastery, model_fitting, privacy, publishing, serving, time_zones
from lti_tool.services.content import COURSE_GONE, course_pack
from lti_tool.services.errors import NotFound
from lti_tool.services.permissions import Actor
from lti_tool.services.privacy import Deletion
from tests.races.support import LockWait, at_once, demo_course, hold_first_call
from tests.support import teacher_of_another_course


def _delete_course(teacher: int) -> Deletion:
    teacher_launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == teacher)).first()
    return privacy.delete_course(teacher_launch, typed_title="Grade 7 Mathematics", now=utcnow())


def _delete_when_held(teacher: int, reached: threading.Event, go: threading.Event) -> list[Callable[[], object]]:
    """Return the calls that delete the course once the other writer is held, and let that writer go on later."""
    deleting = LockWait()

    def delete() -> Deletion:
        assert reached.wait(20)  # the writer holds what it holds, and waits
        with deleting.watching():
            return _delete_course(teacher)

    def release() -> None:
        assert reached.wait(20)
        try:
            # Once the deletion has taken what it takes and waits for the writer (on PostgreSQL for longer than
            # deadlock_timeout, so a deadlock would be found), or has finished without waiting.
            deleting.start_and_wait()
        finally:
            go.set()

    return [delete, release]


def test_a_course_deleted_while_an_answer_holds_its_learner_waits_for_the_answer_and_deletes_it(
        sandbox, tool, monkeypatch):
    course_id, _, student, teacher = demo_course(sandbox, tool)
    with tool.app.app_context():
        pack = course_pack(course_id)
        served = serving.serve_next(course_id, student, pack.skills[0].id, pack, now=utcnow())
        db.session.commit()  # an answer finds the learner's "*" row (serving made it) and locks it
        db.session.remove()
    reached, go = hold_first_call(monkeypatch, mastery, "_lock_skills")

    def answer() -> object:
        return mastery.record_answer(course_id, student, served.id, "999999 wrong", now=utcnow(), language="en")

    errors = at_once(tool.app, [answer, *_delete_when_held(teacher, reached, go)])
    assert not errors, [f"{type(exc).__name__}: {str(exc)[:300]}" for exc in errors]
    with tool.app.app_context():
        # The answer went first and the deletion took it with the course.
        assert db.session.get(Course, course_id) is None
        for model in (ItemResponse, SkillMastery, ServedItem):
            assert not db.session.scalar(sa.select(sa.func.count()).select_from(model)), model.__tablename__
        db.session.remove()


def test_a_course_being_deleted_does_not_hold_up_rows_naming_its_people_in_another_course(sandbox, tool,
                                                                                          monkeypatch):
    with tool.app.app_context():
        if db.engine.dialect.name != "postgresql":  # before the two courses: a skip needs neither
            pytest.skip("row locks: SQLite has one writer at a time")
    course_id, _, student, teacher = demo_course(sandbox, tool)
    teacher_of_another_course(sandbox)
    with tool.app.app_context():
        other = db.session.scalar(sa.select(Course.id).where(Course.context_id == "science-8"))
        db.session.remove()
    # The deletion has locked what it locks before deleting (it counts the grade posts it cancels next).
    reached, go = hold_first_call(monkeypatch, privacy, "_unsent_grades")

    def enrol_elsewhere() -> None:
        reached.wait(20)
        try:
            # Waiting for the deletion would fail here, not hang the test.
            db.session.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
            db.session.add(Enrollment(course_id=other, person_id=student, role="student", active=True))
            db.session.commit()
        finally:
            go.set()

    errors = at_once(tool.app, [lambda: _delete_course(teacher), enrol_elsewhere])
    assert not errors, [f"{type(exc).__name__}: {str(exc)[:300]}" for exc in errors]
    with tool.app.app_context():
        # The deletion saw the new enrolment (committed before it looked) and kept the student as they are.
        assert db.session.get(Course, course_id) is None
        assert db.session.execute(sa.select(Enrollment.course_id).where(Enrollment.person_id == student)).all() \
            == [(other,)]
        assert db.session.get(Person, student).name == "Priya Shah"
        db.session.remove()


def test_a_course_deleted_while_a_refit_holds_its_content_waits_for_the_refit(sandbox, tool, monkeypatch):
    course_id, _, student, teacher = demo_course(sandbox, tool)
    with tool.app.app_context():
        pack = course_pack(course_id)
        served = serving.serve_next(course_id, student, pack.skills[0].id, pack, now=utcnow())
        mastery.record_answer(course_id, student, served.id, "999999 wrong", now=utcnow(), language="en")
        db.session.commit()
        db.session.remove()
    # The refit has locked the content and is about to rewrite the class's estimates.
    reached, go = hold_first_call(monkeypatch, model_fitting, "stored")

    errors = at_once(tool.app, [lambda: model_fitting.fit_course_model(course_id, utcnow()),
                                *_delete_when_held(teacher, reached, go)])
    assert not errors, [f"{type(exc).__name__}: {str(exc)[:300]}" for exc in errors]
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is None
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(SkillMastery))
        db.session.remove()


def test_a_course_deleted_while_a_learners_first_write_is_under_way_deletes_that_write_too(sandbox, tool,
                                                                                           monkeypatch):
    # The learner's lock row is new and not committed, so the deletion cannot lock it, and FOR NO KEY UPDATE on
    # the person does not wait for the row's insert either: the deletion waits when it deletes the course (the
    # insert holds it FOR KEY SHARE), and the writer's rows go with the course.
    course_id, _, student, teacher = demo_course(sandbox, tool)
    with tool.app.app_context():
        db.session.execute(sa.delete(SkillMastery).where(SkillMastery.person_id == student))
        db.session.commit()
        db.session.remove()
    reached, go = hold_first_call(monkeypatch, goals, "lock_learner_row")  # it made the learner's "*" row

    def write() -> object:
        return goals.add_goal(course_id, student, title="Finish fractions", why="", by_date="", skill_ids=[],
                              now=utcnow())

    errors = at_once(tool.app, [write, *_delete_when_held(teacher, reached, go)])
    assert not errors, [f"{type(exc).__name__}: {str(exc)[:300]}" for exc in errors]
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is None
        for model in (SkillMastery, StudentGoal):
            assert not db.session.scalar(sa.select(sa.func.count()).select_from(model)), model.__tablename__
        db.session.remove()


def _settings_writes(course_id: int, teacher: int) -> dict[str, tuple[object, str, Callable[[], object]]]:
    """Each course setting a teacher saves: (module, the read its save is held after, the save)."""
    actor = Actor(teacher, "instructor")
    return {
        "end date": (goals, "course_content",
                     lambda: goals.set_course_end(course_id, "2030-06-01", now=utcnow())),
        "time zone": (time_zones, "zone_named", lambda: time_zones.set_course_zone(course_id, "America/Chicago")),
        "grading": (publishing, "course_content",
                    lambda: publishing.set_grading(course_id, actor=actor, scheme="proficiency_share",
                                                   per_skill=True, now=utcnow())),
    }


@pytest.mark.parametrize("setting", ["end date", "time zone", "grading"])
def test_a_course_setting_saved_while_another_tab_deletes_the_course_says_the_data_is_gone(
        sandbox, tool, monkeypatch, setting):
    # The save read the course's row, the deletion then removed it, and the save's UPDATE met no row:
    # SQLAlchemy's StaleDataError, a 500. It is now refused with the words that say why.
    course_id, _, _, teacher = demo_course(sandbox, tool)
    module, read, save = _settings_writes(course_id, teacher)[setting]
    reached, go = hold_first_call(monkeypatch, module, read)

    errors = at_once(tool.app, [save, *_delete_when_held(teacher, reached, go)])
    assert [(type(exc), str(exc)) for exc in errors] == [(NotFound, COURSE_GONE)], [repr(e)[:300] for e in errors]
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is None
        db.session.remove()
