"""The plan and feedback pages use their macro modules as Jinja keeps them, not run again for every page (issue 14).

`{% from "x.html" import m with context %}` runs the whole of x.html again on every page, with a new context made
from the page's (about 0.15 million instructions a plan page, 1.5% of it). The skill map's and the celebration's
macros read nothing but Jinja's globals (url_for, the translations, the map's helpers), so they are imported
without the page's context: Jinja runs each module once per process and keeps it. The macros still draw in the
page's language (the globals look the language up when called); tests/web/test_i18n.py and the Spanish tests say so.
"""

from __future__ import annotations

import pytest
from jinja2 import Template

from tests.support import open_in_launch, served_answer, submit_form


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
