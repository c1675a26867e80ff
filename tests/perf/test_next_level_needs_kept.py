"""What the next level needs is projected once for the same states, not again on every page that says it (issue 14).

`MasteryModel.next_level_needs` projects right answers through the model one at a time (`_answered`, each a
`record`): about 1.7 million instructions a plan page for one practised skill. The plan page shown again, or after
the feedback page that told the same, asks it about the same states: the model keeps its answers. Counted over HTTP
by the projected answers the model records while the page is served.
"""

from __future__ import annotations

import html
import re

import pytest

from lti_tool.learning.coursepack import load_pack
from lti_tool.learning.mastery import MasteryModel
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _practise
from tests.support import submit_form
from tests.web.test_mixed_review import _plan

PACK = load_pack(demo_pack_data())
SKILL = "frac-equivalent"


@pytest.fixture()
def projected(monkeypatch) -> list[int]:
    """The answers `next_level_needs` projects from now on (the model's own method, called through)."""
    seen: list[int] = []
    answered = MasteryModel._answered

    def counted(self, *args, **kwargs):
        seen.append(1)
        return answered(self, *args, **kwargs)

    monkeypatch.setattr(MasteryModel, "_answered", counted)
    return seen


def _needs_said(page) -> list[str]:
    return re.findall(r'<strong class="level-needs">([^<]*)</strong>', html.unescape(page.text))


def test_the_plan_shown_again_projects_nothing_again(sandbox, tool, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    feedback = _practise(student, tool, SKILL, PACK, right=True, times=2)  # Familiar: Proficient is projected
    seen = request.getfixturevalue("projected")
    first = _plan(student)
    assert first.status_code == 200 and any(said.startswith("To reach Proficient") for said in _needs_said(first))
    again = _plan(student)
    assert _needs_said(again) == _needs_said(first)  # the same words
    assert feedback.status_code == 200
    assert len(seen) == 0, seen  # before: every plan page projected every practised skill again
