"""A launch reads its person, a teacher's deletion anonymises that person, and only then does the launch write.

PostgreSQL keeps the deletion out (the launch holds the person FOR SHARE). SQLite has no row locks: the launch
enrolled the anonymised row in the new course and gave it the session, and wrote the LMS's name back onto it, so
the erased person had a name again and work that no launch from the LMS would ever find. Now the launch reads the
person again once it writes (SQLite's write lock then keeps the deletion out) and, finding them anonymised, goes
on as a first launch would: a new person, nothing of the old data.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Enrollment, ItemResponse, LaunchSession, Person, SkillMastery
from lti_tool.models.base import utcnow
from lti_tool.services import launches, privacy
from tests.races.support import hold_first_call
from tests.support import teacher_of_another_course
from tests.web.test_privacy import _course_with_two_students


def test_a_launch_that_read_a_person_a_deletion_then_anonymised_starts_a_new_person(sandbox, tool, monkeypatch):
    _course_with_two_students(sandbox, tool)  # Liam (student-2) is in math-7 only, with answers and levels there
    teacher_of_another_course(sandbox)
    sandbox.platform.add_user("student-2", roles=["Learner"], name="Liam O'Brien", context_id="science-8")
    with tool.app.app_context():
        liam = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-2"))
        # The LMS has changed his name since: a launch that writes it writes it onto his row.
        db.session.execute(sa.update(Person).where(Person.id == liam).values(name="Liam (old name)"))
        db.session.commit()
    reached, go = hold_first_call(monkeypatch, launches, "_returning")
    pages: list[object] = []
    launch = threading.Thread(target=lambda: pages.append(sandbox.launch("student-2", context_id="science-8")))
    launch.start()
    assert reached.wait(20)  # his first launch in science-8 has read him (and science-8)
    deleted: list[object] = []

    def delete() -> None:
        with tool.app.app_context():
            teacher = db.session.scalars(sa.select(LaunchSession).join(Person).join(Course).where(
                Person.sub == "teacher", Course.context_id == "math-7")).first()
            deleted.append(privacy.delete_student(teacher, liam, confirmed=True, now=utcnow()))
            db.session.remove()

    deleting = threading.Thread(target=delete)
    deleting.start()
    deleting.join(3)  # SQLite: done, he is anonymised; PostgreSQL: waits for the launch to commit
    go.set()
    launch.join(30)
    deleting.join(30)
    assert not launch.is_alive() and not deleting.is_alive()
    assert len(deleted) == 1 and pages and pages[0].status_code == 200, (deleted, pages)

    with tool.app.app_context():
        erased = db.session.scalars(sa.select(Person).where(Person.sub.like(privacy.ANONYMISED_SUB + "%"))).all()
        # SQLite: the deletion went first and anonymised him (math-7 was his only course); PostgreSQL: it waited
        # and found him enrolled in science-8.
        assert len(erased) == (1 if db.engine.dialect.name == "sqlite" else 0)
        for person in erased:
            assert (person.name, person.email) == ("", None)
            for model in (Enrollment, LaunchSession, ItemResponse, SkillMastery):
                assert not db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                             .where(model.person_id == person.id)), (model.__tablename__, person.id)
        # Whoever the LMS's student-2 is now (his row, where the deletion waited for the launch, or a new one): in
        # science-8, as the launch says, with a session, and none of his math-7 data back.
        now_liam = db.session.scalars(sa.select(Person).where(Person.sub == "student-2")).one()
        assert now_liam.name == "Liam O'Brien"
        assert db.session.scalars(
            sa.select(Course.context_id).join(Enrollment).where(Enrollment.person_id == now_liam.id)).all() \
            == ["science-8"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LaunchSession).where(
            LaunchSession.person_id == now_liam.id, LaunchSession.expires_at > utcnow())) == 1
        for model in (ItemResponse, SkillMastery):
            assert not db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                         .where(model.person_id == now_liam.id)), model.__tablename__
        db.session.remove()
