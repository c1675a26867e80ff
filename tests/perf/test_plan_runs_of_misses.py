"""The plan page reads the runs of misses of all its steps in one statement, not one per step (an N+1 the load
bench showed: students answering at random leave several steps after two misses)."""

from __future__ import annotations

from tests.support import open_in_launch, served_answer, statements_sent, submit_form

MISSED = "Your last answers on it missed"
ASSIGNED = ("frac-add-sub", "percent")  # assigned steps come first on the plan, whatever the unit shown


def _miss_twice(student, tool, skill_id: str) -> None:
    for _ in range(2):
        question = open_in_launch(student, tool, f"/practice/{skill_id}")
        submit_form(question, f"/practice/{skill_id}", answer=served_answer(tool, question, right=False))


def test_a_plan_with_several_steps_after_misses_costs_what_a_plan_with_one_costs(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    for skill_id in ASSIGNED:
        page = open_in_launch(teacher, tool, "/class/assignments")
        assert "Assigned to 1 student." in submit_form(page, "/class/assignments", target="class",
                                                       skill_id=skill_id).text
    _miss_twice(student, tool, ASSIGNED[0])
    assert open_in_launch(student, tool, "/").text.count(MISSED) == 1
    one = statements_sent(tool, lambda: open_in_launch(student, tool, "/"))
    _miss_twice(student, tool, ASSIGNED[1])
    assert open_in_launch(student, tool, "/").text.count(MISSED) == 2
    two = statements_sent(tool, lambda: open_in_launch(student, tool, "/"))
    assert len(two) == len(one), "\n".join(two)


def test_misses_in_a_row_on_different_skills_cost_the_plan_no_statement(sandbox, tool):
    # One miss on the plan's first step and one on another skill: no step follows two misses on its skill, but the
    # learner-wide row's run of answers ("*", every answer's) ends in two misses. Asked about the first step, the
    # runs were read for every row ending so, that row among them (it has no practice answer of its own): a
    # statement more on the plan than before the answers.
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    open_in_launch(student, tool, "/")
    before = statements_sent(tool, lambda: open_in_launch(student, tool, "/"))
    for skill_id in ("frac-equivalent", "frac-add-sub"):  # the demo plan's first step for a new student, another
        question = open_in_launch(student, tool, f"/practice/{skill_id}")
        submit_form(question, f"/practice/{skill_id}", answer=served_answer(tool, question, right=False))
    plan = open_in_launch(student, tool, "/")
    assert "Your next steps" in plan.text and MISSED not in plan.text
    after = statements_sent(tool, lambda: open_in_launch(student, tool, "/"))
    assert len(after) == len(before), "\n".join(after)
