""""Needs help now" counts a student's tries on a skill from the teacher's own level for it, not from before it.

Before, a teacher who set a level below what a student's answers showed (twelve right answers, set to Familiar
after talking with her) saw her at once in "Needs help now": "Stuck on …: 9 tries while staying at Familiar. More
of the same practice isn't working", about right answers given before the teacher's judgement and none since.
"""

from __future__ import annotations

import html
import re

from tests.support import open_in_launch as _get
from tests.support import served_answer, submit_form
from tests.support import teacher_with_demo_pack as _teacher


def _practise(student, tool, skill_id: str, times: int, *, right: bool) -> None:
    for _ in range(times):
        page = _get(student, tool, f"/practice/{skill_id}")
        submit_form(page, f"/practice/{skill_id}", answer=served_answer(tool, page, right=right))


def _help_list(teacher, tool) -> str:
    page = _get(teacher, tool, "/class/needs-help")
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


def test_a_level_the_teacher_sets_below_the_answers_does_not_call_the_student_stuck(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    skill_id = re.search(r'href="[^"]*/practice/([^"/?]+)"', student.text).group(1)
    _practise(student, tool, skill_id, 12, right=True)
    view = _get(teacher, tool, "/class")
    priya = re.search(r'<option value="(\d+)">Priya Shah', view.text).group(1)
    done = submit_form(view, "/class/override", person_id=priya, skill_id=skill_id, level="Familiar",
                       note="Could not explain it in class")
    assert "Level set to Familiar for Priya Shah" in done.text
    assert "Priya Shah" not in _help_list(teacher, tool), "no try since the teacher set her level"

    # Eight wrong answers after it do make her stuck: counted from the teacher's level, and only those.
    _practise(student, tool, skill_id, 8, right=False)
    assert re.search(r"Priya Shah stuck Stuck on [^:]+: 8 tries while staying at Familiar\.", _help_list(teacher, tool))
