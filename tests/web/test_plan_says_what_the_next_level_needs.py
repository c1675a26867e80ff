"""The plan's table says, for each skill, what its next level still needs (from the mastery model's own rules), and
doing just that reaches it: a student is never left guessing how much more practice a level takes."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _days_pass, _levels, _practise
from tests.support import submit_form
from tests.web.test_mixed_review import _plan

PACK = load_pack(demo_pack_data())
SKILL = "frac-equivalent"
NAME = PACK.skills_by_id[SKILL].name


def _needs(student, name: str = NAME) -> str:
    row = re.search(rf'<th scope="row">{re.escape(name)}</th>(.*?)</tr>', html.unescape(_plan(student).text), re.S)
    found = re.search(r'<strong class="level-needs">([^<]*)</strong>', row.group(1))
    return found.group(1) if found else ""


def _told(text: str) -> int:
    return int(re.search(r"(\d+) more right answers?", text).group(1))


def test_each_row_says_what_the_next_level_needs_and_doing_that_reaches_it(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    assert _needs(student) == "To get started: answer one question on it."
    _practise(student, tool, SKILL, PACK, right=True, times=1)
    assert _levels(tool)[0][SKILL] == "Attempted"
    assert _needs(student) == "To reach Familiar: 1 more right answer."
    _practise(student, tool, SKILL, PACK, right=True, times=1)
    assert _levels(tool)[0][SKILL] == "Familiar"
    told = _needs(student)
    # Proficient asks for right answers on different questions: the row says how many, and that they must be.
    assert told.startswith("To reach Proficient: ") and "haven’t got right yet" in told, told
    _practise(student, tool, SKILL, PACK, right=True, times=_told(told))
    assert _levels(tool)[0][SKILL] == "Proficient"
    # Mastered needs another sitting too: the row says so with the count, and the count holds after the break.
    told = _needs(student)
    assert told.startswith("To reach Mastered: ") and "after a break of an hour or more" in told, told
    _days_pass(tool, 1)
    _practise(student, tool, SKILL, PACK, right=True, times=_told(told))
    assert _levels(tool)[0][SKILL] == "Mastered"
    assert _needs(student) == ""  # nothing above Mastered



def test_the_feedback_after_an_answer_says_what_the_plan_says_the_next_level_needs(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    feedback = _practise(student, tool, SKILL, PACK, right=True, times=1)
    said = re.search(r'<strong class="level-needs">([^<]*)</strong>', html.unescape(feedback.text))
    assert said and said.group(1) == "To reach Familiar: 1 more right answer."
    assert said.group(1) == _needs(student)
    feedback = _practise(student, tool, SKILL, PACK, right=False, times=1)
    said = re.search(r'<strong class="level-needs">([^<]*)</strong>', html.unescape(feedback.text))
    assert said and said.group(1) == _needs(student)
