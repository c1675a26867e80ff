"""A student opens one skill's practice page in several tabs at once, then answers every copy.

Serving reads the learner's history (what is open, which variants were answered) and then inserts the question
it chose, with its credit decided from that history: parallel loads once each served a question of their own, the
same one, all with credit, so one question earned mastery credit once per tab (PostgreSQL).
"""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from lti_tool.services import serving
from tests.races.test_parallel_answers import _practice_skills
from tests.support import answer_for_served, submit_form

TABS = 6


def test_parallel_practice_page_loads_serve_one_question_and_credit_it_once(sandbox, tool, monkeypatch):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    home = sandbox.launch("student")
    base = re.search(r"/c/[^/?]+", home.url).group(0)
    (skill,) = _practice_skills(1)
    start, read = threading.Barrier(TABS), threading.Barrier(TABS)
    original = serving._history

    def history_then_wait(*args, **kwargs):  # every load has read the history before any serves
        rows = original(*args, **kwargs)
        if not kwargs.get("fresh"):  # the read under the learner's lock (fixed code) is not held up
            try:
                read.wait(2)
            except threading.BrokenBarrierError:
                pass  # the loads are serialised: the others wait for this one's lock
        return rows

    def load(_):
        tab = requests.Session()
        tab.cookies.update(home.http.cookies)
        start.wait()
        page = tab.get(tool.url(f"{base}/practice/{skill}"), timeout=30)
        return tab, page

    with monkeypatch.context() as patched:
        patched.setattr(serving, "_history", history_then_wait)
        with ThreadPoolExecutor(TABS) as pool:
            tabs = list(pool.map(load, range(TABS)))
    assert all(page.status_code == 200 for _, page in tabs), [page.status_code for _, page in tabs]
    served_ids = {re.search(r'name="served" value="(\d+)"', p.text).group(1) for _, p in tabs}
    for tab, page in tabs:
        fields = dict(re.findall(r'name="(csrf_token|served|hints)" value="([^"]*)"', page.text))
        fields["answer"] = answer_for_served(tool, fields["served"])
        assert tab.post(tool.url(f"{base}/practice/{skill}"), data=fields, timeout=30).status_code == 200
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse, ServedItem

        rows = db.session.scalars(db.select(ServedItem)).all()
        answers = db.session.scalars(db.select(ItemResponse)).all()
        credited_variants = [r.variant for r in rows if r.credit and r.answered_at is not None]
        db.session.remove()
    assert len(credited_variants) == len(set(credited_variants)), "one variant credited more than once in a session"
    assert sum(1 for a in answers if a.credited) == 1, [(a.item_id, a.credited) for a in answers]
    assert len(served_ids) == 1, f"{len(served_ids)} questions served to {TABS} parallel loads of one page"
