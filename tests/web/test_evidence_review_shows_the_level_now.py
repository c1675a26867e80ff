"""Reviewing evidence, the teacher reads the student's level on the skill now and reaches their answers on it.

Before, the queue showed the work and a "Level it shows" menu, nothing of where the student stood: accepting never
lowers a level, so a teacher choosing a level had to leave the page to find the student's current one.
"""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch as _get
from tests.support import served_answer, submit_form
from tests.support import teacher_with_demo_pack as _teacher

PACK = load_pack(demo_pack_data())
FIRST = PACK.skills[0]


def test_each_piece_of_evidence_shows_the_students_level_now_and_links_their_answers(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    for _ in range(2):
        page = _get(student, tool, f"/practice/{FIRST.id}")
        submit_form(page, f"/practice/{FIRST.id}", answer=served_answer(tool, page, right=False))
    form = _get(student, tool, "/evidence")
    submit_form(form, "/evidence", skill_id=FIRST.id, kind="explanation", text="Times top and bottom by 2.")

    queue = _get(teacher, tool, "/teacher/evidence")
    item = re.search(r'<li class="evidence-item" data-testid="pending-evidence">(.*?)</li>', queue.text, re.S).group(1)
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)))
    assert "Level now: Attempted" in text
    link = re.search(r'<a href="([^"]*/students/\d+/skills/' + re.escape(FIRST.id) + r')">([^<]*)</a>', item)
    assert link and html.unescape(link.group(2)) == f"{FIRST.name}: Priya Shah's answers"
    answers = _get(teacher, tool, html.unescape(link.group(1)))
    assert "2 answers, 0 right." in answers.text
