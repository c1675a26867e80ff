"""Privacy and the shared "no-context" course earlier versions made for launches without a context.

Until placeholders, every Deep Linking request and Data Privacy Launch without a context joined one course per
deployment whose context id was "no-context" (migration 0023 marks it LEGACY_SHARED_CONTEXT), and enrolled whoever
opened it (teachers, and students opening their
own privacy page). No launch joins it any more, but databases still hold it. It is a stand-in, not a course: an
enrolment there must not keep a person from being anonymised, goes with the person, and is no course of theirs in
an export or a count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Deployment, Enrollment, LaunchSession, Person, SkillMastery
from lti_tool.privacy_cli import privacy_group, shown_id
from lti_tool.services.launches import LEGACY_SHARED_CONTEXT
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
    """Make the shared course an older version left (as migration 0023 marks it), with these (sub, role) members and a session each."""
    with tool.app.app_context():
        math = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        shared = Course(platform_id=math.platform_id, deployment_id=math.deployment_id, context_id=LEGACY_SHARED_CONTEXT,
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
    assert "Deleted 1 course with" in done.output and "science-8" in done.output
    assert _anonymised(tool, sam)
    # Priya still has math-7: her enrolment in the stand-in is left until her own erasure or the stand-in's purge.
    assert _person(tool, priya) == ("Priya Shah", "student-1", [LEGACY_SHARED_CONTEXT, "math-7"])
    # Once idle for the retention period itself, the stand-in goes like any idle course, and Priya keeps math-7.
    later = run(tool, privacy_group, "purge", "--days", "30")
    assert shown_id(LEGACY_SHARED_CONTEXT) in later.output
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
    assert "Untitled course" not in page.text and "legacy-no-context" not in page.text
    confirm = _get(own, tool, _link(own, "/privacy/user/delete"))
    assert "data is deleted" in submit_form(confirm, "/privacy/user/delete", confirm="yes").text
    assert _anonymised(tool, sam)


def test_the_administrators_export_and_erasure_treat_the_old_shared_course_as_no_course(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    _, priya = _ids(tool, "student-1")
    _legacy_shared_course(tool, ("student-1", "student"))
    exported = run(tool, privacy_group, "export", *_user(tool))
    assert exported.exit_code == 0, exported.output
    assert "legacy-no-context" not in exported.output
    deleted = run(tool, privacy_group, "delete", *_user(tool), "--yes")
    assert "in 1 course:" in deleted.output and "person anonymised" in deleted.output
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
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7", LEGACY_SHARED_CONTEXT]
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


def _in_art_club(sandbox, tool, sub: str) -> int:
    """Launch `sub` into a real LMS course whose context id is literally "no-context" (Art club); return its id."""
    art = sandbox.platform.add_course("no-context", "Art club", "ART")
    sandbox.platform.add_resource_link("pathways-home", "Pathways", context_id="no-context")
    if sandbox.sub(sub) not in art.members:
        art.members.append(sandbox.sub(sub))  # enrolled in Art club too, as the LMS says
    page = sandbox.launch(sub, context_id="no-context")
    assert page.status_code == 200, page.text[:300]
    with tool.app.app_context():
        return db.session.scalar(sa.select(Course.id).where(Course.context_id == "no-context"))


def _rows_in(tool, course_id: int, person_id: int) -> tuple[int, int]:
    """Return the person's (enrolments, launch sessions) in the course."""
    with tool.app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(
            model.course_id == course_id, model.person_id == person_id)) for model in (Enrollment, LaunchSession))


def test_a_real_course_whose_context_id_is_no_context_is_a_course_like_any_other(sandbox, tool):
    # An LMS course may be called "no-context"; only the stand-in older versions made (marked by migration 0023)
    # is no course of anyone's. Priya is a student of Art club (context id "no-context") and of math-7.
    teacher, _ = _course_with_two_students(sandbox, tool)
    _, priya = _ids(tool, "student-1")
    art = _in_art_club(sandbox, tool, "student-1")
    assert _rows_in(tool, art, priya) == (1, 1)
    # Her own privacy page counts and exports Art club (it holds only her enrolment and launch so far).
    own = _privacy_launch(sandbox, "student", "student-1")
    assert "in 2 courses reached" in own.text
    data = _get(own, tool, _link(own, "/privacy/my-data.json")).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7", "no-context"]
    # The math-7 teacher deletes her data in math-7: Art club's enrolment and session stay, and so does her name.
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{priya}/delete"))
    assert "Deleted the data of Priya Shah" in submit_form(confirm, f"/privacy/students/{priya}/delete",
                                                            confirm="yes").text
    name, sub, held = _person(tool, priya)
    assert (name, sub) == ("Priya Shah", "student-1") and "no-context" in held
    assert _rows_in(tool, art, priya)[0] == 1


def test_the_art_club_teacher_reaches_their_student_through_a_privacy_launch(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    art = _in_art_club(sandbox, tool, "student-1")
    sandbox.platform.add_user("teacher-art", roles=["Instructor"], name="Ada Art", context_id="no-context")
    assert _in_art_club(sandbox, tool, "teacher-art") == art
    page = _privacy_launch_from(sandbox, "teacher-art", "student-1", "no-context")
    assert page.status_code == 200, page.text[:300]
    assert "in 1 course reached" in page.text


def test_a_deletion_leaves_another_deployments_old_shared_course_alone(sandbox, tool):
    # The stand-in is one per deployment; a teacher of deployment A has no say over deployment B's.
    teacher, _ = _course_with_two_students(sandbox, tool)
    _, priya = _ids(tool, "student-1")
    with tool.app.app_context():
        math = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        other = Deployment(platform_id=math.platform_id, deployment_id="another-school")
        db.session.add(other)
        db.session.flush()
        theirs = Course(platform_id=math.platform_id, deployment_id=other.id, context_id=LEGACY_SHARED_CONTEXT,
                        title="Untitled course", label="")
        db.session.add(theirs)
        db.session.flush()
        db.session.add(Enrollment(course_id=theirs.id, person_id=priya, role="student", lti_roles="Learner",
                                  active=True))
        db.session.commit()
        theirs_id = theirs.id
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{priya}/delete"))
    assert "Deleted the data of Priya Shah" in submit_form(confirm, f"/privacy/students/{priya}/delete",
                                                            confirm="yes").text
    assert _rows_in(tool, theirs_id, priya)[0] == 1
    # Her rows there still name her, so she keeps her name until that deployment (or the operator) erases her.
    assert _person(tool, priya)[:2] == ("Priya Shah", "student-1")
    deleted = run(tool, privacy_group, "delete", *_user(tool), "--yes")
    assert "person anonymised" in deleted.output and _anonymised(tool, priya)


def test_the_administrator_names_the_old_shared_course_as_purge_shows_it(sandbox, tool):
    # "--context no-context" said the user had no enrolment there; the stand-in's id now has a control character,
    # so the command takes it as `pathways privacy purge` prints it.
    _course_with_two_students(sandbox, tool)
    _, priya = _ids(tool, "student-1")
    _legacy_shared_course(tool, ("student-1", "student"))
    shown = shown_id(LEGACY_SHARED_CONTEXT)
    assert shown == "\\x1flegacy-no-context"
    exported = run(tool, privacy_group, "export", *_user(tool), "--context", shown)
    assert exported.exit_code == 0, exported.output
    assert '"context_id": "\\u001flegacy-no-context"' in exported.output
    deleted = run(tool, privacy_group, "delete", *_user(tool), "--context", shown, "--yes")
    assert "in 1 course:" in deleted.output and "anonymised" not in deleted.output
    assert _person(tool, priya) == ("Priya Shah", "student-1", ["math-7"])
    # The audit log of that course is asked for by the same printed id.
    from lti_tool.privacy_cli import audit_group

    audit = run(tool, audit_group, "list", "--course", shown)
    assert audit.exit_code == 0 and "No audit entries." not in audit.output, audit.output
