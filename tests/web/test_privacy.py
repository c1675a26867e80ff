"""Privacy: students download their own data, teachers export and delete a student's or the course's data,
and the LMS's Data Privacy Launch opens the notice and the data controls."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import (
    AuditEntry,
    Course,
    DiagnosticRun,
    Enrollment,
    Evidence,
    ItemResponse,
    LaunchSession,
    MasteryEvent,
    Person,
    Placement,
    Reflection,
    ReportComment,
    ReviewSchedule,
    ScoreOutbox,
    SkillMastery,
    StudentGoal,
)
from lti_tool.services.launches import LEGACY_SHARED_CONTEXT
from tests.support import CLAIM, served_answer, submit_form, teacher_of_another_course

PER_STUDENT = (ItemResponse, SkillMastery, MasteryEvent, ReviewSchedule, StudentGoal, Reflection, Evidence,
               DiagnosticRun, ScoreOutbox, Enrollment, LaunchSession, ReportComment)
PRIVACY_LAUNCH = "DataPrivacyLaunchRequest"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _get(page, tool, path: str):
    response = page.http.get(tool.url(path) if path.startswith("/") else path, timeout=30)
    response.http = page.http
    return response


def _link(page, pattern: str) -> str:
    match = re.search(r'href="([^"]*' + pattern + r')"', page.text)
    assert match, f"no link matching {pattern} in {page.url}"
    return match.group(1).replace("&amp;", "&")


def _answer_one_item(tool, student_page) -> None:
    """Answer the first practice question offered, correctly, through the student's page."""
    practice = _get(student_page, tool, _link(student_page, "/practice/[^\"/]+"))
    answer = served_answer(tool, practice)
    feedback = submit_form(practice, practice.url.split("/c/")[1].split("/", 1)[1].split("?")[0], answer=answer)
    assert feedback.status_code == 200


def _ids(tool, sub: str) -> tuple[int, int]:
    """Return (course id of math-7, person id of sub)."""
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id).where(Course.context_id == "math-7"))
        person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == sub))
        return course_id, person_id


def _seed_records(tool, sub: str) -> None:
    """Give a student one row of every kind their learning record can hold (goals, evidence, grades …)."""
    course_id, person_id = _ids(tool, sub)
    now = _now()
    with tool.app.app_context():
        placement = db.session.scalars(sa.select(Placement).where(Placement.course_id == course_id)).first()
        if placement is None:
            placement = Placement(course_id=course_id, resource_id="privacy-test", title="Pathways", kind="plan",
                                  skill_ids=[])
            db.session.add(placement)
            db.session.flush()
        db.session.add_all([
            ItemResponse(course_id=course_id, person_id=person_id, item_id="seeded-item", skill_ids=["seeded"],
                         answer=f"answer of {sub}", correct=True, answered_at=now),
            SkillMastery(course_id=course_id, person_id=person_id, skill_id="seeded", state={}, level="Familiar",
                         reason=f"reason of {sub}", updated_at=now),
            MasteryEvent(course_id=course_id, person_id=person_id, skill_id="seeded", old_level="Attempted",
                         new_level="Familiar", source="practice", reason=f"event of {sub}", at=now),
            ReviewSchedule(course_id=course_id, person_id=person_id, skill_id="seeded", card={},
                           due_at=now + timedelta(days=3)),
            StudentGoal(course_id=course_id, person_id=person_id, title=f"goal of {sub}", why="to get better",
                        by_date=date(2031, 1, 1), skill_ids=["seeded"]),
            Reflection(course_id=course_id, person_id=person_id, prompt="What went well?",
                       text=f"reflection of {sub}", written_at=now),
            Evidence(course_id=course_id, person_id=person_id, skill_id="seeded", kind="explanation",
                     text=f"evidence of {sub}", submitted_at=now),
            ReportComment(course_id=course_id, person_id=person_id, text=f"family comment on {sub}", updated_at=now),
            ScoreOutbox(course_id=course_id, placement_id=placement.id, person_id=person_id, score_given=5,
                        score_maximum=10, activity_progress="InProgress", grading_progress="FullyGraded",
                        score_timestamp=now),
        ])
        if not db.session.scalars(sa.select(DiagnosticRun).where(DiagnosticRun.course_id == course_id,
                                                                 DiagnosticRun.person_id == person_id)).first():
            db.session.add(DiagnosticRun(course_id=course_id, person_id=person_id, state={}, started_at=now))
        db.session.commit()


def _counts(tool, course_id: int, person_id: int) -> dict[str, int]:
    with tool.app.app_context():
        return {
            model.__tablename__: db.session.scalar(
                sa.select(sa.func.count()).select_from(model)
                .where(model.course_id == course_id, model.person_id == person_id))
            for model in PER_STUDENT
        }


def _course_with_two_students(sandbox, tool):
    teacher = sandbox.launch("teacher")
    teacher = submit_form(teacher, "/content/demo")
    assert "The course now uses" in teacher.text
    students = {}
    for who in ("student", "student-2"):
        page = sandbox.launch(who)
        _answer_one_item(tool, page)
        students[who] = page
    _seed_records(tool, "student-1")
    _seed_records(tool, "student-2")
    return teacher, students


def test_student_downloads_their_own_data_as_json_and_as_a_page_and_sees_nobody_elses(sandbox, tool):
    _, students = _course_with_two_students(sandbox, tool)
    home = students["student"]
    privacy = _get(home, tool, _link(home, "/privacy/"))
    assert privacy.status_code == 200
    assert "What Pathways stores" in privacy.text

    download = _get(privacy, tool, _link(privacy, "/privacy/my-data.json"))
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("application/json")
    document = download.json()
    assert document["format"] == "pathways-personal-data"
    assert document["person"]["user_id"] == "student-1"
    record = document["courses"][0]
    assert record["course"]["context_id"] == "math-7"
    assert len(record["responses"]) == 2  # the answer given in practice and the seeded one
    assert [g["title"] for g in record["goals"]] == ["goal of student-1"]
    assert record["reflections"][0]["text"] == "reflection of student-1"
    assert record["evidence"][0]["text"] == "evidence of student-1"
    assert any(e["reason"] == "event of student-1" for e in record["mastery_history"])
    assert any(level["reason"] == "reason of student-1" for level in record["current_levels"])
    assert "student-2" not in download.text and "Liam" not in download.text

    page = _get(privacy, tool, _link(privacy, "/privacy/my-data.html"))
    assert page.status_code == 200
    assert "Priya Shah" in page.text and "goal of student-1" in page.text and "reflection of student-1" in page.text
    assert "student-2" not in page.text and "Liam" not in page.text
    assert 'class="level level-2">Familiar' in page.text

    with tool.app.app_context():
        exports = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert len(exports) == 2 and {e.subject_id for e in exports} == {_ids(tool, "student-1")[1]}


def test_student_cannot_reach_another_students_data_or_the_delete_forms(sandbox, tool):
    _, students = _course_with_two_students(sandbox, tool)
    home = students["student"]
    base = re.search(r"/c/[^/]+/", home.url).group(0)
    _, other = _ids(tool, "student-2")
    for path in (f"privacy/students/{other}.json", f"privacy/students/{other}.html",
                 f"privacy/students/{other}/delete", "privacy/course.json", "privacy/course/delete",
                 "privacy/user/delete"):
        assert _get(home, tool, base + path).status_code == 403, path
    privacy = _get(home, tool, base + "privacy/")
    assert "/delete" not in privacy.text
    assert "To have your data deleted, ask your teacher." in privacy.text


def test_teacher_deletes_a_students_data_and_nothing_of_it_remains_while_classmates_keep_theirs(sandbox, tool):
    teacher, _ = _course_with_two_students(sandbox, tool)
    course_id, gone = _ids(tool, "student-1")
    _, kept = _ids(tool, "student-2")
    before_kept = _counts(tool, course_id, kept)
    assert all(_counts(tool, course_id, gone).values())

    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    assert "Priya Shah" in privacy.text and "Liam O" in privacy.text
    exported = _get(privacy, tool, _link(privacy, f"/privacy/students/{gone}.json")).json()
    assert exported["person"]["name"] == "Priya Shah"

    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{gone}/delete"))
    assert "Grades Pathways already sent to the LMS gradebook stay in the LMS" in confirm.text
    unconfirmed = submit_form(confirm, f"/privacy/students/{gone}/delete")
    assert "Tick the box" in unconfirmed.text
    assert all(_counts(tool, course_id, gone).values())

    done = submit_form(confirm, f"/privacy/students/{gone}/delete", confirm="yes")
    assert done.status_code == 200
    assert "Deleted the data of Priya Shah" in done.text
    assert _counts(tool, course_id, gone) == dict.fromkeys(before_kept, 0)
    assert _counts(tool, course_id, kept) == before_kept
    with tool.app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "delete_student")).one()
        assert (entry.course_id, entry.subject_id) == (course_id, gone)
        person = db.session.get(Person, gone)
        assert person.name == "" and person.email is None and person.sub.startswith("deleted-")
    assert '<th scope="row">Priya Shah' not in done.text and '<th scope="row">Liam O' in done.text


def test_teacher_downloads_the_course_and_deletes_it_after_typing_its_title(sandbox, tool):
    teacher, _ = _course_with_two_students(sandbox, tool)
    course_id, _ = _ids(tool, "student-1")
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    document = _get(privacy, tool, _link(privacy, "/privacy/course.json")).json()
    assert document["format"] == "pathways-course-data"
    assert document["pack"]["course"]["title"]
    assert sorted(s["user_id"] for s in document["students"]) == ["student-1", "student-2"]
    assert all(s["goals"] for s in document["students"])

    confirm = _get(privacy, tool, _link(privacy, "/privacy/course/delete"))
    wrong = submit_form(confirm, "/privacy/course/delete", title="Grade 8 Mathematics")
    assert "Type the course title exactly" in wrong.text
    done = submit_form(confirm, "/privacy/course/delete", title="Grade 7 Mathematics")
    assert "The course&#39;s data is deleted" in done.text or "The course's data is deleted" in done.text
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is None
        for model in PER_STUDENT:
            assert not db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                         .where(model.course_id == course_id)), model.__tablename__
        assert db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "delete_course")).one()
    # The LMS still has the course: opening Pathways again starts it afresh.
    again = sandbox.launch("teacher")
    assert again.status_code == 200 and "no skill map yet" in again.text


def _privacy_launch(sandbox, as_: str, for_user: str):
    return sandbox.launch(as_, message_type=PRIVACY_LAUNCH, claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": for_user}})


def test_lms_data_privacy_launch_shows_the_notice_and_the_users_data_controls(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    own = _privacy_launch(sandbox, "student", "student-1")
    assert own.status_code == 200, own.text[:500]
    assert "What Pathways stores" in own.text
    assert "Priya Shah" in own.text and "/delete" not in own.text
    data = _get(own, tool, _link(own, "/privacy/my-data.json")).json()
    assert data["person"]["user_id"] == "student-1"
    assert [c["course"]["context_id"] for c in data["courses"] if c["responses"]] == ["math-7"]

    assert _privacy_launch(sandbox, "student", "student-2").status_code == 403

    admin = _privacy_launch(sandbox, "teacher", "student-2")
    assert "Liam O" in admin.text and "What Pathways stores" in admin.text
    confirm = _get(admin, tool, _link(admin, "/privacy/user/delete"))
    done = submit_form(confirm, "/privacy/user/delete", confirm="yes")
    assert "data is deleted" in done.text
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id).where(Course.context_id == "math-7"))
        liam = db.session.scalars(sa.select(Person).where(Person.sub.like("deleted-%"))).one()
    assert not any(_counts(tool, course_id, liam.id).values())



# ---- Data Privacy Launch: who may act on whose data --------------------------------------------------------

INSTITUTION_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
ONLY_PRIVACY_PAGES = "opened only Pathways&#39;s data privacy controls"


def _privacy_launch_from(sandbox, as_: str, for_user: str, context_id: str):
    """A privacy launch by someone the sandbox enrols in another course than math-7 (it has no context claim)."""
    return sandbox.launch(as_, message_type=PRIVACY_LAUNCH, context_id=context_id, claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": for_user}})


def _post(page, tool, path: str, **values: str):
    """POST to a path of the page's launch with the CSRF token of its sign-out form, as a hand-made form would."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    base = re.search(r"/c/[^/]+", page.url).group(0)
    response = page.http.post(tool.url(base + path), data={"csrf_token": token, **values}, timeout=30)
    response.http = page.http
    return response


def _student_in_science_too(sandbox, tool):
    """Math-7 as _course_with_two_students makes it, plus science-8 (teacher-sci) where Priya is a student too."""
    teacher, students = _course_with_two_students(sandbox, tool)
    teacher_of_another_course(sandbox)
    sandbox.platform.add_user("student-1", roles=["Learner"], name="Priya Shah", context_id="science-8")
    assert sandbox.launch("student", context_id="science-8").status_code == 200
    return teacher, students


def _enrolments(tool, sub: str) -> list[str]:
    with tool.app.app_context():
        return sorted(db.session.scalars(
            sa.select(Course.context_id).join(Enrollment, Enrollment.course_id == Course.id)
            .join(Person, Person.id == Enrollment.person_id).where(Person.sub == sub)))


def test_privacy_launch_by_a_teacher_of_another_course_cannot_see_export_or_delete_a_student(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    teacher_of_another_course(sandbox)  # teacher-sci teaches science-8 only; Priya is in math-7 only
    course_id, priya = _ids(tool, "student-1")
    before = _counts(tool, course_id, priya)
    page = _privacy_launch_from(sandbox, "teacher-sci", "student-1", "science-8")
    assert page.status_code == 403
    assert "Priya" not in page.text and "only in courses where you teach them" in page.text
    for path in ("/privacy/my-data.json", "/privacy/my-data.html", "/privacy/user/delete"):
        refused = _get(page, tool, re.search(r"/c/[^/]+", page.url).group(0) + path)
        assert refused.status_code == 403, path
        assert "Priya" not in refused.text and "math-7" not in refused.text, path
    assert _post(page, tool, "/privacy/user/delete", confirm="yes").status_code == 403
    # An unknown user gets the same answer: the refusal does not tell who uses Pathways.
    assert _privacy_launch_from(sandbox, "teacher-sci", "nobody-here", "science-8").status_code == 403
    assert _counts(tool, course_id, priya) == before
    with tool.app.app_context():
        assert db.session.get(Person, priya).name == "Priya Shah"
        assert not db.session.scalars(sa.select(AuditEntry).where(AuditEntry.subject_id == priya)).all()


def test_privacy_launch_by_a_teaching_assistant_exports_only_their_course_and_deletes_nothing(sandbox, tool):
    _student_in_science_too(sandbox, tool)
    assert sandbox.launch("ta").status_code == 200  # the TA's enrolment in math-7
    sandbox.platform.add_user("sci-only", roles=["Learner"], name="Ada Byron", context_id="science-8")
    assert sandbox.launch("sci-only", context_id="science-8").status_code == 200
    course_id, priya = _ids(tool, "student-1")
    before = _counts(tool, course_id, priya)

    page = _privacy_launch(sandbox, "ta", "student-1")
    assert page.status_code == 200 and "Priya Shah" in page.text
    assert "/privacy/user/delete" not in page.text
    data = _get(page, tool, _link(page, "/privacy/my-data.json")).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7"]  # not science-8, which they do not assist
    assert _get(page, tool, re.search(r"/c/[^/]+", page.url).group(0) + "/privacy/user/delete").status_code == 403
    assert _post(page, tool, "/privacy/user/delete", confirm="yes").status_code == 403
    assert _counts(tool, course_id, priya) == before
    assert _enrolments(tool, "student-1") == ["math-7", "science-8"]

    # A student of a course the TA does not assist is refused outright.
    assert _privacy_launch(sandbox, "ta", "sci-only").status_code == 403


def test_privacy_launch_by_an_institution_administrator_exports_and_deletes_across_the_deployment(sandbox, tool):
    _student_in_science_too(sandbox, tool)
    sandbox.platform.add_user("admin", roles=[INSTITUTION_ADMIN], name="Ines Admin", context_id="math-7")
    course_id, priya = _ids(tool, "student-1")
    page = _privacy_launch(sandbox, "admin", "student-1")
    assert page.status_code == 200 and "Priya Shah" in page.text
    data = _get(page, tool, _link(page, "/privacy/my-data.json")).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7", "science-8"]
    confirm = _get(page, tool, _link(page, "/privacy/user/delete"))
    done = submit_form(confirm, "/privacy/user/delete", confirm="yes")
    assert "data is deleted" in done.text
    assert not any(_counts(tool, course_id, priya).values())
    assert _enrolments(tool, "student-1") == []
    assert _enrolments(tool, "admin") == []  # the administrator's launch enrolled them nowhere
    with tool.app.app_context():
        assert db.session.get(Person, priya).sub.startswith("deleted-")


def test_privacy_launch_by_a_teacher_reaches_the_students_they_teach_in_those_courses_only(sandbox, tool):
    _student_in_science_too(sandbox, tool)
    math, priya = _ids(tool, "student-1")
    with tool.app.app_context():
        science = db.session.scalar(sa.select(Course.id).where(Course.context_id == "science-8"))
    page = _privacy_launch(sandbox, "teacher", "student-1")
    data = _get(page, tool, _link(page, "/privacy/my-data.json")).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7"]
    confirm = _get(page, tool, _link(page, "/privacy/user/delete"))
    assert "data is deleted" in submit_form(confirm, "/privacy/user/delete", confirm="yes").text
    assert not any(_counts(tool, math, priya).values())
    assert _counts(tool, science, priya)["enrollment"] == 1  # the science teacher's course is not theirs to empty
    assert _enrolments(tool, "student-1") == ["science-8"]


def test_a_students_privacy_launch_joins_no_course_and_opens_only_the_privacy_pages(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    teacher_of_another_course(sandbox)
    own = _privacy_launch(sandbox, "student", "student-1")
    other = _privacy_launch(sandbox, "student-2", "student-2")
    assert own.status_code == other.status_code == 200
    data = _get(own, tool, _link(own, "/privacy/my-data.json")).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7"]
    assert _get(own, tool, _link(own, "/privacy/my-data.html")).status_code == 200
    # Each opened their own privacy page: nobody was enrolled anywhere for it, and the launches share nothing.
    assert _enrolments(tool, "student-1") == ["math-7"] and _enrolments(tool, "student-2") == ["math-7"]
    with tool.app.app_context():
        courses = {s.course_id for s in db.session.scalars(
            sa.select(LaunchSession).where(LaunchSession.message_type == PRIVACY_LAUNCH))}
        assert len(courses) == 2
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)
                                     .where(Enrollment.course_id.in_(courses)))
    # A teacher's own privacy launch reaches no course page, so no roster, course export or course delete.
    teacher = _privacy_launch_from(sandbox, "teacher-sci", "teacher-sci", "science-8")
    base = re.search(r"/c/[^/]+", teacher.url).group(0)
    for path in ("/privacy/course.json", "/privacy/course/delete", f"/privacy/students/{_ids(tool, 'student-1')[1]}"
                 "/delete", "/class", "/content/export", "/evidence"):
        refused = _get(teacher, tool, base + path)
        assert refused.status_code == 403, path
        assert ONLY_PRIVACY_PAGES in refused.text and "Priya" not in refused.text, path
    assert _post(teacher, tool, "/privacy/course/delete", title="Data privacy launch").status_code == 403
    assert _get(teacher, tool, base + "/privacy/").status_code == 200
    # The placeholders do not pile up: a day after their sessions ended, the next privacy launch removes them.
    with tool.app.app_context():
        db.session.execute(sa.update(LaunchSession).where(LaunchSession.message_type == PRIVACY_LAUNCH)
                           .values(expires_at=_now() - timedelta(days=1, minutes=1)))
        db.session.commit()
    assert _privacy_launch(sandbox, "student", "student-1").status_code == 200
    with tool.app.app_context():
        assert db.session.scalars(sa.select(Course.context_id).order_by(Course.id)).all()[:2] == ["math-7", "science-8"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 3  # and the new launch's own
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LaunchSession)
                                 .where(LaunchSession.message_type == PRIVACY_LAUNCH)) == 1


def test_the_shared_no_context_course_of_older_privacy_launches_grants_nothing(sandbox, tool):
    _course_with_two_students(sandbox, tool)
    teacher_of_another_course(sandbox)
    _, priya = _ids(tool, "student-1")
    with tool.app.app_context():
        # What earlier versions left: one course for every launch without a context, everyone enrolled in it.
        math = db.session.get(Course, _ids(tool, "student-1")[0])
        shared = Course(platform_id=math.platform_id, deployment_id=math.deployment_id, context_id=LEGACY_SHARED_CONTEXT,
                        title="Untitled course", label="")
        db.session.add(shared)
        db.session.flush()
        sam = db.session.scalar(sa.select(Person.id).where(Person.sub == "teacher-sci"))
        db.session.add_all([
            Enrollment(course_id=shared.id, person_id=priya, role="student", lti_roles="Learner", active=True),
            Enrollment(course_id=shared.id, person_id=sam, role="teacher", lti_roles="Instructor", active=True),
        ])
        db.session.commit()
        shared_id = shared.id
    page = _privacy_launch_from(sandbox, "teacher-sci", "student-1", "science-8")
    assert page.status_code == 403 and "Priya" not in page.text
    own = _privacy_launch(sandbox, "student-2", "student-2")
    assert own.status_code == 200
    with tool.app.app_context():
        members = db.session.scalars(sa.select(Enrollment.person_id).where(Enrollment.course_id == shared_id)).all()
        assert sorted(members) == sorted([priya, sam])  # nobody joined it
        assert db.session.scalars(sa.select(LaunchSession.course_id)
                                  .where(LaunchSession.message_type == PRIVACY_LAUNCH)).all().count(shared_id) == 0


def test_the_confirmation_page_asks_what_the_deletion_asks_the_role_in_the_course_not_the_launch(sandbox, tool):
    # The LMS sends a TA role with the privacy launch; in math-7 the launcher's enrolment says Instructor. The page
    # offered Delete, its confirmation refused (the launch's role), and the deletion went through (the course's).
    _course_with_two_students(sandbox, tool)
    assistant = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
    page = sandbox.launch("teacher", message_type=PRIVACY_LAUNCH, claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": "student-1"},
        CLAIM + "roles": [assistant]})
    assert page.status_code == 200 and "/privacy/user/delete" in page.text
    confirm = _get(page, tool, _link(page, "/privacy/user/delete"))
    assert confirm.status_code == 200
    assert "data is deleted" in submit_form(confirm, "/privacy/user/delete", confirm="yes").text


def _title_and_heading(page) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", page.text, re.S).group(1)
    heading = re.search(r"<h1>(.*?)</h1>", page.text, re.S).group(1)
    return html.unescape(title), html.unescape(heading)


def test_a_teachers_copy_of_a_students_data_says_whose_data_it_is_not_yours(sandbox, tool):
    teacher, students = _course_with_two_students(sandbox, tool)
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    assert "Your data" not in _title_and_heading(privacy)[0]
    person_id = _ids(tool, "student-2")[1]
    copy = _get(privacy, tool, _link(privacy, f"/privacy/students/{person_id}.html"))
    title, heading = _title_and_heading(copy)
    assert title == heading == "Data held about Liam O'Connor"
    # Printed or read aloud, nothing in it speaks to the teacher as if the records were theirs.
    for yours in ("Your data", "How your levels changed", "Your answers", "Your answer", "your teacher",
                  "your family report"):
        assert yours not in html.unescape(copy.text), yours
    assert "Their answers" in copy.text and "How the levels changed" in copy.text

    # An administrator's privacy launch about a student: the same.
    admin = _privacy_launch(sandbox, "teacher", "student-2")
    assert _title_and_heading(admin)[0] == "Data held about Liam O'Connor · Pathways"
    title, heading = _title_and_heading(_get(admin, tool, _link(admin, "/privacy/my-data.html")))
    assert title == heading == "Data held about Liam O'Connor"

    # The student's own copy still speaks to them.
    mine = _get(students["student"], tool, _link(students["student"], "/privacy/"))
    assert _title_and_heading(mine) == ("Your data · Pathways", "Privacy and your data")
    own = _get(mine, tool, _link(mine, "/privacy/my-data.html"))
    assert _title_and_heading(own) == ("Your data in Pathways", "Your data in Pathways")
    assert "Your answers" in own.text


def _region_names(page) -> list[str]:
    """Return each region's accessible name as a screen reader's landmark list shows it (aria-labelledby texts)."""
    texts = {m.group(1): html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()
             for m in re.finditer(r'<h[1-6] id="([^"]+)">(.*?)</h[1-6]>', page.text, re.S)}
    names = []
    for region in re.finditer(r'<(?:section|div)[^>]*?(?:role="region"[^>]*?)?aria-label(ledby)?="([^"]+)"', page.text):
        names.append(" ".join(texts.get(i, "?") for i in region.group(2).split()) if region.group(1)
                     else html.unescape(region.group(2)))
    return names


def test_an_export_over_several_courses_names_each_courses_tables_apart(sandbox, tool):
    # An administrator's export of Priya holds math-7 and science-8, each with a "Current levels" table: a screen
    # reader's landmark list showed several regions all called "Current levels" (axe landmark-unique).
    _student_in_science_too(sandbox, tool)
    with tool.app.app_context():
        science = db.session.scalar(sa.select(Course.id).where(Course.context_id == "science-8"))
    priya = _ids(tool, "student-1")[1]
    with tool.app.app_context():
        db.session.add(SkillMastery(course_id=science, person_id=priya, skill_id="cells", state={}, level="Familiar",
                                    reason="seeded", updated_at=_now()))
        db.session.commit()
    sandbox.platform.add_user("admin", roles=[INSTITUTION_ADMIN], name="Ines Admin", context_id="math-7")
    page = _privacy_launch(sandbox, "admin", "student-1")
    export = _get(page, tool, _link(page, "/privacy/my-data.html"))
    names = _region_names(export)
    assert sum(name.startswith("Current levels") for name in names) == 2, names
    assert len(names) == len(set(names)), names


def test_the_privacy_notice_says_whose_words_it_is_on_a_teachers_page_only(sandbox, tool):
    teacher, students = _course_with_two_students(sandbox, tool)
    words = "This is the notice each student and teacher reads on their own privacy page"

    teachers_page = _get(teacher, tool, _link(teacher, "/privacy/"))
    students_page = _get(students["student"], tool, _link(students["student"], "/privacy/"))

    assert "What Pathways stores" in teachers_page.text and words in teachers_page.text
    assert "What Pathways stores" in students_page.text and words not in students_page.text
