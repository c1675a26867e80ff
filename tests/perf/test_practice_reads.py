"""The practice page makes no ORM object of the learner's served history of the skill to serve a new question.

Issue 14: serving a new question read every question the learner was ever served on the skill as an ORM object to
look for an open one, then, finding none, read them all again (refreshing each object) under the learner's lock to
choose the next. Now the first look reads only the open question (with what its credit needs) and the history
under the lock is read as plain rows. Counted with SQLAlchemy's instance events (`load` for a row made into an
object, `refresh` for one read again over an object the session holds).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_tool.models import ServedItem
from tests.support import SandboxActions, open_in_launch, served_answer, submit_form, teacher_with_demo_pack

#: Questions answered on the skill before the page is measured.
HISTORY = 6


def test_a_new_question_makes_no_object_of_the_served_history(make_tool):
    tool = make_tool()
    sandbox = SandboxActions(tool)
    teacher_with_demo_pack(sandbox)
    student = sandbox.launch("student")
    path = re.search(r'href="[^"]*/c/[^/]+(/practice/[^"?]+)"', student.text).group(1)
    for n in range(HISTORY):
        question = open_in_launch(student, tool, path)
        submit_form(question, path, answer=served_answer(tool, question, right=n % 2 == 0))
    objects: list[int] = []

    def made(target, _context, *_attrs) -> None:
        objects.append(target.id)

    sa.event.listen(ServedItem, "load", made)
    sa.event.listen(ServedItem, "refresh", made)
    try:
        question = open_in_launch(student, tool, path)
    finally:
        sa.event.remove(ServedItem, "load", made)
        sa.event.remove(ServedItem, "refresh", made)
    assert 'name="served"' in question.text
    # Before: each of the six answered questions twice (a load, then a refresh under the lock).
    assert objects == []
