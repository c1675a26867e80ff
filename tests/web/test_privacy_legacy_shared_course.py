"""Privacy and the shared "no-context" course earlier versions made for launches without a context.

Until placeholders, every Deep Linking request and Data Privacy Launch without a context joined one course per
deployment whose context id is "no-context", and enrolled whoever opened it (teachers, and students opening their
own privacy page). No launch joins it any more, but databases still hold it. It is a stand-in, not a course: an
enrolment there must not keep a person from being anonymised, goes with the person, and is no course of theirs in
an export or a count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Enrollment, LaunchSession, Person, SkillMastery
from lti_tool.privacy_cli import privacy_group
from tests.support import submit_form, teacher_of_another_course
from tests.test_privacy_cli import _user, run
from tests.web.test_privacy import (
    PRIVACY_LAUNCH,
    _course_with_two_students,
    _get,
    _ids,
    _link,
    _now,
    _privacy_launch,
    _privacy_launch_from,
)


def _legacy_shared_course(tool, *members: tuple[str, str]) -> int:
    """Make the "no-context" course an older version left, with these (sub, role) members and a session each."""
    with tool.app.app_context():
        math = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        shared = Course(platform_id=math.platform_id, deployment_id=math.deployment_id, context_id="no-context",
                        title="Untitled course", label="", created_at=_now() - timedelta(days=400),
                        last_launch_at=_now() - timedelta(days=60))
        db.session.add(shared)
        db.session.flush()
        for sub, role in members:
            person = db.session.scalar(sa.select(Person.id).where(Person.sub == sub))
            db.session.add_all([
                Enrollment(course_id=shared.id, person_id=person, role=role, active=True,
                           lti_roles="Instructor" if role == "teacher" else "Learner"),
                LaunchSession(id=f"old-{sub}", platform_id=math.platform_id, deployment_id=math.deployment_id,
                              course_id=shared.id, person_id=person, access=role, message_type=PRIVACY_LAUNCH,
                              details={"locale": "en"}, created_at=datetime(2025, 1, 1),
                              expires_at=datetime(2025, 1, 1, 2)),
            ])
        db.session.commit()
        return shared.id


def _person(tool, person_id: int) -> tuple[str, str, list[str]]:
    """Return a person's (name, sub, context ids of the courses they still have any row in)."""
    with tool.app.app_context():
        person = db.session.get(Person, person_id)
        held = sorted(set(db.session.scalars(
            sa.select(Course.context_id).join(Enrollment, Enrollment.course_id == Course.id)
            .where(Enrollment.person_id == person_id)
        )) | set(db.session.scalars(
            sa.select(Course.context_id).join(LaunchSession, LaunchSession.course_id == Course.id)
            .where(LaunchSession.person_id == person_id)
        )))
        return person.name, person.sub, held


def _anonymised(tool, person_id: int) -> bool:
    name, sub, held = _person(tool, person_id)
    return name == "" and sub.startswith("deleted-") and held == []


def test_a_student_deleted_from_their_only_course_is_anonymised_whatever_the_old_shared_course_holds(sandbox, tool):
    # Priya once opened her privacy page from the LMS, which enrolled her in the shared course.
    teacher, _ = _course_with_two_students(sandbox, tool)
    _, priya = _ids(tool, "student-1")
    _legacy_shared_course(tool, ("student-1", "student"))
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{priya}/delete"))
    done = submit_form(confirm, f"/privacy/students/{priya}/delete", confirm="yes")
    assert "Deleted the data of Priya Shah" in done.text
    # Her name, LMS id and her old enrolment and session there went with her data.
    assert _anonymised(tool, priya)


def test_a_teacher_privacy_launch_deleting_their_student_anonymises_them_past_the_old_shared_course(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    _, liam = _ids(tool, "student-2")
    _legacy_shared_course(tool, ("student-2", "student"))
    page = _privacy_launch(sandbox, "teacher", "student-2")
    assert page.status_code == 200 and "in 1 course reached" in page.text  # math-7, not the stand-in
    confirm = _get(page, tool, _link(page, "/privacy/user/delete"))
    assert "data is deleted" in submit_form(confirm, "/privacy/user/delete", confirm="yes").text
    assert _anonymised(tool, liam)


def test_purging_a_teachers_only_course_anonymises_them_and_the_old_shared_course_retires_itself(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    teacher_of_another_course(sandbox)
    _, sam = _ids(tool, "teacher-sci")
    _, priya = _ids(tool, "student-1")
    shared = _legacy_shared_course(tool, ("teacher-sci", "teacher"), ("student-1", "student"))
    with tool.app.app_context():
        db.session.execute(sa.update(Course).where(Course.context_id == "science-8")
                           .values(last_launch_at=datetime(2020, 1, 1), created_at=datetime(2020, 1, 1)))
        db.session.commit()
    tool.app.config["RETENTION_DAYS"] = 365
    # Only science-8 is idle past the retention period: the stand-in was last used 60 days ago (no launch uses it now).
    done = run(tool, privacy_group, "purge", "--days", "365")
    assert "Deleted 1 courses" in done.output and "science-8" in done.output
    assert _anonymised(tool, sam)
    # Priya still has math-7: her enrolment in the stand-in is left until her own erasure or the stand-in's purge.
    assert _person(tool, priya) == ("Priya Shah", "student-1", ["math-7", "no-context"])
    # Once idle for the retention period itself, the stand-in goes like any idle course, and Priya keeps math-7.
    later = run(tool, privacy_group, "purge", "--days", "30")
    assert "no-context" in later.output
    with tool.app.app_context():
        assert db.session.get(Course, shared) is None
    assert _person(tool, priya) == ("Priya Shah", "student-1", ["math-7"])


def test_a_teachers_own_data_lists_no_old_shared_course_and_their_erasure_removes_it(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    teacher_of_another_course(sandbox)
    _, sam = _ids(tool, "teacher-sci")
    _legacy_shared_course(tool, ("teacher-sci", "teacher"))
    own = _privacy_launch_from(sandbox, "teacher-sci", "teacher-sci", "science-8")
    assert own.status_code == 200 and "in 1 course reached" in own.text
    data = _get(own, tool, _link(own, "/privacy/my-data.json")).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["science-8"]
    page = _get(own, tool, _link(own, "/privacy/my-data.html"))
    assert "Untitled course" not in page.text and "no-context" not in page.text
    confirm = _get(own, tool, _link(own, "/privacy/user/delete"))
    assert "data is deleted" in submit_form(confirm, "/privacy/user/delete", confirm="yes").text
    assert _anonymised(tool, sam)


def test_the_administrators_export_and_erasure_treat_the_old_shared_course_as_no_course(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    _, priya = _ids(tool, "student-1")
    _legacy_shared_course(tool, ("student-1", "student"))
    exported = run(tool, privacy_group, "export", *_user(tool))
    assert exported.exit_code == 0, exported.output
    assert "no-context" not in exported.output
    deleted = run(tool, privacy_group, "delete", *_user(tool), "--yes")
    assert "in 1 courses" in deleted.output and "person anonymised" in deleted.output
    assert _anonymised(tool, priya)


def _known_only_through_the_old_shared_course(sandbox, tool) -> int:
    """Make "teacher-elsewhere" (Sam Lee), whose only rows are in the old shared course; return their id."""
    assert sandbox.launch("teacher").status_code == 200
    with tool.app.app_context():
        math = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        db.session.add(Person(platform_id=math.platform_id, sub="teacher-elsewhere", name="Sam Lee"))
        db.session.commit()
    _, sam = _ids(tool, "teacher-elsewhere")
    _legacy_shared_course(tool, ("teacher-elsewhere", "teacher"))
    return sam


def test_a_person_known_only_through_the_old_shared_course_is_erased_by_the_administrator(sandbox, tool):
    sam = _known_only_through_the_old_shared_course(sandbox, tool)
    exported = run(tool, privacy_group, "export", *_user(tool, "teacher-elsewhere"))
    assert exported.exit_code == 0 and '"courses": []' in exported.output
    deleted = run(tool, privacy_group, "delete", *_user(tool, "teacher-elsewhere"), "--yes")
    assert "in 0 courses" in deleted.output and "person anonymised" in deleted.output
    assert _anonymised(tool, sam)


def test_learning_records_someone_left_in_the_old_shared_course_are_still_theirs_to_read(sandbox, tool):
    # Sessions of older versions could open the shared course's pages; whatever a person's rows there hold beyond
    # the enrolment is their data, and a right of access does not skip it.
    _course_with_two_students(sandbox, tool)
    _, priya = _ids(tool, "student-1")
    shared = _legacy_shared_course(tool, ("student-1", "student"))
    with tool.app.app_context():
        db.session.add(SkillMastery(course_id=shared, person_id=priya, skill_id="fractions", state={},
                                    level="Familiar", reason="a level in the old course", updated_at=_now()))
        db.session.commit()
    own = _privacy_launch(sandbox, "student", "student-1")
    data = _get(own, tool, _link(own, "/privacy/my-data.json")).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7", "no-context"]
    deleted = run(tool, privacy_group, "delete", *_user(tool), "--yes")
    assert "in 2 courses" in deleted.output
    assert _anonymised(tool, priya)


def test_a_teacher_known_only_through_the_old_shared_course_may_delete_their_own_data(sandbox, tool):
    # Their privacy page said it held no course data and offered no deletion: their name and LMS id stayed.
    sam = _known_only_through_the_old_shared_course(sandbox, tool)
    sandbox.platform.add_user("teacher-elsewhere", roles=["Instructor"], name="Sam Lee")
    own = _privacy_launch_from(sandbox, "teacher-elsewhere", "teacher-elsewhere", None)
    assert own.status_code == 200, own.text[:300]
    assert "It still keeps their name and LMS user id from an earlier launch." in own.text
    confirm = _get(own, tool, _link(own, "/privacy/user/delete"))
    assert "data is deleted" in submit_form(confirm, "/privacy/user/delete", confirm="yes").text
    assert _anonymised(tool, sam)
