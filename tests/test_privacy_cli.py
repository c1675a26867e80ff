"""The administrator's privacy commands: export and delete a user's data, purge old courses, read the audit log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.extensions import db
from lti_tool.models import (
    AuditEntry,
    Course,
    CourseContent,
    Enrollment,
    ItemResponse,
    LaunchSession,
    Person,
    SkillMastery,
)
from lti_tool.privacy_cli import audit_group, privacy_group
from tests.support import CLAIM, add_sandbox_deployment, submit_form
from tests.web.test_isolation_walk import _launch_path
from tests.web.test_privacy import _answer_one_item, _now, _privacy_launch, _privacy_launch_from, _seed_records


def run(tool, group, *args, input=None):
    return CliRunner().invoke(group, list(args), obj=ScriptInfo(create_app=lambda: tool.app), input=input,
                              catch_exceptions=False)


def _user(tool, sub="student-1"):
    return ["--platform", tool.platform.issuer, "--client-id", "pathways-sandbox", "--user", sub]


def _course_where_priya_practised(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    _answer_one_item(tool, sandbox.launch("student"))
    sandbox.launch("student-2")
    _seed_records(tool, "student-1")


def _rows_of(tool, sub):
    with tool.app.app_context():
        person = db.session.scalars(sa.select(Person).where(Person.sub == sub)).first()
        if person is None:
            return None
        return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                                        .where(model.person_id == person.id))
                for model in (ItemResponse, SkillMastery, Enrollment)}


def test_a_learners_export_file_is_readable_by_its_owner_only_whatever_the_umask(sandbox, tool, tmp_path):
    import os
    import stat

    _course_where_priya_practised(sandbox, tool)
    out = tmp_path / "priya.json"
    before = os.umask(0o022)  # the usual one: a plain open() made the file readable by every account (0644)
    try:
        result = run(tool, privacy_group, "export", *_user(tool), "--context", "math-7", "--out", str(out))
    finally:
        os.umask(before)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text(encoding="utf-8"))["person"]["user_id"] == "student-1"


def test_admin_exports_a_learners_data_to_a_file(sandbox, tool, tmp_path):
    _course_where_priya_practised(sandbox, tool)
    out = tmp_path / "priya.json"
    result = run(tool, privacy_group, "export", *_user(tool), "--context", "math-7", "--out", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["person"] == {"platform": tool.platform.issuer, "user_id": "student-1", "name": "Priya Shah",
                                  "email": None}
    [record] = document["courses"]
    assert len(record["responses"]) == 2
    assert record["goals"][0]["title"] == "goal of student-1"
    assert "Liam" not in out.read_text(encoding="utf-8")

    unknown = CliRunner().invoke(privacy_group, ["export", *_user(tool, "nobody")],
                                 obj=ScriptInfo(create_app=lambda: tool.app))
    assert unknown.exit_code != 0 and "holds no data about user 'nobody'" in unknown.output


def test_admin_deletes_a_learners_data_and_the_audit_log_records_it(sandbox, tool):
    _course_where_priya_practised(sandbox, tool)
    assert all(_rows_of(tool, "student-1").values())
    refused = CliRunner().invoke(privacy_group, ["delete", *_user(tool)], input="n\n",
                                 obj=ScriptInfo(create_app=lambda: tool.app))
    assert refused.exit_code != 0 and all(_rows_of(tool, "student-1").values())

    result = run(tool, privacy_group, "delete", *_user(tool), "--yes")
    assert result.exit_code == 0, result.output
    assert "Deleted the data of student-1 in 1 course:" in result.output and "anonymised" in result.output
    assert _rows_of(tool, "student-1") is None  # anonymised: the sub is gone too
    with tool.app.app_context():
        erased = db.session.scalars(sa.select(Person).where(Person.sub.like("deleted-%"))).one()
        assert erased.name == "" and not any(
            db.session.scalar(sa.select(sa.func.count()).select_from(m).where(m.person_id == erased.id))
            for m in (ItemResponse, SkillMastery, Enrollment))
    assert all(_rows_of(tool, "student-2")[t] for t in ("enrollment",))

    listing = run(tool, audit_group, "list", "--course", "math-7").output
    assert "delete_student" in listing and f"subject {erased.id}" in listing
    assert "Priya" not in listing and "student-1" not in listing


def test_purge_dry_run_lists_a_course_not_launched_for_a_long_time_then_purge_deletes_it(sandbox, tool):
    _course_where_priya_practised(sandbox, tool)
    with tool.app.app_context():
        course = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        course_id = course.id
        course.last_launch_at = datetime(2020, 1, 1)
        db.session.commit()

    assert "Retention is off" in run(tool, privacy_group, "purge", "--dry-run").output
    tool.app.config["RETENTION_DAYS"] = 365
    dry = run(tool, privacy_group, "purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would delete 1 course with" in dry.output
    assert "math-7\tGrade 7 Mathematics\tlast launch 2020-01-01\t2 students" in dry.output
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is not None
        assert db.session.get(CourseContent, course_id) is not None
        assert not db.session.scalars(sa.select(AuditEntry)).all()

    done = run(tool, privacy_group, "purge")
    assert done.exit_code == 0, done.output
    assert "Deleted 1 course with" in done.output
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is None
        assert db.session.get(CourseContent, course_id) is None
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(ItemResponse))
        assert db.session.scalars(sa.select(AuditEntry)).one().action == "purge_course"
    assert "purge_course" in run(tool, audit_group, "list", "--course", str(course_id)).output
    assert "Would delete 0 courses" in run(tool, privacy_group, "purge", "--dry-run").output


def test_the_worker_applies_the_retention_period_to_idle_courses(make_tool):
    from datetime import datetime

    from lti_tool.extensions import db
    from lti_tool.jobs.worker import drain
    from lti_tool.models import Course
    from tests.support import SandboxActions

    tool = make_tool(RETENTION_DAYS=30)
    SandboxActions(tool).launch("teacher")
    with tool.app.app_context():
        db.session.execute(db.update(Course).values(last_launch_at=datetime(2020, 1, 1), created_at=datetime(2020, 1, 1)))
        db.session.commit()
    stats = drain(tool.app, once=True)
    assert stats.courses_purged == 1
    with tool.app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Course)) == 0
    assert drain(tool.app, once=True).courses_purged == 0  # not again within the hour


def _names(tool) -> dict[str, str]:
    with tool.app.app_context():
        return dict(db.session.execute(sa.select(Person.sub, Person.name)).all())


def test_purge_anonymises_people_who_only_opened_a_privacy_or_deep_linking_launch_once_their_session_ended(sandbox,
                                                                                                          tool):
    # Such a launch records the person with their name but enrols them in no course, so no course's purge reached
    # them: they kept their name (and email) for good. Nobody with an enrolment, or a session still open, is touched.
    _course_where_priya_practised(sandbox, tool)
    assert _privacy_launch(sandbox, "student-3", "student-3").status_code == 200
    sandbox.platform.add_user("teacher-2", roles=["Instructor"], name="Tomás Vidal", context_id="math-7")
    picker = sandbox.launch("teacher-2", message_type="LtiDeepLinkingRequest", claim_overrides={CLAIM + "context": None})
    assert picker.status_code == 200 and "/deep-link" in picker.url
    with tool.app.app_context():
        # Every session ended two days ago (the course itself was launched then too: it is kept) ...
        db.session.execute(sa.update(LaunchSession).values(expires_at=_now() - timedelta(days=2)))
        db.session.commit()
    # ... but student-4's privacy page is open now.
    assert _privacy_launch(sandbox, "student-4", "student-4").status_code == 200
    before = _names(tool)
    assert {"student-3", "teacher-2", "student-4"} <= set(before)

    done = run(tool, privacy_group, "purge", "--days", "30")
    assert done.exit_code == 0, done.output
    assert "Deleted 0 courses" in done.output and "Anonymised 2 people" in done.output
    after = _names(tool)
    assert "student-3" not in after and "teacher-2" not in after
    assert "Tomás Vidal" not in after.values() and before["student-3"] not in after.values()
    for sub in ("teacher", "student-1", "student-2", "student-4"):
        assert after[sub] == before[sub], sub
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)
                                 .where(Person.sub.like("deleted-%"), Person.name == "")) == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)
                                 .where(Course.context_id == "math-7")) == 1
    assert "Anonymised" not in run(tool, privacy_group, "purge", "--days", "30").output  # nobody twice


def test_the_purge_leaves_a_person_whose_first_course_launch_is_under_way(sandbox, tool, monkeypatch):
    # student-3 opened only her privacy page, two days ago: the purge anonymises such a person. But she is opening
    # her course at this moment: her launch has found her and written her enrolment, not yet committed. The purge
    # read "no enrolment" before that and erased her anyway, and her course work then belonged to nobody.
    import threading

    from lti_tool.services import launches
    from tests.races.support import LockWait, hold_first_call

    _course_where_priya_practised(sandbox, tool)
    assert _privacy_launch(sandbox, "student-3", "student-3").status_code == 200
    with tool.app.app_context():
        db.session.execute(sa.update(LaunchSession).values(expires_at=_now() - timedelta(days=2)))
        db.session.commit()
    reached, go = hold_first_call(monkeypatch, launches, "_upsert_enrollment")
    pages: list[object] = []
    launch = threading.Thread(target=lambda: pages.append(sandbox.launch("student-3")))
    launch.start()
    assert reached.wait(20)
    purged: list[object] = []
    with tool.app.app_context():
        purging = LockWait(db.engine)

        def purge_watched() -> None:
            with purging.watching():
                purged.append(run(tool, privacy_group, "purge", "--days", "30"))

        purge = threading.Thread(target=purge_watched)
        purge.start()
        try:
            purging.start_and_wait()  # the purge reads and reaches her before the launch commits
        finally:
            go.set()
    launch.join(30)
    purge.join(30)
    assert not launch.is_alive() and not purge.is_alive()
    assert purged[0].exit_code == 0, purged[0].output
    assert pages[0].status_code == 200
    names = _names(tool)
    assert names.get("student-3") == "Sofía García", names
    with tool.app.app_context():
        person = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-3"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)
                                 .where(Enrollment.person_id == person)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LaunchSession).where(
            LaunchSession.person_id == person, LaunchSession.expires_at > _now())) == 1


def _snapshot(tool) -> dict[str, list[str]]:
    """Every row of every table, as text: what a command that must change nothing is compared by."""
    with tool.app.app_context():
        found = {table.name: sorted(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
                 for table in db.metadata.sorted_tables}
        db.session.remove()
    return found


def _purge_counts(output: str) -> tuple[int, int]:
    """(courses, people anonymised) as `privacy purge` (or its dry run) reports them."""
    import re

    courses = int(re.search(r"(?:Would delete|Deleted) (\d+) courses?", output).group(1))
    people = re.search(r"(?:Would anonymise|Anonymised) (\d+) people", output)
    return courses, int(people.group(1)) if people else 0


def test_a_purge_dry_run_counts_the_people_a_real_purge_anonymises_and_changes_nothing(sandbox, tool):
    # The dry run listed the courses but not the people a real run then anonymised: those of the purged course
    # left with no other course, and those with no course at all whose last session ended (student-3 here).
    _course_where_priya_practised(sandbox, tool)
    assert _privacy_launch(sandbox, "student-3", "student-3").status_code == 200
    with tool.app.app_context():
        db.session.execute(sa.update(Course).where(Course.context_id == "math-7")
                           .values(last_launch_at=datetime(2020, 1, 1), created_at=datetime(2020, 1, 1)))
        db.session.execute(sa.update(LaunchSession).values(expires_at=_now() - timedelta(days=2)))
        db.session.commit()
    before = _snapshot(tool)

    dry = run(tool, privacy_group, "purge", "--days", "30", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert _snapshot(tool) == before  # nothing deleted, nobody anonymised, no audit entry
    done = run(tool, privacy_group, "purge", "--days", "30")
    assert done.exit_code == 0, done.output

    # The course's teacher and two students, and student-3.
    assert _purge_counts(dry.output) == _purge_counts(done.output) == (1, 4), (dry.output, done.output)
    assert "Would anonymise 4 people" in dry.output and "Anonymised 4 people" in done.output
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)
                                 .where(Person.sub.like("deleted-%"))) == 4


def _values_naming(tool, needles: list[str]) -> list[str]:
    """Every text or JSON value, in any column of any table, that holds one of these strings."""
    found = []
    with tool.app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, sa.String | sa.JSON)]
            for row in db.session.execute(sa.select(*columns)) if columns else ():
                for column, value in zip(columns, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    found += [f"{table.name}.{column.name} holds {needle!r}" for needle in needles
                              if value is not None and needle in text]
        db.session.remove()
    return found


def _anonymise_by_purge(tool) -> None:
    with tool.app.app_context():
        db.session.execute(sa.update(Course).where(Course.context_id == "math-7")
                           .values(last_launch_at=datetime(2020, 1, 1), created_at=datetime(2020, 1, 1)))
        db.session.commit()
    done = run(tool, privacy_group, "purge", "--days", "30")
    assert done.exit_code == 0 and "Deleted 1 course with" in done.output, done.output


def _anonymise_by_deleting_the_course(tool) -> None:
    from lti_tool.models.base import utcnow
    from lti_tool.services import privacy

    with tool.app.app_context():
        launch = db.session.scalars(sa.select(LaunchSession).join(Person).join(Course).where(
            Person.sub == "teacher", Course.context_id == "math-7")).first()
        privacy.delete_course(launch, typed_title="Grade 7 Mathematics", now=utcnow())
        db.session.remove()


def _anonymise_by_deleting_the_student(tool) -> None:
    from lti_tool.models.base import utcnow
    from lti_tool.services import privacy

    with tool.app.app_context():
        launch = db.session.scalars(sa.select(LaunchSession).join(Person).join(Course).where(
            Person.sub == "teacher", Course.context_id == "math-7")).first()
        zoe = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-9"))
        privacy.delete_student(launch, zoe, confirmed=True, now=utcnow())
        db.session.remove()


@pytest.mark.parametrize("anonymise", [_anonymise_by_purge, _anonymise_by_deleting_the_course,
                                       _anonymise_by_deleting_the_student])
def test_no_column_of_any_table_keeps_the_user_id_name_or_email_of_an_anonymised_person(make_tool, anonymise):
    # Another teacher's Data Privacy Launch about her, still open, kept her LMS user id in its session after a
    # course deletion or the retention purge anonymised her (a deletion of her data in a course forgot it).
    from tests.support import SandboxActions, teacher_of_another_course, teacher_with_demo_pack

    tool = make_tool(STORE_EMAIL=True)
    sandbox = SandboxActions(tool)
    teacher_with_demo_pack(sandbox)
    sandbox.platform.add_user("student-9", roles=["Learner"], name="Zoë Quintero", email="zoe.q@school.example",
                              context_id="math-7")
    _answer_one_item(tool, sandbox.launch("student-9"))
    _seed_records(tool, "student-9")
    teacher_of_another_course(sandbox)  # teacher-sci's courses and sessions are not touched by any of this
    _privacy_launch_from(sandbox, "teacher-sci", "student-9", "science-8")
    needles = ["student-9", "Zoë Quintero", "zoe.q@school.example"]
    assert {f.split(" holds ")[0] for f in _values_naming(tool, needles)} >= {
        "person.sub", "person.name", "person.email", "launch_session.details"}

    anonymise(tool)

    assert _values_naming(tool, needles) == []
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)
                                 .where(Person.sub.like("deleted-%"), Person.name == "", Person.email.is_(None))) >= 1


def test_a_typed_stand_in_id_of_a_long_link_names_the_course_its_launches_use():
    from lti_tool.lti.claims import link_context_id
    from lti_tool.privacy_cli import shown_id, typed_id

    for link_id in ("L1", "L" * 250):
        stored = link_context_id(link_id)
        assert typed_id(shown_id(stored)) == stored  # as printed by the CLI
        assert typed_id("\\x1flink:" + link_id) == stored  # as typed from the link's id


def test_the_purge_keeps_a_course_launched_after_it_was_listed(sandbox, tool, monkeypatch):
    # The purge lists the idle courses, then deletes them one by one. A class that came back in between was deleted
    # under the students' feet: the launch's session and first answers went with the course.
    import threading

    from lti_tool.services import privacy
    from tests.races.support import hold_first_call

    _course_where_priya_practised(sandbox, tool)
    with tool.app.app_context():
        course = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        course_id, course.last_launch_at = course.id, datetime(2020, 1, 1)
        db.session.commit()
    reached, go = hold_first_call(monkeypatch, privacy, "_idle_courses")  # listed, not yet locked
    purged: list[object] = []
    purge = threading.Thread(target=lambda: purged.append(run(tool, privacy_group, "purge", "--days", "30")))
    purge.start()
    assert reached.wait(20)
    assert sandbox.launch("student").status_code == 200
    go.set()
    purge.join(30)
    assert not purge.is_alive()
    assert purged[0].exit_code == 0, purged[0].output
    assert "Deleted 0 courses" in purged[0].output
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is not None
        assert not db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "purge_course")).all()


def test_the_purge_keeps_a_course_a_newcomer_is_launching_into_while_it_deletes(sandbox, tool, monkeypatch):
    # student-3 has never opened the course: the deletion's lock on the course's people does not wait for her. Her
    # launch has stamped the course and not committed when the purge judges the course idle.
    import threading

    from lti_tool.services import launches, privacy
    from tests.races.support import LockWait, hold_first_call

    _course_where_priya_practised(sandbox, tool)
    with tool.app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("row locks: on SQLite the purge holds the one write lock, and the launch waits for it")
        course = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        course_id, course.last_launch_at = course.id, datetime(2020, 1, 1)
        db.session.commit()
        purging = LockWait(db.engine)
    purging.started.set()  # watched from its start: it is held below before its wait counts
    purge_reached, purge_go = hold_first_call(monkeypatch, privacy, "_lock_people")
    purged: list[object] = []

    def purge_watched() -> None:
        with purging.watching():
            purged.append(run(tool, privacy_group, "purge", "--days", "30"))

    purge = threading.Thread(target=purge_watched)
    purge.start()
    assert purge_reached.wait(20)
    launch_reached, launch_go = hold_first_call(monkeypatch, launches, "_upsert_enrollment")
    pages: list[object] = []
    launch = threading.Thread(target=lambda: pages.append(sandbox.launch("student-3")))
    launch.start()
    assert launch_reached.wait(20)
    purge_go.set()
    try:
        purging.start_and_wait()  # the purge reaches its check and waits while the launch holds the course row
    finally:
        launch_go.set()
    launch.join(30)
    purge.join(30)
    assert not launch.is_alive() and not purge.is_alive()
    assert pages[0].status_code == 200
    assert "Deleted 0 courses" in purged[0].output, purged[0].output
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LaunchSession)
                                 .where(LaunchSession.course_id == course_id, LaunchSession.expires_at > _now()))


def _second_deployment_with_the_same_course(sandbox, tool) -> None:
    """Install Pathways a second time on the sandbox platform (deployment-2), where a course is also "math-7"."""
    add_sandbox_deployment(tool, "deployment-2")
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    goals = student.http.get(tool.url(_launch_path(student)) + "goals")
    goals.http = student.http
    submit_form(goals, "/goals", title="goal in deployment-2", why="practice")


def _goals_by_deployment(tool) -> dict[str, list[str]]:
    from lti_tool.models import Deployment, StudentGoal

    with tool.app.app_context():
        rows = db.session.execute(sa.select(Deployment.deployment_id, StudentGoal.title)
                                  .join(Course, Course.id == StudentGoal.course_id)
                                  .join(Deployment, Deployment.id == Course.deployment_id)).all()
    found: dict[str, list[str]] = {}
    for deployment_id, title in rows:
        found.setdefault(deployment_id, []).append(title)
    return found


def test_a_context_id_in_two_deployments_needs_the_deployment_before_anything_is_exported_or_deleted(sandbox, tool):
    # LTI makes a context id unique within a deployment only. `--context math-7` deleted the learner's data in
    # both deployments' "math-7" courses, though the operator named one course, and a deletion cannot be undone.
    _course_where_priya_practised(sandbox, tool)
    _second_deployment_with_the_same_course(sandbox, tool)
    before = _goals_by_deployment(tool)
    assert set(before) == {"sandbox-deployment-1", "deployment-2"}, before

    for command in (["delete", *_user(tool), "--context", "math-7", "--yes"],
                    ["export", *_user(tool), "--context", "math-7"]):
        refused = CliRunner().invoke(privacy_group, command, obj=ScriptInfo(create_app=lambda: tool.app))
        assert refused.exit_code != 0, refused.output
        assert "'deployment-2', 'sandbox-deployment-1'" in refused.output and "--deployment-id" in refused.output
        assert _goals_by_deployment(tool) == before
    with tool.app.app_context():
        # Nothing was exported or deleted: no entry about a course (the second deployment's is the admin's own).
        assert not db.session.scalars(sa.select(AuditEntry).where(AuditEntry.course_id.is_not(None))).all()

    exported = run(tool, privacy_group, "export", *_user(tool), "--context", "math-7", "--deployment", "sandbox-deployment-1")
    assert exported.exit_code == 0, exported.output
    assert len(json.loads(exported.output)["courses"]) == 1
    done = run(tool, privacy_group, "delete", *_user(tool), "--context", "math-7", "--deployment-id", "deployment-2",
               "--yes")
    assert done.exit_code == 0, done.output
    assert "in 1 course:" in done.output and "anonymised" not in done.output  # still enrolled in deployment-1
    assert _goals_by_deployment(tool) == {"sandbox-deployment-1": before["sandbox-deployment-1"]}
    unknown = CliRunner().invoke(privacy_group, ["export", *_user(tool), "--deployment-id", "deployment-9"],
                                 obj=ScriptInfo(create_app=lambda: tool.app))
    assert unknown.exit_code != 0 and "no deployment 'deployment-9'" in unknown.output

    # The audit log: "math-7" names a course in each deployment, so it asks which, and lists them.
    ambiguous = CliRunner().invoke(audit_group, ["list", "--course", "math-7"],
                                   obj=ScriptInfo(create_app=lambda: tool.app))
    assert ambiguous.exit_code != 0
    assert "--deployment-id sandbox-deployment-1" in ambiguous.output and "--deployment-id deployment-2" in ambiguous.output
    first = run(tool, audit_group, "list", "--course", "math-7", "--deployment-id", "sandbox-deployment-1").output
    second = run(tool, audit_group, "list", "--course", "math-7", "--deployment", "deployment-2").output
    assert "\texport\t" in first and "delete_student" not in first
    assert "delete_student" in second and "\texport\t" not in second
    both = run(tool, audit_group, "list", "--platform", tool.platform.issuer, "--client-id", "pathways-sandbox").output
    assert "\texport\t" in both and "delete_student" in both
    deployment = run(tool, audit_group, "list", "--deployment-id", "deployment-2").output
    assert "delete_student" in deployment and "\texport\t" not in deployment


def test_the_worker_anonymises_people_with_no_course_with_retention_off(make_tool):
    # Retention is off by default, and only the retention purge anonymised the people no course holds: someone who
    # only opened a Data Privacy Launch kept their name and email for good, with no enrolment and no session.
    from lti_tool.extensions import cache
    from lti_tool.jobs.worker import drain
    from tests.support import SandboxActions

    tool = make_tool(STORE_EMAIL=True)
    assert not tool.app.config["RETENTION_DAYS"]
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("parent-9", roles=["Instructor"], name="Dana Whitfield", email="dana@example.edu",
                           context_id="science-8")
    assert _privacy_launch_from(SandboxActions(tool), "parent-9", "parent-9", "science-8").status_code == 200
    assert drain(tool.app, once=True).people_anonymised == 0  # her privacy page is open
    with tool.app.app_context():
        assert db.session.scalars(sa.select(Person).where(Person.sub == "parent-9")).one().email == "dana@example.edu"
        # Her session ended two days ago, and the hourly chore's marker is gone, as an hour later.
        db.session.execute(sa.update(LaunchSession).values(expires_at=_now() - timedelta(days=2)))
        db.session.commit()
        cache.delete("courseless-people-ran")
    assert drain(tool.app, once=True).people_anonymised == 1
    with tool.app.app_context():
        assert not db.session.scalars(sa.select(Person).where(sa.or_(
            Person.sub == "parent-9", Person.name == "Dana Whitfield", Person.email == "dana@example.edu"))).first()

