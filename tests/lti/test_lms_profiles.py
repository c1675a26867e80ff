"""Quirks of LMSs beyond the sandbox's default, played by its profiles (lti_tool/sandbox/profiles.py), over HTTP."""

from __future__ import annotations

from lti_tool.sandbox import vocab as v
from lti_tool.sandbox.profiles import LIS, PROFILES

BRIGHTSPACE = PROFILES["brightspace"]


def _launch_with_roles(sandbox, as_, roles):
    pending = sandbox.begin(as_)
    return pending.post(pending.resign(**{v.ROLES: roles}))


def test_brightspace_teacher_with_institution_roles_gets_the_teacher_page(sandbox, tool):
    roles = BRIGHTSPACE.roles_for([LIS + "membership#Instructor"])
    assert LIS + "institution/person#Instructor" in roles  # "Send Institution Role" on
    page = _launch_with_roles(sandbox, "teacher", roles)
    assert page.status_code == 200 and "teacher" in page.text


def test_brightspace_student_who_teaches_elsewhere_is_a_student_in_this_course(sandbox, tool):
    """Brightspace sends the institution role beside the course role: the course role decides."""
    roles = BRIGHTSPACE.roles_for([LIS + "membership#Learner"], institution_role=LIS + "institution/person#Instructor")
    page = _launch_with_roles(sandbox, "student", roles)
    assert page.status_code == 200
    assert "This is your learning plan" in page.text and "Open the class view" not in page.text


def test_every_profile_says_where_its_storage_lives():
    assert PROFILES["moodle"].has_storage is False
    assert PROFILES["canvas"].storage_frame == "post_message_forwarding"
    assert PROFILES["blackboard"].storage_frame == "lti_storage_frame"
    assert PROFILES["brightspace"].storage_target == "_parent" and PROFILES["brightspace"].storage_frame is None
