"""LIS sub-roles (LTI 1.3 Core §A.2.2): a sub-role belongs to its principal role and never grants another one.

A Learner whose sub-role is Instructor (membership/Learner#Instructor) is a learner: Pathways gave them the
teacher's pages and the instructor's rights (deleting and exporting students' data).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Enrollment, LaunchSession, Person
from tests.support import CLAIM, open_in_launch

LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership"
LEARNER, INSTRUCTOR = LIS + "#Learner", LIS + "#Instructor"
LEARNER_INSTRUCTOR = LIS + "/Learner#Instructor"
TEACHING_ASSISTANT = LIS + "/Instructor#TeachingAssistant"
FOO_INSTRUCTOR = LIS + "/Foo#Instructor"  # a principal role Pathways does not know, with a teaching sub-role
PRIVACY_LAUNCH = "DataPrivacyLaunchRequest"


def _launch_with_roles(sandbox, as_: str, roles: list[str], **launch):
    pending = sandbox.begin(as_, **launch)
    return pending.post(pending.resign(**{CLAIM + "roles": roles}))


def _last_launch(tool) -> LaunchSession:
    with tool.app.app_context():
        return db.session.scalars(sa.select(LaunchSession).order_by(LaunchSession.created_at.desc(),
                                                                    LaunchSession.id.desc())).first()


def _enrolment(tool, sub: str, context_id: str = "math-7") -> Enrollment:
    with tool.app.app_context():
        return db.session.scalars(
            sa.select(Enrollment).join(Person, Person.id == Enrollment.person_id)
            .join(Course, Course.id == Enrollment.course_id)
            .where(Person.sub == sub, Course.context_id == context_id)).one()


def test_a_learner_with_the_instructor_sub_role_is_a_learner(sandbox, tool):
    sandbox.launch("teacher")  # the course exists with its teacher
    for roles in ([LEARNER, LEARNER_INSTRUCTOR], [LEARNER_INSTRUCTOR]):  # with its principal role, and without
        page = _launch_with_roles(sandbox, "student", roles)
        assert page.status_code == 200, page.text[:300]
        assert "My learning plan" in page.text and "Class roster" not in page.text
        launch = _last_launch(tool)
        assert (launch.access, launch.details["role"]) == ("student", "learner")
        assert open_in_launch(page, tool, "/class/activity").status_code in (403, 404)
        enrolment = _enrolment(tool, "student-1")
        assert enrolment.role == "student"
        # Stored with its principal, so that reading the labels back cannot take it for an Instructor.
        assert "Learner#Instructor" in enrolment.lti_roles.split(", ")
        assert "Instructor" not in enrolment.lti_roles.split(", ")


def test_a_teaching_assistant_sub_role_with_or_without_its_principal_is_a_teaching_assistant(sandbox, tool):
    for roles in ([INSTRUCTOR, TEACHING_ASSISTANT], [TEACHING_ASSISTANT]):
        page = _launch_with_roles(sandbox, "ta", roles)
        assert page.status_code == 200 and "Class roster" in page.text
        launch = _last_launch(tool)
        assert (launch.access, launch.details["role"]) == ("teacher", "teaching_assistant")
        assert "Instructor#TeachingAssistant" in _enrolment(tool, "ta").lti_roles


@pytest.mark.parametrize("sub_role", ["TeachingAssistantSection", "TeachingAssistantOffering", "TeachingAssistantGroup",
                                      "TeachingAssistantSectionAssociation", "TeachingAssistantTemplate"])
def test_every_teaching_assistant_sub_role_of_the_core_vocabulary_is_a_teaching_assistant(sandbox, tool, sub_role):
    # LTI 1.3 Core §A.2.3.1 lists six Instructor sub-roles for teaching assistants; read as instructors, they could
    # delete the course's data and change its grading.
    page = _launch_with_roles(sandbox, "ta", [INSTRUCTOR, f"{LIS}/Instructor#{sub_role}"])
    assert page.status_code == 200 and "Class roster" in page.text
    launch = _last_launch(tool)
    assert (launch.access, launch.details["role"]) == ("teacher", "teaching_assistant")
    assert f"Instructor#{sub_role}" in _enrolment(tool, "ta").lti_roles


def _privacy_launch_about(sandbox, as_: str, for_user: str, context_id: str):
    return sandbox.launch(as_, message_type=PRIVACY_LAUNCH, context_id=context_id, claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": for_user},
        CLAIM + "roles": [INSTRUCTOR]})


def _sam_teaches_science_and_priya_is_in_math(sandbox) -> None:
    """Priya learns in math-7; Sam teaches science-8 and is a member of math-7, in the roles a test gives him."""
    sandbox.launch("teacher")
    assert sandbox.launch("student").status_code == 200  # Priya, in math-7
    platform = sandbox.platform
    platform.add_course("science-8", "Grade 8 Science", "SCI8")
    platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    platform.add_user("teacher-sci", roles=["Instructor"], name="Sam Lee", context_id="science-8")
    platform.add_user("teacher-sci", roles=["Instructor"], name="Sam Lee", context_id="math-7")
    assert sandbox.launch("teacher-sci", context_id="science-8").status_code == 200


def test_a_learner_instructor_enrolment_gives_no_privacy_reach_over_classmates_old_rows_included(sandbox, tool):
    # Sam teaches science-8 and is a Learner#Instructor in math-7. A privacy launch (an Instructor's, from
    # science-8) about Priya, his classmate in math-7, read his math-7 role labels ("Learner, Instructor") as an
    # instructor's and let him export and delete her data.
    _sam_teaches_science_and_priya_is_in_math(sandbox)
    assert _launch_with_roles(sandbox, "teacher-sci", [LEARNER, LEARNER_INSTRUCTOR]).status_code == 200

    refused = _privacy_launch_about(sandbox, "teacher-sci", "student-1", "science-8")
    assert refused.status_code == 403 and "Priya" not in refused.text

    # A row an older release wrote for the same launch: "teacher", labels "Learner, Instructor".
    enrolment_id = _enrolment(tool, "teacher-sci").id
    with tool.app.app_context():
        db.session.execute(sa.update(Enrollment).where(Enrollment.id == enrolment_id)
                           .values(role="teacher", lti_roles="Learner, Instructor"))
        db.session.commit()
    refused = _privacy_launch_about(sandbox, "teacher-sci", "student-1", "science-8")
    assert refused.status_code == 403 and "Priya" not in refused.text

    # An instructor's enrolment in math-7 does reach her (the refusals above are about the role, not the setup).
    with tool.app.app_context():
        db.session.execute(sa.update(Enrollment).where(Enrollment.id == enrolment_id)
                           .values(role="teacher", lti_roles="Instructor"))
        db.session.commit()
    page = _privacy_launch_about(sandbox, "teacher-sci", "student-1", "science-8")
    assert page.status_code == 200 and "Priya Shah" in page.text
    assert re.search(r"/privacy/user/delete", page.text)


def test_an_unknown_principal_with_a_teaching_sub_role_gives_no_teacher_access_nor_privacy_reach(sandbox, tool):
    # Sam teaches science-8; in math-7 the LMS sends him a principal role Pathways does not know ("Foo") with the
    # Instructor sub-role. Only principal roles decide: his launch, his stored labels and an old row's labels
    # ("Foo, Instructor", as release 0.1.0 wrote a sub-role) give him nothing over his classmate Priya.
    _sam_teaches_science_and_priya_is_in_math(sandbox)

    page = _launch_with_roles(sandbox, "teacher-sci", [FOO_INSTRUCTOR])
    assert "Class roster" not in page.text and "My learning plan" not in page.text
    page = _launch_with_roles(sandbox, "teacher-sci", [LEARNER, FOO_INSTRUCTOR])
    assert page.status_code == 200 and "My learning plan" in page.text and "Class roster" not in page.text
    launch = _last_launch(tool)
    assert (launch.access, launch.details["role"]) == ("student", "learner")
    enrolment = _enrolment(tool, "teacher-sci")
    assert (enrolment.role, enrolment.lti_roles) == ("student", "Learner, Foo#Instructor")

    for labels in ("Foo#Instructor", "Foo, Instructor", "Instructor, Foo"):  # rows older code or releases wrote
        with tool.app.app_context():
            db.session.execute(sa.update(Enrollment).where(Enrollment.id == enrolment.id)
                               .values(role="teacher", lti_roles=labels))
            db.session.commit()
        refused = _privacy_launch_about(sandbox, "teacher-sci", "student-1", "science-8")
        assert refused.status_code == 403 and "Priya" not in refused.text, labels


def test_stored_role_labels_read_back_as_the_role_they_were_written_for():
    from lti_tool.lti.roles import course_role, role_labels, stored_course_role

    for roles in ([INSTRUCTOR, TEACHING_ASSISTANT], [TEACHING_ASSISTANT], [INSTRUCTOR], [LEARNER],
                  [LEARNER, LEARNER_INSTRUCTOR], [LEARNER_INSTRUCTOR], [LIS + "#ContentDeveloper"],
                  [LIS + "#Administrator"], [LIS + "#Mentor", LIS + "/Mentor#Tutor"], [FOO_INSTRUCTOR],
                  [LIS + "#Foo", FOO_INSTRUCTOR], [LEARNER, FOO_INSTRUCTOR], [INSTRUCTOR, LIS + "/Instructor#Foo"]):
        assert stored_course_role(role_labels(roles)) == course_role(roles), roles
    # Labels older releases wrote: a sub-role as a bare name.
    assert stored_course_role("Instructor, TeachingAssistant") == "teaching_assistant"
    assert stored_course_role("Learner, Instructor") == "learner"
    assert stored_course_role("Mentor, Administrator") == "mentor"
    # A principal Pathways does not know gives nothing, and may be the principal of the teaching names beside it.
    for labels in ("Foo, Instructor", "Foo, TeachingAssistant", "Instructor, Foo", "Foo, Administrator",
                   "Foo#Instructor", "Foo#Instructor, Foo#Administrator"):
        assert stored_course_role(labels) == "none", labels
    assert stored_course_role("Foo, Learner, Instructor") == "learner"
    assert stored_course_role("Learner, Foo#Instructor") == "learner"
    assert stored_course_role("Instructor#Foo") == "instructor"  # a sub-role narrowing within Instructor
    # A role name that would read back as two roles is not stored.
    assert role_labels([LEARNER, LIS + "#Learner, Instructor"]) == "Learner"


def test_stored_labels_keep_whole_roles_within_the_column():
    # Cut at 500 characters, "…, Instructor#TeachingAssistant" could end as "Instructor#Teach", which reads back as an
    # Instructor: wider than what the platform sent.
    from lti_tool.lti.roles import ROLE_LABELS_LIMIT, role_labels, stored_course_role

    base = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    uris = [f"{base}#Member{n:03d}" for n in range(40)] + [f"{base}/Instructor#TeachingAssistant"]
    for width in range(440, 520):
        labels = role_labels(uris, limit=width)
        assert len(labels) <= width
        assert all(part in {f"Member{n:03d}" for n in range(40)} | {"Instructor#TeachingAssistant"}
                   for part in labels.split(", ")), labels[-40:]
        assert stored_course_role(labels) in ("none", "teaching_assistant")
    assert len(role_labels(uris)) <= ROLE_LABELS_LIMIT


def test_institution_and_system_roles_stored_without_a_context_role_read_back_as_the_launch_read_them():
    # role_labels stores institution and system roles when a launch names no context role; the rule for 0.1.0's
    # bare sub-role names took "SysAdmin" or "Faculty" beside a teaching name for a sub-role's principal, and read
    # an administrator or a faculty instructor as no role (no privacy reach; migration 0024 ended their access).
    from lti_tool.lti.roles import INSTITUTION_PREFIX, SYSTEM_PREFIX, course_role, role_labels, stored_course_role

    for roles in ([INSTITUTION_PREFIX + "#Administrator", SYSTEM_PREFIX + "#SysAdmin"],
                  [INSTITUTION_PREFIX + "#Faculty", INSTITUTION_PREFIX + "#Instructor"],
                  [INSTITUTION_PREFIX + "#Staff", INSTITUTION_PREFIX + "#Administrator"],
                  [INSTITUTION_PREFIX + "#Student", INSTITUTION_PREFIX + "#Learner"],
                  [SYSTEM_PREFIX + "#User", INSTITUTION_PREFIX + "#Instructor"]):
        assert stored_course_role(role_labels(roles)) == course_role(roles) != "none", roles
    assert stored_course_role("Administrator, SysAdmin") == "administrator"
    assert stored_course_role("Faculty, Instructor") == "instructor"


def test_migration_0024_reads_stored_labels_as_the_app_does():
    # The migration keeps its own copy of stored_course_role (a migration does not import the app): the two agree.
    import importlib

    from lti_tool.lti.roles import stored_course_role

    migration = importlib.import_module("lti_tool.migrations.versions.0024_end_old_rule_teacher_access")
    for labels in ("Administrator, SysAdmin", "Faculty, Instructor", "Staff, Administrator", "Foo, Instructor",
                   "Learner, Instructor", "Instructor, TeachingAssistant", "Mentor, Administrator", "Faculty",
                   "Learner#Instructor", "Instructor#Foo", "Student, Learner", "User, Instructor"):
        assert migration._stored_role(labels) == stored_course_role(labels), labels


def test_a_grader_is_a_teaching_assistant_not_the_courses_instructor(sandbox, tool):
    # LTI 1.3 Core §A.2.3.1 lists Grader among Instructor's sub-roles: someone who marks work, narrowing within the
    # Instructor role as the teaching-assistant sub-roles do. Read as an instructor, a Grader could export the whole
    # course's personal data, delete it and change how mastery becomes a grade.
    sandbox.launch("teacher")
    for roles in ([INSTRUCTOR, LIS + "/Instructor#Grader"], [LIS + "/Instructor#Grader"]):
        page = _launch_with_roles(sandbox, "ta", roles)
        assert page.status_code == 200 and "Class roster" in page.text
        launch = _last_launch(tool)
        assert (launch.access, launch.details["role"]) == ("teacher", "teaching_assistant")
        assert open_in_launch(page, tool, "/privacy/course.json").status_code == 403
        assert open_in_launch(page, tool, "/privacy/course/delete").status_code == 403
    from lti_tool.lti.roles import stored_course_role

    assert stored_course_role(_enrolment(tool, "ta").lti_roles) == "teaching_assistant"


def test_a_roles_claim_sent_as_one_string_is_refused_with_a_400_that_names_the_claim(sandbox, tool):
    # LTI 1.3 Core §5.3.7: roles is an array of URIs. One string was read as no role at all: a teacher was told
    # "Your role here (none was given)" and asked for a role the LMS had sent, in the wrong shape. It is a platform's
    # error (a comma-separated LTI 1.1 list read as one role could also grant the wrong one): a 400 says so.
    from .test_launch_security import assert_refused

    for roles in (INSTRUCTOR, f"{INSTRUCTOR},{LEARNER}", {"role": INSTRUCTOR}):
        refused = _launch_with_roles(sandbox, "teacher", roles)
        assert_refused(refused, "roles", "list", status=400)
        assert "none was given" not in refused.text
    assert _launch_with_roles(sandbox, "teacher", []).status_code == 200  # an empty list is a list: no role


@pytest.mark.parametrize(("principal", "sub_role", "role"), [
    ("Instructor", "GuestInstructor", "guest_instructor"), ("Instructor", "TeachingAssistant", "teaching_assistant"),
    ("Administrator", "ExternalSupport", "external_administrator")])
def test_a_narrowing_sub_role_at_the_end_of_a_long_roles_claim_is_stored_and_read_back(
        sandbox, tool, principal, sub_role, role):
    """The labels stored for a launch (Enrollment.lti_roles, read back by the Data Privacy Launch and the roster)
    hold ROLE_LABELS_LIMIT characters. They were kept in the claim's order: with a long claim (an LMS sending every
    role it knows) the sub-role at its end was dropped and its principal kept, which read back with more rights."""
    from lti_tool.lti.roles import ROLE_LABELS_LIMIT, stored_course_role

    sandbox.launch("teacher")
    others = [f"{LIS}/Mentor#Reviewer{n}" for n in range(40)]  # no rights of their own
    claim = [f"{LIS}#{principal}", *others, f"{LIS}/{principal}#{sub_role}"]
    assert len(", ".join(label.rsplit("/", 1)[-1] for label in claim)) > ROLE_LABELS_LIMIT
    sandbox.platform.add_user("staff-1", roles=[principal], name="Sam Staff", context_id="math-7")
    page = _launch_with_roles(sandbox, "staff-1", claim)
    assert page.status_code == 200, page.text[:300]
    assert _last_launch(tool).details["role"] == role  # the launch itself read the whole claim
    stored = _enrolment(tool, "staff-1").lti_roles
    assert len(stored) <= ROLE_LABELS_LIMIT and f"{principal}#{sub_role}" in stored.split(", ")
    assert stored_course_role(stored) == role  # before: the principal's ("instructor", "administrator")


def test_a_teaching_assistant_principal_at_the_end_of_a_long_roles_claim_reaches_no_deletion(sandbox, tool):
    """LTI 1.1's TeachingAssistant principal (urn:lti:role:ims/lis/TeachingAssistant, read as a teaching assistant
    beside Instructor) narrows the Instructor role as the sub-roles do. It was not kept first in the stored labels:
    at the end of a claim longer than the column it was dropped, the Instructor kept, and a Data Privacy Launch read
    the labels back as the course's instructor, offering to delete a student's data."""
    from lti_tool.lti.roles import ROLE_LABELS_LIMIT, stored_course_role

    _sam_teaches_science_and_priya_is_in_math(sandbox)
    others = [f"{LIS}/Mentor#Reviewer{n}" for n in range(40)]  # no rights of their own
    claim = [INSTRUCTOR, *others, "urn:lti:role:ims/lis/TeachingAssistant"]
    assert len(", ".join(label.rsplit("/", 1)[-1] for label in claim)) > ROLE_LABELS_LIMIT
    assert _launch_with_roles(sandbox, "teacher-sci", claim).status_code == 200
    assert _last_launch(tool).details["role"] == "teaching_assistant"
    assert stored_course_role(_enrolment(tool, "teacher-sci").lti_roles) == "teaching_assistant"

    page = _privacy_launch_about(sandbox, "teacher-sci", "student-1", "science-8")
    assert page.status_code == 200 and "Priya Shah" in page.text  # a teaching assistant exports a student's data
    assert "/privacy/user/delete" not in page.text
    assert open_in_launch(page, tool, "/privacy/user/delete").status_code == 403
