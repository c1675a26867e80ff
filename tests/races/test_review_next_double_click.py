"""A student double-clicks "Next review question" (or presses it in two tabs) in the mixed review.

Each press reads the sitting (which skills it asked, which question is open) and serves the next one: both must get
the same question page, and the sitting must hold one question per due skill, not the next skill twice or a third
question.
"""
from __future__ import annotations

import re

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import ServedItem
from lti_tool.services import reviews
from tests.races.support import in_parallel, meet_after_first_call
from tests.support import parse_form, served_answer, submit_form
from tests.web.test_mixed_review import _follow, _plan, _two_skills_mastered_and_due

SERVED = re.compile(r'name="served" value="(\d+)"')


def _review_rows(tool) -> list[tuple[str, bool]]:
    with tool.app.app_context():
        rows = [(r.skill_id, r.answered_at is not None) for r in db.session.scalars(
            sa.select(ServedItem).where(ServedItem.source == "review").order_by(ServedItem.id))]
        db.session.remove()
    return rows


def _press_next(feedback: requests.Response) -> requests.Response:
    """Press "Next review question" as one click of several: its own copy of the page's cookies."""
    http = requests.Session()
    http.cookies = feedback.http.cookies.copy()
    for match in re.finditer(r"<form[^>]*>.*?</form>", feedback.text, re.S):
        if "Next review question" in match.group(0):
            action, fields = parse_form(match.group(0), feedback.url)
            return http.post(action, data=fields, timeout=60)
    raise AssertionError(f"no Next review question button in {feedback.url}")


def test_a_double_clicked_next_review_question_serves_one_question(sandbox, tool, monkeypatch):
    student, _, skills = _two_skills_mastered_and_due(sandbox, tool)
    question = _follow(_plan(student), "Start the mixed review")
    feedback = submit_form(question, "/review", answer=served_answer(tool, question))
    assert "Next review question" in feedback.text
    # Both presses have read the sitting and chosen what to serve before either serves it.
    meet_after_first_call(monkeypatch, reviews, "_next_pick", parties=3)
    pages = in_parallel([lambda: _press_next(feedback)] * 3)

    assert [p.status_code for p in pages] == [200] * 3, [p.text[:300] for p in pages]
    shown = {SERVED.search(p.text).group(1) for p in pages if SERVED.search(p.text)}
    assert len(shown) == 1, [p.text[:300] for p in pages]  # every press shows the same question
    rows = _review_rows(tool)
    assert sorted(skill for skill, _ in rows) == sorted(skills), rows  # one question per due skill
    assert [answered for _, answered in rows].count(False) == 1
