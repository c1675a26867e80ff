"""Valid launches land people on the right page, as Canvas, Moodle and the 1EdTech suite send them."""

from __future__ import annotations

from tests.support import CLAIM

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INST_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
INST_INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"


def test_teacher_launch_shows_teacher_page_with_real_name_role_and_course_title(sandbox):
    page = sandbox.launch(as_="teacher")
    assert page.status_code == 200
    assert "/c/" in page.url
    assert "Grade 7 Mathematics" in page.text
    assert "Amara Okafor" in page.text
    assert "teacher" in page.text.lower()
    assert "Instructor" in page.text


def test_student_launch_shows_the_students_own_plan_page(sandbox):
    page = sandbox.launch(as_="student")
    assert page.status_code == 200
    assert "Priya Shah" in page.text
    assert "My learning plan" in page.text
    assert "Grade 7 Mathematics" in page.text
    assert "Class roster" not in page.text


def test_teaching_assistant_gets_the_teacher_page(sandbox):
    page = sandbox.launch(as_="ta")
    assert "Class roster" in page.text
    assert "Daniel Reyes" in page.text
    assert "Teaching assistant" in page.text  # the roster names the LMS role in words


def test_teacher_sees_everyone_who_has_launched_in_the_course(sandbox):
    sandbox.launch(as_="student")
    sandbox.launch(as_="student-2")
    page = sandbox.launch(as_="teacher")
    for name in ("Priya Shah", "Liam O&#39;Connor", "Amara Okafor"):
        assert name in page.text


def _launch_with_claims(sandbox, as_="student", **overrides):
    pending = sandbox.begin(as_)
    return pending.post(pending.resign(**overrides))


def test_multiple_roles_with_instructor_among_them_is_a_teacher(sandbox):
    page = _launch_with_claims(sandbox, **{CLAIM + "roles": [LEARNER, INSTRUCTOR, INST_ADMIN]})
    assert "Class roster" in page.text


def test_short_role_names_are_understood(sandbox):
    page = _launch_with_claims(sandbox, as_="teacher", **{CLAIM + "roles": ["Instructor"]})
    assert "Class roster" in page.text
    page = _launch_with_claims(sandbox, **{CLAIM + "roles": ["Learner"]})
    assert "My learning plan" in page.text


def test_canvas_institution_instructor_role_does_not_make_a_course_learner_a_teacher(sandbox):
    page = _launch_with_claims(sandbox, **{CLAIM + "roles": [LEARNER, INST_INSTRUCTOR, INST_ADMIN]})
    assert "My learning plan" in page.text
    assert "Class roster" not in page.text


def test_unknown_role_sees_a_polite_page_and_gets_no_session(sandbox):
    page = _launch_with_claims(sandbox, **{CLAIM + "roles": ["http://example.com/roles#Wizard"]})
    assert page.status_code == 200
    assert "not available for your role" in page.text
    assert "pathways_session" not in page.cookies and "pathways_session" not in sandbox_cookies(page)


def test_no_role_sees_a_polite_page(sandbox):
    page = _launch_with_claims(sandbox, **{CLAIM + "roles": []})
    assert page.status_code == 200
    assert "not available for your role" in page.text
    assert "none was given" in page.text


def test_mentor_only_role_sees_a_polite_page(sandbox):
    page = _launch_with_claims(
        sandbox, **{CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]}
    )
    assert "not available for your role" in page.text


def test_launch_with_email_only_works(sandbox):
    page = _launch_with_claims(sandbox, name=None, given_name=None, family_name=None)
    assert page.status_code == 200
    assert "My learning plan" in page.text
    assert "priya" not in page.text.lower()  # email is not shown nor stored by default


def test_launch_with_names_only_works(sandbox):
    page = _launch_with_claims(sandbox, name=None, email=None)
    assert page.status_code == 200
    assert "Priya Shah" in page.text  # built from given_name + family_name


def test_launch_with_no_personal_data_works(sandbox):
    page = _launch_with_claims(sandbox, name=None, email=None, given_name=None, family_name=None)
    assert page.status_code == 200
    assert "My learning plan" in page.text


def test_launch_without_context_claim_is_scoped_to_the_resource_link(sandbox):
    page = _launch_with_claims(sandbox, as_="teacher", **{CLAIM + "context": None})
    assert page.status_code == 200
    assert "Class roster" in page.text


def sandbox_cookies(response) -> set[str]:
    names: set[str] = set()
    for r in [*response.history, response]:
        names.update(r.cookies.keys())
    return names


def test_a_class_launching_together_stamps_the_course_once_a_minute_and_each_enrolment_every_time(sandbox, tool):
    import datetime

    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Course, Enrollment

    def stamps() -> tuple[datetime.datetime, dict[int, datetime.datetime]]:
        with tool.app.app_context():
            try:
                course = db.session.scalars(sa.select(Course)).one()
                return course.last_launch_at, dict(db.session.execute(
                    sa.select(Enrollment.person_id, Enrollment.last_launch_at)).all())
            finally:
                db.session.remove()

    sandbox.launch("teacher")
    first, _ = stamps()
    sandbox.launch("student")
    course_time, people = stamps()
    assert course_time == first  # the class's launches do not each rewrite the course row
    assert len(people) == 2 and max(people.values()) > first  # but each person's own launch time is kept
    with tool.app.app_context():
        long_ago = first - datetime.timedelta(minutes=2)
        db.session.execute(sa.update(Course).values(last_launch_at=long_ago))
        db.session.commit()
        db.session.remove()
    sandbox.launch("student")
    assert stamps()[0] > first  # a course last stamped over a minute ago is stamped again
