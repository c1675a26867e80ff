"""A page's templates read the Jinja globals as a plain dict, not through a ChainMap (issue 14).

Jinja gives each template a ChainMap over the environment's globals, and a ChainMap's methods are Python: each render
copied it key by key into the page's context, and each include and macro import listed its keys again (about 240
Python calls on the answer page). The templates now share the environment's dict (page_templates.py).
Counted over real HTTP through the sandbox LMS, on the answer page (two macro imports, one with context, and two
includes) and the plan page.
"""

from __future__ import annotations

import collections
import re

import pytest

from tests.support import submit_form


@pytest.fixture()
def chain_map_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count, from now on, the reads through any ChainMap (its look-ups, membership tests and key listings)."""
    counted: list[str] = []
    for name in ("__getitem__", "__contains__", "__iter__", "get"):
        inner = getattr(collections.ChainMap, name)

        def counting(self, *args, _inner=inner, _name=name, **kwargs):
            counted.append(_name)
            return _inner(self, *args, **kwargs)

        monkeypatch.setattr(collections.ChainMap, name, counting)
    return counted


def test_the_plan_and_answer_pages_read_no_chain_map(sandbox, tool, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    page = sandbox.launch("student")
    counted = request.getfixturevalue("chain_map_reads")
    plan = page.http.get(page.url, timeout=30)
    assert plan.status_code == 200 and 'id="skills-heading"' in plan.text
    question = page.http.get(page.url.split("?")[0].rstrip("/") + "/practice/frac-equivalent", timeout=30)
    question.http = page.http
    answered = submit_form(question, "/practice/frac-equivalent", answer="1")
    assert answered.status_code == 200 and re.search(r"<h2>(Not quite\.|That&#39;s right!)</h2>", answered.text)
    assert counted == []  # before: 187 on these three pages
    # The templates' globals are the environment's own, so a global added now is seen by a template loaded before.
    template = tool.app.jinja_env.get_template("base.html")
    assert template.globals is tool.app.jinja_env.globals
