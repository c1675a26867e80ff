"""Mastered needs answers over two sittings (an hour or more apart): a student who has shown everything else is
told to take a break and come back, not promised that a little more practice now gets them there."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _levels, _practise
from tests.support import submit_form
from tests.web.test_mixed_review import _plan

SKILL = "frac-equivalent"
COME_BACK = "take a break of an hour or more, then come back and show it sticks"


def test_ten_right_in_one_sitting_says_take_a_break_and_come_back_for_mastered(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    student = sandbox.launch("student")
    feedback = _practise(student, tool, SKILL, pack, right=True, times=10)
    assert _levels(tool)[0][SKILL] == "Proficient"  # 10 of 10 right, all in one sitting
    assert COME_BACK in html.unescape(feedback.text)
    plan = html.unescape(_plan(student).text)
    step = re.search(r'<li class="step">\s*<h3>Equivalent fractions <span[^>]*>Proficient</span></h3>\s*<p>(.*?)</p>',
                     plan, re.S)
    assert step, "the plan offers no step for the skill"
    assert COME_BACK in step.group(1)
    assert "a little more practice gets you to Mastered" not in step.group(1)
    row = re.search(r'<th scope="row">Equivalent fractions</th>(.*?)</tr>', plan).group(1)
    assert COME_BACK in row



def test_a_skill_waiting_only_for_another_sitting_is_the_last_next_step_not_the_first(sandbox, tool):
    # The plan's first step said "Equivalent fractions … take a break of an hour or more, then come back" above a
    # "Practise Equivalent fractions" button, with skills the student could learn right now listed below it.
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    student = sandbox.launch("student")
    _practise(student, tool, SKILL, pack, right=True, times=10)
    plan = html.unescape(_plan(student).text)
    steps = re.findall(r'<li class="step">\s*<h3>([^<]+?) <span', plan)
    assert len(steps) > 1 and "Equivalent fractions" in steps
    assert steps[-1] == "Equivalent fractions"
