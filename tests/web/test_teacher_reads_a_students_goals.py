"""A teacher conferring with a student reads the goals the student set for themselves on the student's page.

Before, a student's own goals showed nowhere on the teacher's side: the student's page had their plan, levels and
history but not the goals they were working to, and the goals page itself refuses teachers.
"""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch as _get
from tests.support import submit_form
from tests.support import teacher_with_demo_pack as _teacher

PACK = load_pack(demo_pack_data())
FIRST = PACK.skills[0]


def test_the_students_own_goals_show_on_their_page_for_the_teacher(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    goals = _get(student, tool, "/goals")
    submit_form(goals, "/goals", title="Fractions by the test", why="I want to feel sure", by_date="2030-03-01",
                skill_ids=[FIRST.id])
    view = _get(teacher, tool, "/class")
    priya = re.search(r'<option value="(\d+)">Priya Shah', view.text).group(1)
    page = _get(teacher, tool, f"/students/{priya}")
    section = re.search(r'<section aria-labelledby="own-goals-heading">(.*?)</section>', page.text, re.S)
    assert section, "the page has a section for the student's own goals"
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section.group(1))))
    assert text.startswith(" Priya Shah's own goals ")
    assert "Fractions by the test" in text and "Why: I want to feel sure" in text
    assert f"Skills: {FIRST.name}" in text and '<time datetime="2030-03-01">' in section.group(1)


def test_a_student_without_goals_of_their_own_says_so(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student-2")
    view = _get(teacher, tool, "/class")
    liam = re.search(r'<option value="(\d+)">Liam', view.text).group(1)
    page = _get(teacher, tool, f"/students/{liam}")
    section = re.search(r'<section aria-labelledby="own-goals-heading">(.*?)</section>', page.text, re.S).group(1)
    assert "<p>No goals of their own.</p>" in section


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def test_a_course_goal_is_the_teachers_goal_on_the_plan_the_goals_page_and_the_teachers_student_page(sandbox, tool):
    # The teacher's walk: the student's page said "No goals." while the student's plan said a step "moves you
    # toward your goal 'Fluent with fractions'", a goal the teacher set for the course, not one the student set.
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    goal = PACK.goals[0].title
    steps = html.unescape(student.text.split('<ol class="steps">', 1)[1].split("</ol>", 1)[0])
    assert f"your teacher's goal '{goal}'" in steps
    assert f"your goal '{goal}'" not in steps
    mine = _get(student, tool, "/goals")
    theirs = re.search(r'<section aria-labelledby="course-goals-heading">(.*?)</section>', mine.text, re.S).group(1)
    assert _text(theirs).startswith(" Goals from your teacher ") and goal in _text(theirs)
    own = re.search(r'<section aria-labelledby="my-goals-heading">(.*?)</section>', mine.text, re.S).group(1)
    assert goal not in _text(own)

    view = _get(teacher, tool, "/class")
    priya = re.search(r'<option value="(\d+)">Priya Shah', view.text).group(1)
    page = _get(teacher, tool, f"/students/{priya}")
    course = re.search(r'<section aria-labelledby="course-goals-heading">(.*?)</section>', page.text, re.S).group(1)
    assert _text(course).startswith(" Course goals, for every student ")
    assert [_text(t).strip() for t in re.findall(r"<strong>(.*?)</strong>", course)] == [g.title for g in PACK.goals]
    own = re.search(r'<section aria-labelledby="own-goals-heading">(.*?)</section>', page.text, re.S).group(1)
    assert "<p>No goals of their own.</p>" in own and goal not in own
    assert "<p>No goals.</p>" not in page.text


def test_a_teacher_who_opens_the_students_goals_address_is_taken_to_the_course_goals_not_a_refusal(sandbox, tool):
    # /goals is the student's page: a teacher who opened it (a copied link) got a 403 page with no way on. They are
    # taken to the course map's goals, where the course's goals are edited.
    teacher = _teacher(sandbox)
    page = _get(teacher, tool, "/goals")
    assert page.status_code == 200 and page.history and page.history[0].status_code == 303
    assert re.search(r"/teacher/map#goals-heading$", page.history[0].headers["Location"]), page.history[0].headers
    assert 'id="goals-heading"' in page.text and "Add a goal" in page.text
