"""One question open on two pages at once: answered on both at the same moment, or "Show a hint" clicked twice.

Credit was decided when a question was served, so the same fixed question served by practice and by a unit check
before either was answered carried credit on both rows, and both answers earned it. It is now settled when the
answer is claimed, under the learner's lock: of two answers posted together, one earns credit. Hints are counted
on the served row by a conditional update: a double click on "Show a hint" shows and counts one hint.
"""

from __future__ import annotations

import copy
import html
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.mastery import ALL_SKILLS, SkillState
from lti_tool.models import ItemResponse, ServedItem, SkillMastery
from lti_tool.services import mastery
from lti_tool.web import hints
from tests.support import open_in_launch, served_answer, served_item, start_in_launch, submit_form
from tests.web.test_practice_evidence import ONLY, SERVED, _one_question_course


def _tab(page: requests.Response) -> requests.Response:
    """Return the page open in another tab of the same browser (the same session cookie, its own connection)."""
    tab = requests.Session()
    tab.cookies.update(page.http.cookies)
    copied = copy.copy(page)
    copied.http = tab
    return copied


def _answered_yesterday(tool) -> None:
    """Move the learner's answers a day back: the skill's rows exist, and the next copies are served with credit."""
    with tool.app.app_context():
        for row in db.session.scalars(sa.select(ServedItem).where(ServedItem.answered_at.is_not(None))):
            row.served_at -= timedelta(days=1)
            row.answered_at -= timedelta(days=1)
        for response in db.session.scalars(sa.select(ItemResponse)):
            response.answered_at -= timedelta(days=1)
        db.session.commit()
        db.session.remove()


def test_one_question_answered_at_once_in_practice_and_a_unit_check_earns_credit_once(sandbox, tool, monkeypatch):
    home = _one_question_course(sandbox, tool)
    # Answered once yesterday, so both answers below find the skill's mastery row there to lock (the first answer
    # on a skill creates it, and two such answers meet on that insert and start again, one after the other).
    first = open_in_launch(home, tool, "/practice/frac-equivalent")
    submit_form(first, "/practice/frac-equivalent", answer=served_answer(tool, first))
    _answered_yesterday(tool)
    practice = _tab(open_in_launch(home, tool, "/practice/frac-equivalent"))
    check = _tab(start_in_launch(home, tool, "/unit-check/unit-fractions"))
    assert served_item(tool, SERVED.search(practice.text).group(1)).id == ONLY
    assert served_item(tool, SERVED.search(check.text).group(1)).id == ONLY
    assert "does not change your level" not in practice.text + check.text
    both_read = threading.Barrier(2)
    original = mastery.served

    def read_then_wait(*args, **kwargs):  # both answers have read their question before either is claimed
        question = original(*args, **kwargs)
        try:
            both_read.wait(3)
        except threading.BrokenBarrierError:
            pass  # an answer started again (not expected here): the barrier held it up once
        return question

    monkeypatch.setattr(mastery, "served", read_then_wait)
    posts = [(practice, "/practice/frac-equivalent"), (check, "/unit-check/unit-fractions")]
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda post: submit_form(post[0], post[1], answer=served_answer(tool, post[0])),
                              posts))
    assert [p.status_code for p in pages] == [200, 200]
    repeats = ["You answered this question in the last 12 hours" in html.unescape(p.text) for p in pages]
    with tool.app.app_context():
        answers = db.session.scalars(sa.select(ItemResponse).order_by(ItemResponse.id)).all()[1:]
        overall = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == ALL_SKILLS)).one()
        rows = db.session.scalars(sa.select(ServedItem).where(ServedItem.answered_at.is_not(None))
                                  .order_by(ServedItem.id)).all()[1:]
        db.session.remove()
    assert sorted(a.credited for a in answers) == [False, True], [(a.source, a.credited) for a in answers]
    assert SkillState.from_dict(overall.state).attempts == 2  # yesterday's answer and one of these
    assert sorted(r.credit for r in rows) == [False, True]
    assert sorted(repeats) == [False, True]  # the page of the answer without credit says so


def test_a_double_click_on_show_a_hint_shows_and_counts_one_hint(sandbox, tool, monkeypatch):
    home = _one_question_course(sandbox, tool)
    page = open_in_launch(home, tool, "/practice/frac-equivalent")
    item = served_item(tool, SERVED.search(page.text).group(1))
    clicks = threading.Barrier(2)
    original = hints.show_hint

    def together(*args, **kwargs):  # both clicks reach the count before either has raised it
        try:
            clicks.wait(3)
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    monkeypatch.setattr(hints, "show_hint", together)
    with ThreadPoolExecutor(2) as pool:
        shown = list(pool.map(lambda tab: submit_form(tab, "/practice/frac-equivalent", show_hint="1"),
                              [_tab(page), _tab(page)]))
    for hinted in shown:
        assert hinted.status_code == 200
        assert html.escape(item.hints[0]) in hinted.text and html.escape(item.hints[1]) not in hinted.text
        assert 'name="hints" value="1"' in hinted.text
    submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, page))  # the form without the hint
    with tool.app.app_context():
        assert db.session.scalars(sa.select(ItemResponse.hints_used)).all() == [1]
        db.session.remove()
