"""A launch into a course that carries no role in that course, only the person's institution roles.

Canvas does this when someone opens a course they are not enrolled in (its visibility set to "Institution" or
"Public", or an account admin browsing it): the roles claim then holds only what the person is across the school.
An institution Instructor teaches somewhere, not here, so it must not make them this course's teacher.
"""

from __future__ import annotations

import re

from lti_tool.sandbox.profiles import LIS
from tests.support import CLAIM, submit_form


def _institution(*names: str) -> list[str]:
    """The roles Canvas sends someone with no role in the course: what they are across the school, and User."""
    return [LIS + "institution/person#" + name for name in names] + [LIS + "system/person#User"]


def _math_course_with_priya(sandbox, tool):
    """Grade 7 Mathematics with the demo pack and Priya's evidence (a file), and the course's context claim."""
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    student = sandbox.launch("student")
    base = re.search(r"/c/[^/]+/", student.url).group(0)
    evidence = student.http.get(tool.url(base + "evidence"))
    evidence.http = student.http
    form = re.search(r"<form[^>]*multipart.*?</form>", evidence.text, re.S).group(0)
    action = tool.url(re.search(r'action="([^"]+)"', form).group(1).replace("&amp;", "&"))
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    skill = re.search(r'<option value="([^"]+)"', form).group(1)
    sent = student.http.post(action, data={**fields, "skill_id": skill, "kind": "explanation", "text": "PRIYAS-WORK"},
                             files={"file": ("work.pdf", b"%PDF-1.4\nPRIYAS-FILE\n%%EOF\n")})
    assert "Sent to your teacher" in sent.text
    return sandbox.begin("teacher").claims[CLAIM + "context"]


def _teacher_of_science_opens_math(sandbox, tool, roles: list[str]):
    """Someone who teaches Grade 8 Science only opens Grade 7 Mathematics, with these roles (no course role)."""
    context = _math_course_with_priya(sandbox, tool)
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("science-teacher", roles=["Instructor"], name="Sam Okoro", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    pending = sandbox.begin("science-teacher", context_id="science-8")
    return pending.post(pending.resign(**{CLAIM + "context": context, CLAIM + "roles": roles}))


def test_a_teacher_of_another_course_opening_this_course_without_a_role_in_it_is_not_its_teacher(sandbox, tool):
    page = _teacher_of_science_opens_math(sandbox, tool, _institution("Instructor", "Faculty"))
    assert page.status_code == 200
    assert "Class roster" not in page.text and "Priya Shah" not in page.text
    assert "/c/" not in page.url  # the polite page, no session
    assert "sent no role of yours in this course" in page.text
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Enrollment, Person

        enrolled = db.session.scalars(db.select(Enrollment.role).join(Person).where(
            Person.sub == "science-teacher")).all()
        assert enrolled == []  # not recorded as a teacher of the course either (privacy launches read that)


def test_one_who_teaches_elsewhere_and_studies_somewhere_opens_only_their_own_work_here(sandbox, tool):
    page = _teacher_of_science_opens_math(sandbox, tool, _institution("Instructor", "Student"))
    assert page.status_code == 200
    assert "Class roster" not in page.text
    base = re.search(r"/c/[^/]+/", page.url).group(0)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Evidence

        evidence_id = db.session.scalar(db.select(Evidence.id))
    # A learner's session whose role is a learner's too: Priya's file is not theirs to open.
    refused = page.http.get(tool.url(base + f"evidence/{evidence_id}/file"))
    assert refused.status_code == 404 and "PRIYAS-FILE" not in refused.text
    assert page.http.get(tool.url(base + "class")).status_code == 403


def test_an_institution_administrator_not_enrolled_still_opens_the_course_as_its_administrator(sandbox, tool):
    page = _teacher_of_science_opens_math(sandbox, tool, _institution("Administrator", "Instructor"))
    assert page.status_code == 200
    assert "Class roster" in page.text and "Priya Shah" in page.text
