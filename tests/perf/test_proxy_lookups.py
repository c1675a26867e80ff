"""A student's page asks Flask's `g` through its proxy only a few times (issue 14).

Each attribute read through werkzeug's proxy (`g.launch`, `g.get(…)`, `"x" in g`) finds the request's context again:
a few microseconds, several times what reading the context's own `g` costs. The launch pages build a dozen
addresses each (every one asked `g` four times for the launch id and token), and every response's headers asked
it six more times; the code on every page now asks the proxy once per function (`g._get_current_object()`).
Counted over real HTTP through the sandbox LMS, on the plan page a student lands on.
"""

from __future__ import annotations

import flask
import pytest
import werkzeug.local

from tests.support import submit_form

# Look-ups of `g` through its proxy while the plan page is served: today's count is 37 (the templates, Flask-WTF,
# Flask-Babel, the views, the error and request-id hooks); 77 before, most of them the addresses' launch id and token.
CEILING = 40


@pytest.fixture()
def g_lookups(monkeypatch: pytest.MonkeyPatch):
    """Count the reads of `flask.g` through werkzeug's proxy (every _ProxyLookup bound to it) from now on."""
    counted: list[str] = []
    lookup = werkzeug.local._ProxyLookup.__get__

    def counting(self, instance, owner=None):
        if instance is flask.g:
            counted.append(self.name)
        return lookup(self, instance, owner)

    monkeypatch.setattr(werkzeug.local._ProxyLookup, "__get__", counting)
    return counted


def test_the_plan_page_asks_g_through_its_proxy_a_few_times(sandbox, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    page = sandbox.launch("student")
    counted = request.getfixturevalue("g_lookups")
    again = page.http.get(page.url, timeout=30)
    assert again.status_code == 200 and 'id="skills-heading"' in again.text
    assert 0 < len(counted) <= CEILING, (len(counted), counted)
