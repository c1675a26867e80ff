"""A student double-clicks "Add goal" or "Save my reflection" (or sends the same form from two tabs) at once.

Neither write looked for what the other had just kept: the plan listed the same goal twice, and the teacher's
reflections page showed each answer twice. Both now look again under the learner's lock, so the second post finds
the first one's rows and keeps nothing more.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Reflection, StudentGoal
from lti_tool.services import goals, reflections
from tests.races.support import meet_after_first_call
from tests.races.test_one_question_on_two_pages import _tab
from tests.support import submit_form
from tests.web.test_agency import FIRST_SKILL, _open, _setup_course


def _twice_at_once(form, path: str, **fields) -> list:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda tab: submit_form(tab, path, **fields), [_tab(form), _tab(form)]))


def _rows(tool, model) -> list:
    with tool.app.app_context():
        rows = db.session.scalars(sa.select(model)).all()
        db.session.remove()
    return rows


def test_a_goal_added_twice_at_once_is_kept_once(sandbox, tool, monkeypatch):
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "My goals")
    meet_after_first_call(monkeypatch, goals, "course_skill_names")  # both have checked the form before either writes
    pages = _twice_at_once(form, "/goals", title="Fractions by the test", why="I want to feel sure",
                           by_date="2031-06-30", skill_ids=[FIRST_SKILL])
    assert [page.status_code for page in pages] == [200, 200]
    assert all("Goal added: Fractions by the test" in page.text for page in pages)
    assert [goal.title for goal in _rows(tool, StudentGoal)] == ["Fractions by the test"]
    # A different goal, or the same one again once the first is done, is a goal of its own.
    submit_form(form, "/goals", title="Fractions by the test", why="", by_date="2031-06-30", skill_ids=[FIRST_SKILL])
    assert len(_rows(tool, StudentGoal)) == 2


def test_a_reflection_saved_twice_at_once_is_kept_once(sandbox, tool, monkeypatch):
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Reflect")
    meet_after_first_call(monkeypatch, reflections, "require_pack")
    pages = _twice_at_once(form, "/reflect", skill_id=FIRST_SKILL, answer_0="Finding a common denominator",
                           answer_1="Draw fraction bars first")
    assert [page.status_code for page in pages] == [200, 200]
    assert all("your reflection is saved" in page.text for page in pages)
    assert sorted(row.text for row in _rows(tool, Reflection)) == ["Draw fraction bars first",
                                                                     "Finding a common denominator"]
    # Another answer is a new reflection, even beside one kept a moment ago.
    submit_form(form, "/reflect", answer_0="Finding a common denominator", answer_1="Ask my teacher")
    assert len(_rows(tool, Reflection)) == 4


def test_a_goal_added_twice_at_once_as_the_last_one_allowed_says_added_on_both_pages(sandbox, tool, monkeypatch):
    # The first post takes the last place under the cap; the second (whose page the browser shows) found the cap
    # before the goal it repeats, and said "You have 50 goals already".
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "My goals")
    submit_form(form, "/goals", title="Goal 1", why="", by_date="", skill_ids=[FIRST_SKILL])
    with tool.app.app_context():
        first = db.session.scalars(sa.select(StudentGoal)).one()
        db.session.add_all(StudentGoal(course_id=first.course_id, person_id=first.person_id, title=f"Goal {n}",
                                       why="", skill_ids=[]) for n in range(2, goals.MAX_GOALS))
        db.session.commit()
        db.session.remove()
    meet_after_first_call(monkeypatch, goals, "course_skill_names")
    pages = _twice_at_once(form, "/goals", title="The last one", why="", by_date="", skill_ids=[FIRST_SKILL])
    assert [page.status_code for page in pages] == [200, 200]
    assert all("Goal added: The last one" in page.text for page in pages), [p.text[-3000:] for p in pages]
    assert len(_rows(tool, StudentGoal)) == goals.MAX_GOALS
    # One more, a goal of its own, is refused by the cap.
    refused = submit_form(form, "/goals", title="One too many", why="", by_date="", skill_ids=[])
    assert "You have 50 goals already" in refused.text and len(_rows(tool, StudentGoal)) == goals.MAX_GOALS
