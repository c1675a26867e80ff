"""The launch's rows that open_launch makes from one Core statement's values behave as rows the ORM loaded.

services/launches.open_launch builds the launch, its person, course, content, placement-check run and placement
with models.base.RowsAsLoaded, which sets SQLAlchemy's object state directly (its dict, its identity key), and
gives the launch the load options a joinedload leaves (`state.load_options`, `load_path`), so a refresh after a
commit reads the person and the course with it. Both are SQLAlchemy internals: a release that changes them would
not break a page, only add statements quietly (an UPDATE of rows nothing changed on every page, a statement
for the person or the course after a commit). Counted over HTTP with the engine's `before_cursor_execute`.
"""

from __future__ import annotations

import re

from tests.support import open_in_launch, served_answer, statements_sent, submit_form, teacher_with_demo_pack

PRACTICE = "/practice/frac-equivalent"
_LAUNCH_ROW_TABLES = ("person", "course", "course_content", "diagnostic_run", "placement")


def _updates_of_launch_rows(statements: list[str]) -> list[str]:
    return [s for s in statements if re.match(rf'\s*UPDATE\s+"?({"|".join(_LAUNCH_ROW_TABLES)})"?\s', s, re.I)]


def test_the_launch_rows_a_page_reads_are_written_back_by_no_statement(sandbox, tool):
    teacher_with_demo_pack(sandbox)
    student = sandbox.launch("student")
    question = open_in_launch(student, tool, PRACTICE)
    pages = {}
    pages["plan"] = statements_sent(tool, lambda: student.http.get(student.url, timeout=30))
    pages["answer"] = statements_sent(tool, lambda: submit_form(question, PRACTICE, answer=served_answer(tool, question)))
    for page, statements in pages.items():
        assert statements, page
        assert _updates_of_launch_rows(statements) == [], page


def test_a_launch_read_again_after_a_commit_brings_its_person_and_course_in_the_same_statement(sandbox, tool):
    teacher = sandbox.launch("teacher")
    # Importing the demo pack commits, and the page goes on with the launch, which the commit expired: it is read
    # again, with its person and course (as a joinedload's row is), not then each of them on its own.
    statements = statements_sent(tool, lambda: submit_form(teacher, "/content/demo"))
    launch_reads = [s for s in statements if re.search(r'\bFROM\s+"?launch_session"?', s, re.I)
                    and re.search(r'\bWHERE\s+"?launch_session"?\."?id"?\s*=', s, re.I)]
    refreshed = [s for s in launch_reads if "course_content" not in s]  # not open_launch's own statement
    assert refreshed, launch_reads
    assert all(re.search(r'JOIN\s+"?person"?', s) and re.search(r'JOIN\s+"?course"?', s) for s in refreshed), refreshed
