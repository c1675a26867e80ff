"""Migrations run on a database in use: going down and up again keeps every course's rows."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_migrate import downgrade, upgrade

from lti_tool.extensions import db

#: Tables holding what launches leave behind: the course and, through foreign keys, its enrolments and launches.
_KEPT = ("course", "person", "enrollment", "launch_session")


def _old_schema_select() -> sa.Select:
    """Select courses by the columns every schema since 0004 has: those added later are not there after a downgrade."""
    from lti_tool.models import Course

    return sa.select(Course).options(so.load_only(Course.id, Course.platform_id, Course.deployment_id,
                                                  Course.created_at))


def _old_schema_course(**values: object) -> int:
    """Insert a course as an older schema holds it: the columns named and those with defaults, none added since."""
    from lti_tool.models import Course

    return db.session.execute(sa.insert(Course).values(**values).returning(Course.id)).scalar_one()


def _counts() -> dict[str, int]:
    counts = {t: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in _KEPT}
    db.session.remove()  # end the read: PostgreSQL's ALTER TABLE would wait for it
    return counts


def test_a_downgrade_past_batch_changes_to_course_and_back_keeps_every_row(sandbox, tool):
    # On SQLite, batch mode rebuilds course (copy, drop, rename); with foreign keys on, dropping the old table
    # deleted every enrolment and launch through ON DELETE CASCADE (migrations 0005 and 0007 do this).
    student = sandbox.launch("student")
    assert student.status_code == 200
    sandbox.launch("teacher")
    with tool.app.app_context():
        before = _counts()
        assert all(before.values()), before
        downgrade(revision="0004")
        assert _counts() == before
        upgrade()
        assert _counts() == before
        if db.engine.dialect.name == "sqlite":
            assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1  # on again for the app's connections
    assert sandbox.launch("student").status_code == 200


def test_rows_already_without_their_parent_do_not_stop_an_upgrade(sandbox, tool):
    # The check after a migration reports only what the migration left, not an orphan from before (a hand edit).
    sandbox.launch("student")
    with tool.app.app_context():
        if db.engine.dialect.name != "sqlite":
            return  # PostgreSQL never lets such a row in
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql("UPDATE enrollment SET course_id = 99999")
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        db.session.remove()
        upgrade()  # at head already: nothing to do, and nothing to blame on it


def _baseline() -> dict | None:
    from lti_tool.models import DiagnosticRun

    baseline = db.session.scalars(sa.select(DiagnosticRun.baseline)).one()
    db.session.remove()
    return baseline


def test_a_check_finished_before_0022_gets_the_baseline_the_check_would_have_kept(sandbox, tool):
    # 0022 keeps on the run what a finished check saw; for checks finished before it, the upgrade rebuilds that from
    # the history, so what counts against the check (a wrong answer, a teacher's level since) stays the same.
    from tests.services.test_reviews import _practise
    from tests.support import open_in_launch, submit_form
    from tests.web.test_family_report import _person_ids
    from tests.web.test_placement_plan import _group, _result_page, _take_check_knowing_fractions
    from tests.web.test_unit_check import _pack

    student, _ = _take_check_knowing_fractions(sandbox, tool)
    _practise(student, tool, "frac-equivalent", _pack(), right=True, times=1)
    _practise(student, tool, "frac-equivalent", _pack(), right=False, times=1)
    view = open_in_launch(sandbox.launch("teacher"), tool, "/class")
    assert submit_form(view, "/class/override", person_id=str(_person_ids(view)["Priya Shah"]),
                       skill_id="frac-multiply", level="Attempted", note="Not at the board").status_code == 200
    _practise(student, tool, "frac-multiply", _pack(), right=True, times=1)  # hands the level back to the model
    groups = {heading: _group(_result_page(student, tool), heading)
              for heading in ("Good places to start", "Coming up later", "Looks solid already")}
    assert "Add and subtract fractions" in groups["Coming up later"]  # the wrong answer speaks against the check
    with tool.app.app_context():
        kept = _baseline()
        assert kept["set_by_teacher"] == ["frac-multiply"]
        downgrade(revision="0021")
        upgrade()
        rebuilt = _baseline()
    assert rebuilt["set_by_teacher"] == kept["set_by_teacher"]
    assert rebuilt["misses"] == kept["misses"]
    assert {heading: _group(_result_page(student, tool), heading) for heading in groups} == groups


def test_0023_marks_the_old_shared_stand_in_course_and_leaves_real_courses_called_no_context(sandbox, tool):
    # Releases before placeholders filed every launch without a context under one course per deployment whose
    # context id was "no-context" (title "Untitled course", no label). An LMS course may be called that too.
    from lti_tool.models import Course, Deployment, Enrollment, LaunchSession, Person
    from lti_tool.services.launches import LEGACY_SHARED_CONTEXT

    assert sandbox.launch("student").status_code == 200
    with tool.app.app_context():
        downgrade(revision="0022")
        math = db.session.scalars(_old_schema_select().where(Course.context_id == "math-7")).one()
        priya = db.session.scalar(sa.select(Person.id))
        deployments = [math.deployment_id]
        for name in ("art-school", "untitled-school"):
            deployment = Deployment(platform_id=math.platform_id, deployment_id=name)
            db.session.add(deployment)
            db.session.flush()
            deployments.append(deployment.id)
        stand_in, art, untitled = (
            _old_schema_course(platform_id=math.platform_id, deployment_id=deployment, context_id="no-context",
                               title=title, label=label)
            for deployment, title, label in zip(deployments, ("Untitled course", "Art club", "Untitled course"),
                                                ("", "ART", ""), strict=True))
        db.session.add_all([Enrollment(course_id=course_id, person_id=priya, role="student", active=True)
                            for course_id in (stand_in, art, untitled)])
        # The untitled course's LMS sent no title or label, but a link launch named it: a real course.
        db.session.add(LaunchSession(id="untitled-link", platform_id=math.platform_id, deployment_id=deployments[2],
                                     course_id=untitled, person_id=priya, access="student",
                                     message_type="LtiResourceLinkRequest", resource_link_id="week-1", details={},
                                     created_at=math.created_at, expires_at=math.created_at))
        db.session.commit()
        ids = {"stand-in": stand_in, "art": art, "untitled": untitled}
        before = _counts()

        def context_ids() -> dict[str, str]:
            found = {name: db.session.scalar(sa.select(Course.context_id).where(Course.id == course_id))
                     for name, course_id in ids.items()}
            db.session.remove()
            return found

        upgrade()
        assert context_ids() == {"stand-in": LEGACY_SHARED_CONTEXT, "art": "no-context", "untitled": "no-context"}
        assert _counts() == before
        downgrade(revision="0022")
        assert context_ids() == {"stand-in": "no-context", "art": "no-context", "untitled": "no-context"}
        upgrade()
        assert context_ids()["stand-in"] == LEGACY_SHARED_CONTEXT


def test_0025_marks_the_courses_of_links_launched_without_a_context_and_leaves_real_courses_called_link(
        sandbox, tool):
    # Releases before 0025 filed a link launched without a context under "link:<link id>", an id a real LMS course
    # may have too. 0025 renames a row only when everything on it says stand-in (its docstring lists the marks).
    from lti_tool.lti.claims import LINK_CONTEXT
    from lti_tool.models import Course, LaunchSession, Person, Placement
    from tests.support import CLAIM

    without_context = {CLAIM + "context": None, CLAIM + "resource_link": {"id": "L1"}}
    assert sandbox.launch("student").status_code == 200
    assert sandbox.launch("student", claim_overrides=without_context).status_code == 200  # the stand-in of L1
    platform = sandbox.platform
    platform.add_course("link:L2", "Art club", "ART")
    platform.add_resource_link("art-home", "Pathways", context_id="link:L2")
    platform.add_user("student-2", roles=["Learner"], name="Tomás Vidal", context_id="link:L2")
    assert "My learning plan" in sandbox.launch("student-2", context_id="link:L2").text  # a real course "link:L2"
    with tool.app.app_context():
        downgrade(revision="0024")
        math = db.session.scalars(_old_schema_select().where(Course.context_id == "math-7")).one()
        priya = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-1"))

        def course(context_id: str, **values) -> int:
            return _old_schema_course(platform_id=math.platform_id, deployment_id=math.deployment_id,
                                      context_id=context_id, **{"title": "Untitled course", "label": "", **values})

        # Real courses without a label: one launched from another link of theirs, one with a placement made by
        # Deep Linking (no link id yet); and an id that is not the prefix's case.
        week = course("link:L3")
        db.session.add(LaunchSession(id="week-link", platform_id=math.platform_id, deployment_id=math.deployment_id,
                                     course_id=week, person_id=priya, access="student",
                                     message_type="LtiResourceLinkRequest", resource_link_id="week-1", details={},
                                     created_at=math.created_at, expires_at=math.created_at))
        picked = course("link:L4")
        db.session.add(Placement(course_id=picked, resource_id="p-1", title="Plan", resource_link_id=None))
        upper = course("LINK:L6")
        # Stand-ins: one whose sessions are gone, with a roster URL and L7's placement; and
        # one whose marked id 0.1.0 already stored (from an uncleaned claim): the unique id keeps it as it is.
        quiet = course("link:L7", memberships_url="https://lms.example/roster")
        db.session.add(Placement(course_id=quiet, resource_id="p-7", title="Plan", resource_link_id="L7"))
        taken = course("link:L8")
        course(LINK_CONTEXT + "L8", label="OLD")
        # A link id with no room for the new prefix in the column: named by its SHA-256, as launches name it.
        long_link = course("link:" + "L" * 250)
        db.session.commit()
        ids = {"week": week, "picked": picked, "upper": upper, "quiet": quiet, "taken": taken, "long": long_link}
        ids["L1"] = db.session.scalar(sa.select(Course.id).where(Course.context_id == "link:L1"))
        ids["art"] = db.session.scalar(sa.select(Course.id).where(Course.context_id == "link:L2"))
        assert None not in ids.values()
        before = _counts()

        def context_ids() -> dict[str, str]:
            found = {name: db.session.scalar(sa.select(Course.context_id).where(Course.id == course_id))
                     for name, course_id in ids.items()}
            db.session.remove()
            return found

        unchanged = {"week": "link:L3", "picked": "link:L4", "upper": "LINK:L6",
                     "taken": "link:L8", "art": "link:L2"}
        upgrade()
        from lti_tool.lti.claims import link_context_id

        assert context_ids() == {**unchanged, "L1": LINK_CONTEXT + "L1", "quiet": LINK_CONTEXT + "L7",
                                 "long": link_context_id("L" * 250)}
        assert _counts() == before
        downgrade(revision="0024")
        # A hashed id cannot be taken back to its link's: it keeps the hash (an older release starts that link anew).
        assert context_ids() == {**unchanged, "L1": "link:L1", "quiet": "link:L7",
                                 "long": "link:" + link_context_id("L" * 250).removeprefix(LINK_CONTEXT)}
        upgrade()
        assert context_ids()["L1"] == LINK_CONTEXT + "L1"
        assert context_ids()["long"] == link_context_id("L" * 250)
    # Both go on opening their own course: the link without a context, and the art club.
    from tests.lti.test_deep_linking_without_context import _launch_course

    assert _launch_course(tool, sandbox.launch("student", claim_overrides=without_context)).id == ids["L1"]
    assert _launch_course(tool, sandbox.launch("student-2", context_id="link:L2")).id == ids["art"]


def _write_as_release_0_1_0(sub: str, *, labels: str, role: str = "teacher", session_role: str | None = None) -> None:
    """Rewrite the person's math-7 enrolment (and with session_role, their launch sessions) as the old role rule did."""
    from lti_tool.models import Course, Enrollment, LaunchSession, Person

    person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == sub))
    course_id = db.session.scalar(sa.select(Course.id).where(Course.context_id == "math-7"))
    db.session.execute(sa.update(Enrollment).where(Enrollment.person_id == person_id, Enrollment.course_id == course_id)
                       .values(role=role, lti_roles=labels))
    if session_role is not None:
        for launch in db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == person_id)):
            launch.access = "teacher"
            launch.details = {**launch.details, "role": session_role}
    db.session.commit()


def _enrolments() -> dict[str, tuple[str, str, bool]]:
    from lti_tool.models import Enrollment, Person

    rows = db.session.execute(sa.select(Person.sub, Enrollment.role, Enrollment.lti_roles, Enrollment.active)
                              .join(Enrollment, Enrollment.person_id == Person.id)).all()
    db.session.remove()
    return {sub: (role, labels, active) for sub, role, labels, active in rows}


def test_0024_ends_the_teacher_access_the_old_role_rule_gave_a_learner_instructor(sandbox, tool):
    # Before sub-roles counted only within their principal, a Learner#Instructor launched as a teacher. The fix
    # decides at each launch, but the old session kept its teacher access for up to 12 hours, and the enrolment
    # said "teacher" (out of class lists, the gradebook and the teacher's privacy page) until a roster sync.
    from tests.lti.test_sub_roles import INSTRUCTOR, LEARNER, LEARNER_INSTRUCTOR, _launch_with_roles
    from tests.support import CLAIM, open_in_launch

    teacher, ta = sandbox.launch("teacher"), sandbox.launch("ta")
    priya = _launch_with_roles(sandbox, "student", [LEARNER, LEARNER_INSTRUCTOR])  # Priya Shah
    faculty = _launch_with_roles(sandbox, "student-2", [INSTRUCTOR])
    mentor = _launch_with_roles(sandbox, "student-3", [INSTRUCTOR])
    unknown = _launch_with_roles(sandbox, "student-4", [INSTRUCTOR])  # a Foo#Instructor, Foo unknown to Pathways
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest", claim_overrides={CLAIM + "context": None})
    assert all(page.status_code == 200 for page in (teacher, ta, priya, faculty, mentor, unknown, picker))
    with tool.app.app_context():
        # Written at head, where the pages below can be served (0024's downgrade changes nothing, so the downgrade
        # and upgrade that follow rerun 0024 on exactly these rows, as on a database 0.1.0 left).
        _write_as_release_0_1_0("student-1", labels="Learner, Instructor", session_role="instructor")
        _write_as_release_0_1_0("ta", labels="Instructor, TeachingAssistant")  # a teaching assistant, in 0.1.0's words
        # An institution-only role (a teacher by the rule then and now), and a Mentor#Instructor.
        _write_as_release_0_1_0("student-2", labels="Faculty")
        _write_as_release_0_1_0("student-3", labels="Mentor, Instructor")
        _write_as_release_0_1_0("student-4", labels="Foo, Instructor", session_role="instructor")
    # What the upgrade closes: Priya's old session opens the class pages, and the teacher's class lists miss her.
    assert open_in_launch(priya, tool, "/class/activity").status_code == 200
    assert "Priya Shah" not in open_in_launch(teacher, tool, "/class/activity").text
    with tool.app.app_context():
        before = _counts()
        downgrade(revision="0023")
        upgrade()
        assert _counts() == before
        enrolments = _enrolments()
    refused = open_in_launch(priya, tool, "/class/activity")
    assert refused.status_code == 403 and "Your time in Pathways ran out" in refused.text
    assert enrolments["student-1"] == ("student", "Learner, Instructor", True)
    assert "Priya Shah" in open_in_launch(teacher, tool, "/class/activity").text
    assert enrolments["student-3"] == ("teacher", "Mentor, Instructor", False)  # as a roster sync leaves such a role
    assert enrolments["student-4"] == ("teacher", "Foo, Instructor", False)
    assert open_in_launch(unknown, tool, "/class/activity").status_code == 403
    # Teachers stay teachers; their sessions go on where the stored labels confirm the role the session holds.
    assert enrolments["teacher"][0] == enrolments["ta"][0] == enrolments["student-2"][0] == "teacher"
    assert open_in_launch(teacher, tool, "/class/activity").status_code == 200
    assert open_in_launch(ta, tool, "/class/activity").status_code == 200
    # A session nothing stored confirms ends too: one launch from the LMS opens it again.
    assert open_in_launch(faculty, tool, "/class/activity").status_code == 403
    assert open_in_launch(picker, tool, "/deep-link").status_code == 403  # no enrolment to confirm it
    assert open_in_launch(_launch_with_roles(sandbox, "student-2", [INSTRUCTOR]), tool,
                          "/class/activity").status_code == 200
    # Priya's next launch is a learner's, as since the fix.
    page = _launch_with_roles(sandbox, "student", [LEARNER, LEARNER_INSTRUCTOR])
    assert "My learning plan" in page.text and open_in_launch(page, tool, "/class/activity").status_code == 403


def test_0026_grades_from_before_are_not_resent_and_a_date_that_moves_still_requeues_them(sandbox, tool):
    # Rows from before 0026 keep no due set (NULL): the sweep judges them by their comment, as before, so an upgrade
    # resends nobody's grade, and a date that moves still reaches the gradebook at the next sweep.
    from lti_tool.models import ScoreOutbox
    from lti_tool.models.base import utcnow
    from lti_tool.services import publishing
    from tests.jobs.test_due_dates_pass import _graded_on_the_first_goal, _ids, _next_hour, _scores
    from tests.support import demo_first_goal_due, drain_outbox

    _graded_on_the_first_goal(sandbox, tool)
    course_id, _ = _ids(tool)
    with tool.app.app_context():
        downgrade(revision="0025")
        upgrade()
        assert set(db.session.scalars(sa.select(ScoreOutbox.due_digest))) == {None}
        # Not even recalculated: a comment naming today's count of due skills is taken as today's set.
        assert publishing._stale_students(course_id, utcnow().date()) == set()
        db.session.remove()
    posted = len(_scores(tool))
    _next_hour()
    stats = drain_outbox(tool)
    assert (stats.due_grades_queued, stats.posted) == (0, 0) and len(_scores(tool)) == posted
    demo_first_goal_due(tool, days=30)  # the teacher moves the goal weeks ahead: the 25 no longer applies
    _next_hour()
    stats = drain_outbox(tool)
    assert (stats.due_grades_queued, stats.posted) == (1, 1)
    assert _scores(tool)[-1]["gradingProgress"] == "Pending"


def test_0027_keeps_each_course_s_content_and_fit_and_the_teacher_can_ask_for_a_refit_again(sandbox, tool):
    # 0027 moves the refit request from the cache to course_content; on SQLite it rebuilds that table to keep the
    # two large documents last. Every course keeps its pack, settings and fit; nobody has asked for a refit yet.
    from datetime import datetime

    from lti_tool.models import CourseContent
    from lti_tool.services import model_fitting
    from tests.support import submit_form

    submit_form(sandbox.launch("teacher"), "/content/demo")
    columns = ("course_id", "pack", "grading_scheme", "updated_at", "model_revision", "model_fitted_at")

    def content() -> list[tuple]:
        rows = db.session.execute(sa.select(*(getattr(CourseContent, c) for c in columns))).all()
        db.session.remove()
        return [tuple(row) for row in rows]

    with tool.app.app_context():
        db.session.execute(sa.update(CourseContent).values(model_revision=3, model_fitted_at=datetime(2026, 12, 1)))
        db.session.commit()
        before = content()
        downgrade(revision="0026")
        with db.engine.connect() as connection:
            assert "refit_requested_at" not in {c["name"] for c in sa.inspect(connection).get_columns("course_content")}
        db.session.remove()
        upgrade()
        assert content() == before
        assert db.session.execute(sa.select(CourseContent.refit_requested_at, CourseContent.refit_tried_at,
                                            CourseContent.refit_failed_at)).all() == [(None, None, None)]
        if db.engine.dialect.name == "sqlite":
            order = [name for _, name, *_ in db.session.execute(sa.text("PRAGMA table_info(course_content)"))]
            assert order[-2:] == ["model_params", "pack"]  # small columns first, as 0018 left them
        course_id = before[0][0]
        assert model_fitting.open_refit_requests() == []
        model_fitting.request_refit(course_id, datetime(2026, 12, 3, 15))
        assert model_fitting.open_refit_requests() == [course_id]
        db.session.remove()


def _every_table_count() -> dict[str, int]:
    tables = sorted(set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"})
    counts = {t: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in tables}
    db.session.remove()
    return counts


def test_an_upgrade_from_0020_keeps_answers_levels_and_waiting_grades_and_the_worker_then_posts_them(sandbox, tool):
    # An operator's upgrade: a release at 0020 served the course, its worker was stopped with grades still waiting,
    # then `pathways db upgrade` ran. Every row is kept in every table (not only the courses and launches above),
    # and the grades waiting from before still reach the LMS.
    from tests.services.test_copied_links import _master_first_skill, _student_scores, _unit_placed_with_a_column
    from tests.services.test_reviews import _practise
    from tests.support import drain_outbox
    from tests.web.test_unit_check import _pack

    link, _, column = _unit_placed_with_a_column(sandbox, tool)
    student = sandbox.launch("student", resource_link_id=link)
    _practise(student, tool, "frac-equivalent", _pack(), right=True, times=2)
    _practise(student, tool, "frac-equivalent", _pack(), right=False, times=1)
    _master_first_skill(tool, sandbox.launch("teacher", resource_link_id=link))
    with tool.app.app_context():
        before = _every_table_count()
        waiting = db.session.scalar(sa.text("SELECT count(*) FROM score_outbox WHERE status = 'pending'"))
        db.session.remove()
        assert before["item_response"] == 3 and before["skill_mastery"] and before["mastery_event"] and waiting
        downgrade(revision="0020")
        assert _every_table_count() == before  # 0021 to 0028 add columns and indexes, no table
        upgrade()
        assert _every_table_count() == before
    stats = drain_outbox(tool)
    assert stats.failed == 0 and _student_scores(tool, column)
    assert "My learning plan" in sandbox.launch("student", resource_link_id=link).text
