"""Teaching assistants work in the course but may not delete it, export all of it, or change its grading."""

from __future__ import annotations

import re

import pytest


def _path(page) -> str:
    return re.search(r"/c/[^/]+/", page.url).group(0)


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_a_teaching_assistant_is_refused_deleting_exporting_the_course_and_changing_grading(sandbox, tool):
    ta = sandbox.launch("ta")
    assert "Class roster" in ta.text
    base, token = tool.url(_path(ta)), _csrf(ta)
    privacy = ta.http.get(base + "privacy/")
    assert privacy.status_code == 200
    assert "Delete all course data" not in privacy.text and "course.json" not in privacy.text
    export = ta.http.get(base + "privacy/course.json")
    assert export.status_code == 403 and "teaching assistant" in export.text and "pathways-course-data" not in export.text
    assert ta.http.get(base + "privacy/course/delete").status_code == 403  # no form it could only be refused
    delete = ta.http.post(base + "privacy/course/delete", data={"csrf_token": token, "title": "Grade 7 Mathematics"})
    assert delete.status_code == 403 and "delete all course data" in delete.text
    grading = ta.http.post(base + "teacher/grading", data={"csrf_token": token, "scheme": "points"})
    assert grading.status_code == 403 and "grading scheme" in grading.text
    # Nothing was deleted: the course still opens.
    assert sandbox.launch("teacher").status_code == 200


def test_an_instructor_may_export_and_sees_the_controls(sandbox, tool):
    teacher = sandbox.launch("teacher")
    privacy = teacher.http.get(tool.url(_path(teacher)) + "privacy/")
    assert "Delete all course data" in privacy.text
    export = teacher.http.get(tool.url(_path(teacher)) + "privacy/course.json")
    assert export.status_code == 200 and export.json()["format"] == "pathways-course-data"
    grading = teacher.http.post(tool.url(_path(teacher)) + "teacher/grading",
                                data={"csrf_token": _csrf(teacher), "scheme": "points"})
    assert grading.status_code == 200 and "does not allow" not in grading.text


def test_launch_roles_map_to_the_narrowest_pathways_role():
    from lti_tool.lti.roles import course_role

    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    assert course_role([lis + "#Instructor", lis + "/Instructor#TeachingAssistant"]) == "teaching_assistant"
    assert course_role([lis + "#Instructor"]) == "instructor"
    assert course_role([lis + "#ContentDeveloper"]) == "content_developer"
    assert course_role([lis + "#Mentor"]) == "mentor"
    assert course_role([lis + "#Mentor", lis + "#Learner"]) == "learner"  # their own work, no one else's
    assert course_role(["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]) == "administrator"


def _content_developer(sandbox):
    sandbox.platform.add_user("cd-1", roles=["ContentDeveloper"], name="Carla Dev", context_id="math-7")
    return sandbox.launch("cd-1")


def _pending_evidence(tool) -> tuple[int, int, str]:
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Course, Evidence, Person
    from lti_tool.services.content import course_pack

    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id).where(Course.context_id == "math-7"))
        person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-1"))
        skill = course_pack(course_id).skills[0].id
        evidence = Evidence(course_id=course_id, person_id=person_id, skill_id=skill, kind="explanation",
                            text="I split the bar into quarters.")
        db.session.add(evidence)
        db.session.commit()
        return evidence.id, person_id, skill


def test_a_content_developer_may_not_assess_export_a_student_or_resend_grades(sandbox, tool):
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import SkillMastery
    from tests.support import teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    sandbox.launch("student")
    evidence_id, person_id, skill = _pending_evidence(tool)
    cd = _content_developer(sandbox)
    base, token = tool.url(_path(cd)), _csrf(cd)
    queue = cd.http.get(base + "teacher/evidence")
    assert queue.status_code == 200 and "I split the bar" in queue.text
    assert f"evidence/{evidence_id}/accept" not in queue.text  # no form it could only be refused
    accept = cd.http.post(base + f"teacher/evidence/{evidence_id}/accept",
                          data={"csrf_token": token, "level": "Mastered", "comment": ""})
    assert accept.status_code == 403 and "does not allow" in accept.text
    returned = cd.http.post(base + f"teacher/evidence/{evidence_id}/return",
                            data={"csrf_token": token, "comment": "Add a picture."})
    assert returned.status_code == 403
    with tool.app.app_context():
        assert db.session.scalar(sa.select(SkillMastery.level).where(
            SkillMastery.person_id == person_id, SkillMastery.skill_id == skill)) in (None, "Not started")
    privacy = cd.http.get(base + "privacy/")
    assert f"students/{person_id}.json" not in privacy.text and f"students/{person_id}/delete" not in privacy.text
    export = cd.http.get(base + f"privacy/students/{person_id}.json")
    assert export.status_code == 403 and "pathways-student" not in export.text
    assert cd.http.post(base + "grades/retry", data={"csrf_token": token}).status_code == 403


def test_a_teaching_assistant_may_not_delete_through_a_data_privacy_launch(sandbox, tool):
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Person
    from tests.support import CLAIM, teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    sandbox.launch("student")
    sandbox.launch("ta")  # a privacy launch reaches only the courses the TA is enrolled in as such
    ta = sandbox.launch("ta", message_type="DataPrivacyLaunchRequest", claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": "student-1"}})
    assert ta.status_code == 200, ta.text[:300]
    assert "privacy/user/delete" not in ta.text  # no button it could only be refused
    assert "my-data.json" in ta.text  # a teaching assistant may export a student's data
    base = tool.url(_path(ta))
    assert ta.http.get(base + "privacy/user/delete").status_code == 403
    done = ta.http.post(base + "privacy/user/delete", data={"csrf_token": _csrf(ta), "confirm": "yes"})
    assert done.status_code == 403
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.sub == "student-1")) == 1
    # A teaching assistant may export a student's data, as in a course.
    assert ta.http.get(base + "privacy/my-data.json").status_code == 200


def test_a_content_developer_sees_no_export_in_a_data_privacy_launch_and_is_refused_one(sandbox, tool):
    from tests.support import CLAIM, teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    sandbox.launch("student")
    sandbox.platform.add_user("cd-1", roles=["ContentDeveloper"], name="Carla Dev", context_id="math-7")
    sandbox.launch("cd-1")
    cd = sandbox.launch("cd-1", message_type="DataPrivacyLaunchRequest", claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": "student-1"}})
    # The role table lets a content developer neither export nor delete: the launch reaches nobody else's data.
    assert cd.status_code == 403, cd.text[:300]
    assert "my-data.json" not in cd.text and "my-data.html" not in cd.text and "Priya" not in cd.text
    assert cd.http.get(tool.url(_path(cd)) + "privacy/my-data.json").status_code == 403


def test_the_class_roster_names_the_lms_roles_in_words_a_teacher_reads(tool):
    # The roster's "Course role" column showed the spec's names ("Instructor, Instructor#TeachingAssistant").
    from lti_tool.web.i18n import lms_roles

    with tool.app.test_request_context("/"):
        assert lms_roles("Instructor, Instructor#TeachingAssistant") == "Instructor, Teaching assistant"
        assert lms_roles("Instructor#TeachingAssistantSection") == "Teaching assistant"
        # Another sub-role keeps its principal in front: a learner acting as instructor is not a teacher.
        assert lms_roles("Learner, Learner#Instructor") == "Learner, Learner (Instructor)"
        assert lms_roles("ContentDeveloper, ExternalObserver") == "Content developer, External observer"
        assert lms_roles("") == ""


def test_a_teaching_assistant_shows_as_one_on_the_class_roster(sandbox, tool):
    sandbox.launch("ta")
    teacher = sandbox.launch("teacher")
    row = re.search(r"<tr><td>Daniel Reyes</td><td>[^<]*</td><td>([^<]*)</td>", teacher.text)
    assert row and row.group(1) == "Instructor, Teaching assistant"


def _staff_beside_a_student(sandbox, tool, sub: str, roles: list[str], name: str):
    """Set up math-7 with a student who has evidence waiting, launch `sub` with `roles` there; return the page, its
    base address and form token, the evidence's id and the student's person id."""
    from tests.support import teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    sandbox.launch("student")
    evidence_id, person_id, _ = _pending_evidence(tool)
    sandbox.platform.add_user(sub, roles=roles, name=name, context_id="math-7")
    page = sandbox.launch(sub)
    assert page.status_code == 200 and "Class roster" in page.text
    return page, tool.url(_path(page)), _csrf(page), evidence_id, person_id


def _stored_role(tool, sub: str) -> str:
    """The Pathways role the roster's stored labels give `sub` in math-7 (what a Data Privacy Launch reads)."""
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.lti.roles import stored_course_role
    from lti_tool.models import Enrollment, Person

    with tool.app.app_context():
        return stored_course_role(db.session.scalars(
            sa.select(Enrollment.lti_roles).join(Person, Person.id == Enrollment.person_id)
            .where(Person.sub == sub)).one())


@pytest.mark.parametrize("sub_role", ["GuestInstructor", "ExternalInstructor"])
def test_a_guest_or_external_instructor_teaches_and_marks_but_takes_no_students_data_out(sandbox, tool, sub_role):
    # LTI 1.3 Core §A.2.3.1: Instructor#GuestInstructor and Instructor#ExternalInstructor narrow the Instructor role
    # (a visiting teacher, one from another institution). Read as Instructor, they could export and delete every
    # student's data and change how mastery becomes a grade.
    from lti_tool.extensions import db
    from lti_tool.models import Evidence, Person

    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    guest, base, token, evidence_id, person_id = _staff_beside_a_student(
        sandbox, tool, "guest-1", [lis + "#Instructor", f"{lis}/Instructor#{sub_role}"], "Gail Guest")
    # Teaching and marking: the evidence queue, accepting evidence.
    accept = guest.http.post(base + f"teacher/evidence/{evidence_id}/accept",
                             data={"csrf_token": token, "level": "Mastered", "comment": ""})
    assert accept.status_code in (200, 302, 303) and "does not allow" not in accept.text
    with tool.app.app_context():
        assert db.session.get(Evidence, evidence_id).status == "accepted"
    # No student's data out, nothing deleted, the grading scheme unchanged; no control it could only be refused.
    privacy = guest.http.get(base + "privacy/")
    assert privacy.status_code == 200
    assert f"students/{person_id}.json" not in privacy.text and "course.json" not in privacy.text
    assert "Delete all course data" not in privacy.text
    export = guest.http.get(base + f"privacy/students/{person_id}.json")
    assert export.status_code == 403 and "guest instructor" in export.text and "pathways-student" not in export.text
    assert guest.http.get(base + "privacy/course.json").status_code == 403
    delete = guest.http.post(base + "privacy/course/delete", data={"csrf_token": token, "title": "Grade 7 Mathematics"})
    assert delete.status_code == 403
    assert guest.http.post(base + f"privacy/students/{person_id}/delete",
                           data={"csrf_token": token, "confirm": "yes"}).status_code == 403
    grading = guest.http.post(base + "teacher/grading", data={"csrf_token": token, "scheme": "points"})
    assert grading.status_code == 403 and "grading scheme" in grading.text
    with tool.app.app_context():
        assert db.session.get(Person, person_id) is not None
    assert _stored_role(tool, "guest-1") == "guest_instructor"  # a Data Privacy Launch reads the same rights
    # A Data Privacy Launch from the LMS about the student: nothing to export or delete either.
    from tests.support import CLAIM

    dpl = sandbox.launch("guest-1", message_type="DataPrivacyLaunchRequest", claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": "student-1"}})
    assert dpl.status_code == 403 and "Priya" not in dpl.text


@pytest.mark.parametrize("role", ["Instructor#GuestInstructor", "Instructor#ExternalInstructor", "ContentDeveloper"])
def test_roles_that_take_no_students_data_out_get_no_class_csv(sandbox, tool, role):
    # The class table's CSV holds every student's name and levels: an export of the course's students' data, which
    # docs/roles.md says a guest or external instructor (and a content developer) may not take out of Pathways.
    from tests.support import teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    sandbox.launch("student")
    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    roles = [lis + "#Instructor", f"{lis}/{role}"] if "#" in role else [f"{lis}#{role}"]
    sandbox.platform.add_user("staff-1", roles=roles, name="Gail Guest", context_id="math-7")
    staff = sandbox.launch("staff-1")
    assert staff.status_code == 200
    base = tool.url(_path(staff))
    class_page = staff.http.get(base + "class")
    assert class_page.status_code == 200 and "Priya Shah" in class_page.text
    assert "Download as CSV" not in class_page.text  # no control it could only be refused
    export = staff.http.get(base + "class/export.csv")
    assert export.status_code == 403 and "Priya Shah" not in export.text
    # An instructor still downloads it.
    teacher = sandbox.launch("teacher")
    assert "Download as CSV" in teacher.http.get(tool.url(_path(teacher)) + "class").text
    assert "Priya Shah" in teacher.http.get(tool.url(_path(teacher)) + "class/export.csv").text


@pytest.mark.parametrize("sub_role", ["ExternalDeveloper", "ExternalSupport", "ExternalSystemAdministrator"])
def test_an_external_administrator_keeps_the_course_running_but_takes_no_students_data_out(sandbox, tool, sub_role):
    # LTI 1.3 Core §A.2.3.1: Administrator#ExternalDeveloper, #ExternalSupport and #ExternalSystemAdministrator are
    # administrators from outside the school (a vendor's developer or support desk, a hosting company). Read as
    # Administrator, they could export and delete every student's data, here and across the deployment.
    from lti_tool.extensions import db
    from lti_tool.models import Evidence, Person
    from tests.support import CLAIM

    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    vendor, base, token, evidence_id, person_id = _staff_beside_a_student(
        sandbox, tool, "vendor-1", [lis + "#Administrator", f"{lis}/Administrator#{sub_role}"], "Val Vendor")
    # No student's data out, nothing deleted; no control it could only be refused.
    privacy = vendor.http.get(base + "privacy/")
    assert privacy.status_code == 200
    assert f"students/{person_id}.json" not in privacy.text and "course.json" not in privacy.text
    assert "Delete all course data" not in privacy.text and f"students/{person_id}/delete" not in privacy.text
    export = vendor.http.get(base + f"privacy/students/{person_id}.json")
    assert export.status_code == 403 and "external administrator" in export.text
    assert "pathways-person" not in export.text and "Priya" not in export.text
    assert vendor.http.get(base + "privacy/course.json").status_code == 403
    assert vendor.http.get(base + "class/export.csv").status_code == 403
    assert vendor.http.post(base + "privacy/course/delete",
                            data={"csrf_token": token, "title": "Grade 7 Mathematics"}).status_code == 403
    assert vendor.http.post(base + f"privacy/students/{person_id}/delete",
                            data={"csrf_token": token, "confirm": "yes"}).status_code == 403
    # No teaching or grading decision either.
    accept = vendor.http.post(base + f"teacher/evidence/{evidence_id}/accept",
                              data={"csrf_token": token, "level": "Mastered", "comment": ""})
    assert accept.status_code == 403
    assert vendor.http.post(base + "teacher/grading",
                            data={"csrf_token": token, "scheme": "points"}).status_code == 403
    with tool.app.app_context():
        assert db.session.get(Person, person_id).name == "Priya Shah"
        assert db.session.get(Evidence, evidence_id).status != "accepted"
    assert _stored_role(tool, "vendor-1") == "external_administrator"  # a Data Privacy Launch reads the same rights
    # A Data Privacy Launch about the student, sent with the institution's Administrator role beside the sub-role,
    # or as an institution role with the sub-role: no deployment-wide reach, nothing to export or delete.
    institution = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"
    for roles in ([institution + "#Administrator", f"{lis}/Administrator#{sub_role}"],
                  [institution + "#Administrator", f"{institution}/Administrator#{sub_role}"]):
        sandbox.platform.add_user("vendor-2", roles=roles, name="Vic Vendor", context_id="math-7")
        dpl = sandbox.launch("vendor-2", message_type="DataPrivacyLaunchRequest", claim_overrides={
            CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": "student-1"}})
        assert dpl.status_code == 403 and "Priya" not in dpl.text


def test_the_schools_own_administrators_keep_their_rights():
    from lti_tool.lti.roles import course_role, deployment_administrator

    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    institution = "http://purl.imsglobal.org/vocab/lis/v2/institution/person"
    for sub_role in ("Developer", "Support", "SystemAdministrator", "Administrator"):
        assert course_role([lis + "#Administrator", f"{lis}/Administrator#{sub_role}"]) == "administrator"
        assert deployment_administrator([institution + "#Administrator", f"{lis}/Administrator#{sub_role}"])
    # An instructor of the course stays one: the sub-role narrows the Administrator principal, not theirs.
    assert course_role([lis + "#Instructor", lis + "#Administrator", lis + "/Administrator#ExternalSupport"]) == (
        "instructor")
    assert course_role([institution + "/Administrator#ExternalSupport"], in_course=True) == "external_administrator"


@pytest.mark.parametrize("roles", [["ContentDeveloper"], ["Administrator", "Administrator#ExternalSupport"]])
def test_a_role_that_may_not_assess_sees_a_help_request_but_cannot_close_it(sandbox, tool, roles):
    # "Ask my teacher" is for the course's teacher: a content developer or an outside administrator closing it
    # would take it off the list before any teacher saw it (docs/roles.md: they make no teaching decision).
    import re

    from tests.support import submit_form, teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    student = sandbox.launch("student")
    question = student.http.get(tool.url(_path(student)) + "practice/frac-equivalent")
    question.http = student.http
    assert "Your teacher will see" in submit_form(question, "/practice/frac-equivalent/ask").text
    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    sandbox.platform.add_user("staff-1", roles=[f"{lis}#{r}" if "#" not in r else f"{lis}/{r}" for r in roles],
                              name="Carla Staff", context_id="math-7")
    staff = sandbox.launch("staff-1")
    help_page = staff.http.get(tool.url(_path(staff)) + "class/needs-help")
    assert help_page.status_code == 200 and "Asked for help with Equivalent fractions" in help_page.text
    assert "as helped" not in help_page.text  # no control it could only be refused
    # The student's own page shows the request too, and no control either.
    student_page = staff.http.get(tool.url(_path(staff)) + re.search(r"students/\d+", help_page.text).group(0))
    assert "Equivalent fractions, asked " in student_page.text and "as helped" not in student_page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', help_page.text).group(1)
    person_id = re.search(r"students/(\d+)", help_page.text).group(1)
    closed = staff.http.post(tool.url(_path(staff)) + "class/needs-help/helped",
                             data={"csrf_token": token, "person_id": person_id})
    assert closed.status_code == 403
    # The course's teacher still sees it, and may close it.
    teacher = sandbox.launch("teacher")
    teacher_help = teacher.http.get(tool.url(_path(teacher)) + "class/needs-help")
    teacher_help.http = teacher.http
    assert "Asked for help with Equivalent fractions" in teacher_help.text
    assert "Marked as helped." in submit_form(teacher_help, "/class/needs-help/helped").text
