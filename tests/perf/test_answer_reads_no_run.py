"""A practice answer's POST reads its question with the launch, not the run of misses on its skill (issue 14).

The POST redirects to its feedback page (Post/Redirect/Get), and that page reads the run up to the answer itself
(services/feedback.py) for "Try learning it another way". The POST read the run too, with the question in the
launch's statement: a scalar subquery per answer of the run, each with the teacher's levels since it
(`since_teachers_level`), for a count nothing used.
"""

from __future__ import annotations

from tests.support import open_in_launch, served_answer, statements_sent
from tests.web.test_ask_from_the_plan import SKILL, _missed_twice
from tests.web.test_feedback_after_redirect import _get, _post_answer

STUCK = "Try learning it another way"


def test_a_wrong_answer_after_misses_reads_no_run_and_its_feedback_still_offers_other_ways(sandbox, tool):
    plan = _missed_twice(sandbox, tool)  # two misses in a row on SKILL
    question = open_in_launch(plan, tool, f"/practice/{SKILL}")
    wrong = served_answer(tool, question, right=False)
    posted: list = []
    sent = statements_sent(tool, lambda: posted.append(_post_answer(question, f"/practice/{SKILL}", wrong)))
    assert posted[0].status_code == 303, posted[0].text[:500]

    launch = [statement for statement in sent if "FROM launch_session " in statement]
    assert len(launch) == 1, "\n".join(sent)
    # The answered question is joined to the launch; the run's answers were subqueries on another alias of its table.
    assert "JOIN served_item ON" in launch[0] and "served_item_" not in launch[0], launch[0]
    reads = [statement for statement in sent if statement.lstrip().upper().startswith("SELECT")]
    assert not any("mastery_event" in statement for statement in reads), "\n\n".join(reads)

    # The feedback page still counts the run (three misses in a row) and says so.
    feedback = _get(question, posted[0].headers["Location"])
    assert feedback.status_code == 200 and "Not quite." in feedback.text
    assert STUCK in feedback.text
