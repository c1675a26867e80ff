"""A Proficient skill's plan step does not promise Mastered after "a little more practice" when the plan's own table
(and the practice feedback) says it takes five or more right answers and a break: a teacher's Proficient starts the answers
afresh."""

from __future__ import annotations

import html
import re

from tests.web.test_override_notes import _override

NAME = "Equivalent fractions"  # the demo pack's first skill, which _override sets to Proficient


def test_a_proficient_step_says_more_practice_not_a_little_when_the_table_says_five_more_answers(sandbox, tool):
    _override(sandbox, tool, note="Seen in class")
    plan = html.unescape(sandbox.launch("student").text)
    row = re.search(rf'<th scope="row">{NAME}</th>(.*?)</tr>', plan, re.S).group(1)
    needs = re.search(r"To reach Mastered: (\d+) more right answers", row)
    assert needs and int(needs.group(1)) >= 5, row  # the table's words for what Mastered still needs
    step = re.search(rf'<li class="step">\s*<h3>{NAME} <span[^>]*>Proficient</span></h3>\s*<p>(.*?)</p>', plan, re.S)
    assert step, "the plan offers no step for the skill"
    assert "You're Proficient already; more practice gets you to Mastered." in step.group(1)
    assert "a little more practice" not in plan
