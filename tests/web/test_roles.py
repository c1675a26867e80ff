"""Teaching assistants work in the course but may not delete it, export all of it, or change its grading."""

from __future__ import annotations

import re


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
    assert course_role(["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]) == "administrator"
