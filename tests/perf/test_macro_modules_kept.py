"""The plan and feedback pages use their macro modules as Jinja keeps them, not run again for every page (issue 14).

`{% from "x.html" import m with context %}` runs the whole of x.html again on every page, with a new context made
from the page's (about 0.15 million instructions a plan page, 1.5% of it). The skill map's and the celebration's
macros read nothing but Jinja's globals (url_for, the translations, the map's helpers), so they are imported
without the page's context: Jinja runs each module once per process and keeps it. The macros still draw in the
page's language (the globals look the language up when called); tests/web/test_i18n.py and the Spanish tests say so.
The parts many pages draw (the flashes, the tab's binding, the reload on Back, the way back to the LMS) are macros
imported the same way: as includes, each made a new context from a copy of the page's on every page.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from jinja2 import Template

from tests.lti.test_platform_storage import StorageLaunch
from tests.support import SandboxActions, open_in_launch, served_answer, submit_form


@pytest.fixture()
def modules_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count, from now on, each template run as a module (an import with context, or the first import of one)."""
    counted: list[str] = []
    inner = Template.make_module

    def counting(self, *args, **kwargs):
        counted.append(self.name)
        return inner(self, *args, **kwargs)

    monkeypatch.setattr(Template, "make_module", counting)
    return counted


def _pages(page, tool):
    """Open the plan, a practice question and the feedback on its (right) answer; return the plan."""
    plan = open_in_launch(page, tool, "/")
    question = open_in_launch(page, tool, "/practice/frac-equivalent")
    feedback = submit_form(question, "/practice/frac-equivalent", answer=served_answer(tool, question))
    assert "That&#39;s right!" in feedback.text and 'data-testid="my-map"' in plan.text
    return plan


def test_the_plan_and_feedback_pages_run_their_macro_modules_once_per_process(sandbox, tool, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    page = sandbox.launch("student")
    _pages(page, tool)  # the first pages of the process load and run each module once
    counted = request.getfixturevalue("modules_run")
    plan = _pages(page, tool)
    assert counted == []  # before: ["_skill_map.html", "student/_celebration.html"], on every plan and feedback page
    assert 'class="map-legend"' in plan.text and 'class="map-level map-level-' in plan.text


#: Parts of many pages, each drawn by a macro imported without the page's context (round 22 of bench/README.md).
#: As `{% include %}`s, each made a new context from a copy of the page's on every page that drew it.
PAGE_PARTS = {"_flashes.html", "_tab_binding.html", "student/_fresh_on_back.html", "lti/_back_to_lms.html"}


@pytest.fixture()
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Name, from now on, each template given a new context (a page, an include, an import with context)."""
    made: list[str] = []
    inner = Template.new_context

    def naming(self, *args, **kwargs):
        made.append(self.name)
        return inner(self, *args, **kwargs)

    monkeypatch.setattr(Template, "new_context", naming)
    return made


def test_the_pages_parts_are_drawn_without_a_copy_of_the_pages_context(make_tool, request):
    launch = StorageLaunch(SandboxActions(make_tool(DEFAULT_COURSE_PACK="demo")))
    home = launch.confirm()  # a cookie-less launch: its pages carry the tab's binding too
    practice = urljoin(home.url, re.search(r'href="([^"]*/practice/[^"]*)"', home.text).group(1).replace("&amp;", "&"))
    launch.http.get(practice, timeout=30)  # the first pages of the process load and run each module once
    made = request.getfixturevalue("contexts_made")
    plan = launch.http.get(home.url, timeout=30)
    question = launch.http.get(practice, timeout=30)
    assert plan.status_code == question.status_code == 200
    # Before: the plan made one for each of the four parts besides its own, the question two.
    assert made.count("student/home.html") == 1 and not PAGE_PARTS & set(made), made
    for page in (plan, question):  # the parts are still drawn: the binding's script, the reload on Back
        assert 'data-token-seconds="' in page.text and "location.reload()" in page.text
        assert '<main id="main" tabindex="-1">\n    \n' in page.text  # where the flashes go, none here
