"""What a person's records hold beyond their learning: launch sessions, who read the records, and rows an erase
must find although the enrolment is gone."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs import worker
from lti_tool.models import AuditEntry, Course, Enrollment, LaunchSession, Person, Placement, ScoreOutbox
from lti_tool.models.base import utcnow
from lti_tool.privacy_cli import privacy_group
from tests.support import CLAIM, drain_outbox, launch_with_presentation, submit_form
from tests.test_privacy_cli import _user, run
from tests.web.test_privacy import PER_STUDENT, PRIVACY_LAUNCH, _counts, _course_with_two_students, _get, _ids, _link

CUSTOM = {"user_email": "priya.shah@example.edu", "sis_id": "S-12345", "pathways_placement": "p-1"}


def _sessions(tool, **where) -> list[LaunchSession]:
    with tool.app.app_context():
        found = list(db.session.scalars(sa.select(LaunchSession).filter_by(**where).order_by(LaunchSession.created_at)))
        db.session.expunge_all()
        return found


def _privacy_launch(sandbox, as_: str, for_user: str):
    return sandbox.launch(as_, message_type=PRIVACY_LAUNCH, claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": for_user}})


def test_a_launch_keeps_only_the_custom_parameters_pathways_reads(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student", custom=CUSTOM)
    _, priya = _ids(tool, "student-1")
    [session] = _sessions(tool, person_id=priya)
    assert session.details["custom"] == {"pathways_placement": "p-1"}
    assert "priya.shah@example.edu" not in repr(session.details) and "S-12345" not in repr(session.details)


def test_the_worker_deletes_launch_sessions_ended_long_ago_a_batch_per_pass(sandbox, tool, monkeypatch):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    for _ in range(3):
        sandbox.launch("student")
    _, priya = _ids(tool, "student-1")
    old, recent = _sessions(tool, person_id=priya)[:2], _sessions(tool, person_id=priya)[2]
    with tool.app.app_context():
        db.session.execute(sa.update(LaunchSession).where(LaunchSession.id.in_([s.id for s in old]))
                           .values(expires_at=utcnow() - timedelta(days=400)))
        # Ended yesterday: within LAUNCH_SESSION_KEEP_DAYS, kept (a family report reads its language).
        db.session.execute(sa.update(LaunchSession).where(LaunchSession.id == recent.id)
                           .values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    monkeypatch.setattr(worker, "LAUNCH_DELETE_BATCH", 1)
    assert drain_outbox(tool).passes == 1  # nothing to post: one pass
    assert len(_sessions(tool, person_id=priya)) == 2
    drain_outbox(tool)
    assert [s.id for s in _sessions(tool, person_id=priya)] == [recent.id]
    assert len(_sessions(tool)) == 2  # the teacher's live launch and Priya's recent one


def test_the_worker_carries_on_when_deleting_ended_launches_fails(sandbox, tool, monkeypatch):
    from lti_tool.services import launches

    def fail(*args, **kwargs):
        raise sa.exc.OperationalError("DELETE", {}, Exception("lock timeout"))

    monkeypatch.setattr(launches, "delete_ended_launches", fail)
    stats = drain_outbox(tool)
    assert stats.passes == 1 and stats.errors == {} and stats.launches_deleted == 0


def test_deleting_a_students_data_deletes_the_privacy_launches_that_name_them(sandbox, tool):
    teacher, _ = _course_with_two_students(sandbox, tool)
    _privacy_launch(sandbox, "teacher", "student-1")
    _privacy_launch(sandbox, "teacher", "student-2")
    course_id, gone = _ids(tool, "student-1")

    def naming(sub):
        return [s for s in _sessions(tool) if (s.details.get("for_user") or {}).get("user_id") == sub]

    assert naming("student-1") and naming("student-2")
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{gone}/delete"))
    assert submit_form(confirm, f"/privacy/students/{gone}/delete", confirm="yes").status_code == 200
    assert naming("student-1") == [] and naming("student-2")
    assert _sessions(tool, person_id=gone) == []


def test_an_erasure_leaves_no_launch_session_naming_the_erased_user(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    sandbox.launch("student", custom=CUSTOM)
    _privacy_launch(sandbox, "teacher", "student-1")
    result = run(tool, privacy_group, "delete", *_user(tool), "--yes")
    assert result.exit_code == 0, result.output
    _, gone = _ids(tool, "student-1")
    with tool.app.app_context():
        gone = db.session.scalar(sa.select(Person.id).where(Person.name == "Priya Shah")) or gone
    left = [(s.person_id, s.details) for s in _sessions(tool)]
    assert not any("student-1" in repr(details) for _, details in left), left
    assert not any(person_id == gone for person_id, _ in left), left


def test_a_students_export_lists_their_launches_and_who_read_their_records_by_role(sandbox, tool):
    teacher, students = _course_with_two_students(sandbox, tool)
    course_id, priya = _ids(tool, "student-1")
    launch_with_presentation(sandbox, "student", locale="es-MX")
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    assert _get(privacy, tool, _link(privacy, f"/privacy/students/{priya}.json")).status_code == 200
    # Another course's audit entry about Priya, and one about Liam here: neither is in her record of this course.
    _, liam = _ids(tool, "student-2")
    with tool.app.app_context():
        platform_id = db.session.scalar(sa.select(Course.platform_id).where(Course.id == course_id))
        db.session.add_all([
            AuditEntry(platform_id=platform_id, course_id=course_id + 1000, actor_id=None, subject_id=priya,
                       action="export", at=utcnow()),
            AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=None, subject_id=liam,
                       action="delete_student", at=utcnow()),
        ])
        db.session.commit()

    home = students["student"]
    mine = _get(home, tool, _link(home, "/privacy/"))
    record = _get(mine, tool, _link(mine, "/privacy/my-data.json")).json()["courses"][0]
    assert [a["action"] for a in record["access_log"]] == ["export"]
    assert record["access_log"][0]["by"] == "teacher" and record["access_log"][0]["at"]
    assert "Ms. Rivera" not in repr(record["access_log"])
    launches = record["launches"]
    assert launches and all(launch["message_type"] == "LtiResourceLinkRequest" for launch in launches)
    assert "es-MX" in [launch["locale"] for launch in launches]
    assert all(set(launch["custom_parameters"]) <= {"pathways_placement"} for launch in launches)

    page = _get(mine, tool, _link(mine, "/privacy/my-data.html"))
    assert "Who viewed or changed these records" in page.text and 'data-testid="export-access-log"' in page.text
    assert "Launches from the LMS" in page.text and "language es-MX" in page.text


def test_an_erase_finds_the_rows_of_a_course_whose_enrolment_is_gone(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    course_id, priya = _ids(tool, "student-1")
    # What a write that raced a teacher's delete used to leave: learning rows, the enrolment gone.
    with tool.app.app_context():
        db.session.execute(sa.delete(Enrollment).where(Enrollment.person_id == priya))
        db.session.commit()
    left = {table: count for table, count in _counts(tool, course_id, priya).items() if count}
    assert len(left) >= len(PER_STUDENT) - 1, left

    exported = run(tool, privacy_group, "export", *_user(tool))
    assert exported.exit_code == 0 and "math-7" in exported.output, exported.output[:300]
    result = run(tool, privacy_group, "delete", *_user(tool), "--yes")
    assert result.exit_code == 0, result.output
    assert not any(_counts(tool, course_id, priya).values()), _counts(tool, course_id, priya)
    with tool.app.app_context():
        person = db.session.get(Person, priya)
        assert person.name == "" and person.sub.startswith("deleted-")


def test_the_readable_export_reads_the_grades_once_and_names_each_ones_gradebook_column(sandbox, tool):
    # The page's gradebook column names were read in a second query of the same grade rows (and had to be kept in
    # step with the export's by hand): one query now gives the grades and their placements' titles.
    from tests.perf.test_statement_counts import StatementCounter

    _, students = _course_with_two_students(sandbox, tool)
    home = students["student"]
    privacy = _get(home, tool, _link(home, "/privacy/"))
    with tool.app.app_context():
        course_id, priya = _ids(tool, "student-1")
        placement = db.session.scalar(sa.select(Placement.id).where(Placement.course_id == course_id))
        db.session.execute(sa.update(Placement).where(Placement.id == placement).values(title="Unit 1 practice"))
        db.session.add(ScoreOutbox(course_id=course_id, placement_id=placement, person_id=priya, skill_id="x",
                                   score_given=1, score_maximum=2, activity_progress="Completed",
                                   grading_progress="FullyGraded", score_timestamp=utcnow()))
        db.session.commit()
        counter = StatementCounter(db.engine)
    try:
        with counter.counting() as seen:
            page = _get(privacy, tool, _link(privacy, "/privacy/my-data.html"))
    finally:
        counter.close()
    assert page.status_code == 200
    # Oldest first, as in the JSON export: the placement's own column, then a per-skill one (an unknown skill's id).
    assert page.text.index("in the gradebook column “Unit 1 practice”") \
        < page.text.index("in the gradebook column “Unit 1 practice – x”")
    grade_reads = [s for s in seen if "FROM score_outbox" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(grade_reads) == 1, grade_reads


def test_a_launch_that_is_no_privacy_launch_keeps_no_for_user_naming_someone_else(sandbox, tool):
    # A platform may send for_user with any launch; only a Data Privacy Launch needs it. Kept from a teacher's
    # ordinary launch, it named the student after their data was deleted (the deletion looks in privacy launches).
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    sandbox.launch("teacher", claim_overrides={CLAIM + "for_user": {"user_id": "student-1", "name": "Priya Shah"}})
    _, teacher = _ids(tool, sandbox.sub("teacher"))
    sessions = _sessions(tool, person_id=teacher)
    assert len(sessions) == 2
    assert all("for_user" not in session.details and "student-1" not in repr(session.details) for session in sessions)
