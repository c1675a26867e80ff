"""Roles written as LTI 1.1 URNs or over https read as the LIS roles they name, never as a higher one.

LTI 1.3 Core §5.3.7 and §A.2 name roles by the LIS v2 URIs (http://purl.imsglobal.org/vocab/lis/v2/…) and let a
tool read a context role's short name. Platforms carried over from LTI 1.1 still send that version's URNs
(urn:lti:role:ims/lis/Instructor, urn:lti:instrole:ims/lis/Student), some the v2 URIs over https: read as no role,
their teachers and students met the no-access page. Read as the same LIS names, with the same rules: a sub-role
never stands for its name ("urn:lti:role:ims/lis/Learner/Instructor" is a learner), an institution Instructor is no
teacher of a course they have no role in, and a URN of any other shape is no role at all.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import LaunchSession
from tests.support import CLAIM


def _launch_with_roles(sandbox, as_: str, roles: list[str]):
    pending = sandbox.begin(as_)
    return pending.post(pending.resign(**{CLAIM + "roles": roles}))


def _last_launch(tool) -> LaunchSession:
    with tool.app.app_context():
        return db.session.scalars(sa.select(LaunchSession).order_by(LaunchSession.created_at.desc(),
                                                                    LaunchSession.id.desc())).first()


@pytest.mark.parametrize("roles", [
    ["urn:lti:role:ims/lis/Instructor"],
    ["https://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
    ["urn:lti:role:ims/lis/Instructor", "urn:lti:instrole:ims/lis/Faculty"],
])
def test_a_teacher_whose_lms_writes_roles_the_old_or_https_way_gets_the_teacher_pages(sandbox, tool, roles):
    page = _launch_with_roles(sandbox, "teacher", roles)
    assert page.status_code == 200, page.text[:300]
    assert "Class roster" in page.text
    assert (_last_launch(tool).access, _last_launch(tool).details["role"]) == ("teacher", "instructor")


@pytest.mark.parametrize(("roles", "role"), [
    (["urn:lti:role:ims/lis/Learner"], "learner"),
    (["https://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], "learner"),
    # A Learner's sub-role named Instructor is a learner, however the URN is cut.
    (["urn:lti:role:ims/lis/Learner/Instructor"], "learner"),
    (["urn:lti:role:ims/lis/Learner/Instructor", "urn:lti:instrole:ims/lis/Instructor"], "learner"),
])
def test_a_student_whose_lms_writes_roles_the_old_or_https_way_is_a_student(sandbox, tool, roles, role):
    sandbox.launch("teacher")  # the course exists with its teacher
    page = _launch_with_roles(sandbox, "student", roles)
    assert page.status_code == 200, page.text[:300]
    assert "My learning plan" in page.text and "Class roster" not in page.text
    assert (_last_launch(tool).access, _last_launch(tool).details["role"]) == ("student", role)


def test_a_teaching_assistant_urn_is_a_teaching_assistant_not_an_instructor(sandbox, tool):
    page = _launch_with_roles(sandbox, "teacher", ["urn:lti:role:ims/lis/TeachingAssistant/TeachingAssistantSection"])
    assert page.status_code == 200, page.text[:300]
    assert (_last_launch(tool).access, _last_launch(tool).details["role"]) == ("teacher", "teaching_assistant")


@pytest.mark.parametrize("roles", [
    ["urn:lti:instrole:ims/lis/Instructor"],  # teaches somewhere, has no role in this course
    ["urn:lti:role:ims/lis/Learner/Instructor/Extra"],  # no LIS role has three parts
    ["urn:lti:role:ims/lis/Instructor#x"],
    ["urn:lti:instrole:ims/lis/Instructor/Lecturer"],  # institution roles have no sub-roles
    ["https://purl.imsglobal.org/vocab/lis/v2/membershipInstructor"],
])
def test_a_urn_that_names_no_course_role_gives_no_teacher_access(sandbox, tool, roles):
    sandbox.launch("teacher")
    page = _launch_with_roles(sandbox, "student", roles)
    assert "Class roster" not in page.text and "My learning plan" not in page.text
