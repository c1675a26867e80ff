"""A teacher who opens a student's page (a copied link, a student's address) is sent somewhere useful, not refused.

The student pages answered a teacher with the 403 page ("You do not have access to this page … tell your school's
LMS administrator"): a dead end, and wrong, as nothing was wrong with the teacher's access. A page with a teacher's
counterpart now takes them there; any other says whose page it is and links to the class view. A student is still
refused every teacher page.
"""

from __future__ import annotations

import re

import pytest

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch as _get
from tests.support import parse_form
from tests.support import teacher_with_demo_pack as _teacher

PACK = load_pack(demo_pack_data())
SKILL = PACK.skill_graph.topological_order()[0]
UNIT = PACK.units[0].id
STUDENT_PAGE = (
    "This page is for students: each student sees their own practice, reviews and checks here. You can "
    "follow your students' work in the class view."
)


@pytest.mark.parametrize(
    "path, lands_on",
    [
        ("/goals", r"/teacher/map#goals-heading"),
        ("/evidence", r"/teacher/evidence"),
        ("/reflect", r"/teacher/reflections"),
        (f"/practice/{SKILL}", rf"/class/skills/{SKILL}/trouble-spots"),
        (f"/practice/{SKILL}/answered/1", rf"/class/skills/{SKILL}/trouble-spots"),
    ],
)
def test_a_student_page_with_a_teachers_counterpart_takes_the_teacher_there(sandbox, tool, path, lands_on):
    teacher = _teacher(sandbox)
    page = _get(teacher, tool, path)
    assert page.status_code == 200 and page.history and page.history[0].status_code == 303, page.status_code
    location = page.history[0].headers["Location"]
    assert re.search(r"/c/[^/]+" + lands_on + "$", location), location
    assert "You do not have access" not in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/review",
        "/review/summary",
        "/diagnostic",
        "/diagnostic/result",
        f"/unit-check/{UNIT}",
        f"/unit-check/{UNIT}/summary",
    ],
)
def test_a_student_page_without_one_says_whose_page_it_is_and_links_to_the_class_view(sandbox, tool, path):
    teacher = _teacher(sandbox)
    page = _get(teacher, tool, path)
    assert page.status_code == 200 and not page.history, page.status_code
    assert STUDENT_PAGE in page.text.replace("&#39;", "'")
    base = re.search(r"/c/[^/]+", teacher.url).group(0)
    assert f'<a class="button" href="{base}/class">Open the class view</a>' in page.text
    assert "You do not have access" not in page.text and "Error code" not in page.text


def test_a_student_form_a_teacher_sends_is_not_taken_and_says_whose_page_it_is(sandbox, tool):
    teacher = _teacher(sandbox)
    _, form = parse_form(teacher.text, teacher.url)
    base = re.search(r"/c/[^/]+", teacher.url).group(0)
    sent = teacher.http.post(
        tool.url(base + "/reflect"),
        data={"csrf_token": form["csrf_token"], "answer_0": "Written by a teacher"},
        timeout=30,
    )
    assert sent.status_code == 403 and STUDENT_PAGE in sent.text.replace("&#39;", "'")
    sent.http = teacher.http
    assert "Written by a teacher" not in _get(teacher, tool, "/teacher/reflections").text


@pytest.mark.parametrize(
    "path",
    ["/teacher/evidence", "/teacher/reflections", f"/class/skills/{SKILL}/trouble-spots", "/teacher/map", "/class"],
)
def test_a_student_is_still_refused_the_teacher_pages(sandbox, tool, path):
    _teacher(sandbox)
    student = sandbox.launch("student")
    page = _get(student, tool, path)
    assert page.status_code == 403 and not page.history, (path, page.status_code)


def test_a_refused_student_form_says_nothing_was_saved_and_a_page_opened_does_not(sandbox, tool):
    # The 403 for a student's form a teacher sent gave only the page's description ("This page is for students"),
    # as an opened page does: nothing said that what the teacher had sent was not kept.
    teacher = _teacher(sandbox)
    _, form = parse_form(teacher.text, teacher.url)
    base = re.search(r"/c/[^/]+", teacher.url).group(0)
    sent = teacher.http.post(tool.url(base + "/diagnostic/skip"), data={"csrf_token": form["csrf_token"]}, timeout=30)
    assert sent.status_code == 403
    # Said as every refused form says it: the error message first (it takes the focus), and in the title.
    assert re.search(
        r'<div class="flashes" id="flashes" role="alert" tabindex="-1" autofocus>\s*<p class="notice '
        r'notice-error" id="form-error">Nothing was saved: only students send this page&#39;s forms\.</p>',
        sent.text,
    )
    assert "<title>Error: A student's page" in sent.text
    opened = _get(teacher, tool, "/diagnostic")
    assert opened.status_code == 200 and "Nothing was saved" not in opened.text and "<title>Error:" not in opened.text
