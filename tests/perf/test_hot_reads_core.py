"""A student's plan, question and feedback pages read nothing through the ORM, their launch included (issue 14).

The plan page's due reviews and assigned skills (with the waiting unit-check questions), the open practice question
shown again, and the answered question with its level changes were ORM-enabled statements: the session set up the
ORM's result handling and loading for each, though the pages read only values. They are Core statements on the
tables now, with the same SQL. So is the launch every page opens (its six rows, and an answer's question read with
them): services/launches.open_launch makes their objects from one Core statement's values. Counted over HTTP with SQLAlchemy's `do_orm_execute` event, which tells an ORM
statement (`is_orm_statement`) from a Core one.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from tests.support import open_in_launch, submit_form, teacher_with_demo_pack

PRACTICE = "/practice/frac-equivalent"


@pytest.fixture()
def orm_reads() -> list[str]:
    """The primary mapped class of each ORM-enabled SELECT any session runs, from now on ("?" when none is)."""
    seen: list[str] = []

    def note(state: so.ORMExecuteState) -> None:
        if state.is_select and state.is_orm_statement:
            seen.append(state.bind_mapper.class_.__name__ if state.bind_mapper is not None else "?")

    sa.event.listen(so.Session, "do_orm_execute", note)
    yield seen
    sa.event.remove(so.Session, "do_orm_execute", note)


def test_the_pages_read_nothing_through_the_orm(sandbox, tool, request):
    teacher_with_demo_pack(sandbox)
    student = sandbox.launch("student")
    question = open_in_launch(student, tool, PRACTICE)  # served: the next look finds it open
    seen = request.getfixturevalue("orm_reads")
    plan = student.http.get(student.url, timeout=30)
    assert plan.status_code == 200 and 'id="skills-heading"' in plan.text
    again = open_in_launch(student, tool, PRACTICE)
    assert again.status_code == 200 and 'name="served"' in again.text
    assert seen == []  # before: the launch's on each page, and the plan page's two reads and the open question
    answered = submit_form(question, PRACTICE, answer="1")  # the POST, then the feedback page it redirects to
    assert answered.status_code == 200 and "/answered/" in answered.url
    assert "LaunchSession" not in seen and "ServedItem" not in seen  # the launch and the question it answers
    seen.clear()
    shown = student.http.get(answered.url, timeout=30)  # the feedback page again (reload)
    assert shown.status_code == 200 and shown.text.count("<h2>") >= 1
    assert seen == []  # before: the launch's, and the answered question and its level changes
