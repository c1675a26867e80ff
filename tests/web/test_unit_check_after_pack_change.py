"""A unit check under way when the teacher changes the course pack (a unit's skills changed, the unit gone, its
open questions gone) is stranded: the next time the student touches it, it is closed, its unanswered questions
count as open nowhere and earn nothing, the answers already given stay the evidence they were, and the student
gets the unit's new check instead of a dead end."""

from __future__ import annotations

import copy
import html
import json
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _levels, _practise
from tests.support import answer_for_served, served_answer, submit_form, upload_file
from tests.web.test_mixed_review import _follow, _plan
from tests.web.test_unit_check import FRACTIONS, SERVED

ENDED = ("Your teacher changed the course while you had a unit check open, so that check has ended and a new one "
         "starts here. The answers you gave still count.")
NOT_SAVED = ("Your teacher changed the course while you had this unit check open, so your last answer could not be "
             "saved. Your earlier answers still count, and a new check starts here.")
RUN = re.compile(r"run=(\d+)")


def _import(sandbox, data: dict) -> None:
    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "pack.json", json.dumps(data).encode()).text


def _unit_check_rows(tool) -> dict[int, tuple[str, str, bool, bool | None]]:
    """Return the unit-check questions served: id -> (skill, item, answered or closed, how judged)."""
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ServedItem

        return {s.id: (s.skill_id, s.item_id, s.answered_at is not None, s.correct) for s in db.session.scalars(
            db.select(ServedItem).where(ServedItem.source == "unit_check").order_by(ServedItem.id))}


def _evidence(tool) -> tuple[list, list]:
    """Return the unit check's answers and mastery events."""
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse, MasteryEvent

        answers = [(r.item_id, r.correct) for r in db.session.scalars(
            db.select(ItemResponse).where(ItemResponse.source == "unit_check").order_by(ItemResponse.id))]
        events = [(e.skill_id, e.old_level, e.new_level) for e in db.session.scalars(
            db.select(MasteryEvent).where(MasteryEvent.source == "unit_check").order_by(MasteryEvent.id))]
        return answers, events


def _student_midway(sandbox, tool, answers: list[bool]):
    """Return (the student, the demo pack data, the next question's page) after answering the first questions of
    the Fractions check (frac-equivalent, frac-add-sub, frac-multiply, frac-divide, then round two) as `answers`."""
    data = demo_pack_data()
    _import(sandbox, data)
    pack = load_pack(data)
    student = sandbox.launch("student")
    for skill_id in ["frac-equivalent", "frac-add-sub", "frac-multiply"]:
        _practise(student, tool, skill_id, pack, right=False, times=1)
    question = _follow(_plan(student), "Start the unit check on Fractions")
    for right in answers:
        feedback = submit_form(question, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, question, right=right))
        question = _follow(feedback, "Next question")
    return student, data, question


def _without_fraction_division(data: dict) -> dict:
    changed = copy.deepcopy(data)
    fractions = next(u for u in changed["units"] if u["id"] == FRACTIONS)
    fractions["skills"] = ["frac-equivalent", "frac-add-sub", "frac-multiply"]
    return changed


def test_a_check_stranded_by_a_unit_losing_a_skill_is_closed_and_the_units_new_check_can_start(sandbox, tool):
    # Three questions answered (one on each skill the unit keeps), then the teacher took fraction division out of
    # Fractions. The old sitting fitted no unit any more and stayed open for ever, and its three answers marked
    # every skill of the new Fractions "checked": the plan offered no Fractions check at all.
    student, data, old_question = _student_midway(sandbox, tool, [True, False, True])
    old_run = RUN.search(old_question.url).group(1)
    before = _unit_check_rows(tool)
    given = _evidence(tool)
    levels = _levels(tool)[0]
    assert len(given[0]) == 3

    _import(sandbox, _without_fraction_division(data))
    plan = _plan(student)
    assert "Start the unit check on Fractions<" in plan.text
    new = _follow(plan, "Start the unit check on Fractions")
    text = html.unescape(new.text)
    assert new.status_code == 200 and "Question 1 of 6." in text and ENDED in text
    assert RUN.search(new.url).group(1) != old_run

    rows = _unit_check_rows(tool)
    old = {id_: rows[id_] for id_ in before}
    # The old sitting is over: what was answered stays as judged, the rest is closed without an answer.
    assert [(done, correct) for _, _, done, correct in old.values()] == [
        (True, True), (True, False), (True, True)] + [(True, None)] * 5
    # Closing earned nothing and took nothing away: the three answers are still the only evidence it gave.
    assert _evidence(tool) == given and _levels(tool)[0] == levels
    # Its summary counts the three answers only: no miss for the questions it never asked.
    summary = html.unescape(new.http.get(new.url.split("?")[0] + "/summary", params={"run": old_run},
                                         timeout=30).text)
    assert re.findall(r"<td>(\d of \d)</td>", summary) == ["1 of 1", "0 of 1", "1 of 1"]
    # The old tab, reloaded, goes on with the new check (the plan's "Continue" does too).
    reloaded = new.http.get(old_question.url, timeout=30)
    assert reloaded.status_code == 200 and reloaded.url == new.url
    assert "Continue the unit check on Fractions<" in _plan(student).text


def test_an_answer_to_a_stranded_checks_open_question_counts_and_next_question_starts_the_new_check(sandbox, tool):
    # The student had the third question open when the unit changed: the answer counted, and "Next question"
    # went on with the old sitting (question 4 of 6), which no plan link would ever reach again.
    student, data, third = _student_midway(sandbox, tool, [True, True])
    old_run = int(RUN.search(third.url).group(1))
    _import(sandbox, _without_fraction_division(data))

    feedback = submit_form(third, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, third))
    assert feedback.status_code == 200 and "Right" in feedback.text
    assert _evidence(tool)[0][-1] == (_unit_check_rows(tool)[int(SERVED.search(third.text).group(1))][1], True)
    # "Next question" is a link (a GET, which starts nothing): it says why, and the button starts the new check.
    offered = _follow(feedback, "Next question")
    assert ENDED in html.unescape(offered.text)
    new = _follow(offered, "Start the unit check on Fractions")
    assert "Question 1 of 6." in html.unescape(new.text)
    assert int(RUN.search(new.url).group(1)) > old_run
    rows = _unit_check_rows(tool)
    assert [correct for id_, (_, _, _, correct) in rows.items() if old_run <= id_ < old_run + 8] == [
        True, True, True] + [None] * 5

    # An answer to another of the old sitting's questions (an old tab's form) is refused plainly: nothing recorded.
    answers = _evidence(tool)[0]
    division = next(id_ for id_, (skill, _, _, _) in rows.items() if skill == "frac-divide" and id_ < old_run + 8)
    refused = third.http.post(third.url.split("?")[0], data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', third.text).group(1),
        "run": str(old_run), "served": str(division), "answer": answer_for_served(tool, division)}, timeout=30)
    refused_text = html.unescape(refused.text)
    assert refused.status_code == 200 and "Question 1 of 6." in refused_text and NOT_SAVED in refused_text
    assert ENDED not in refused_text  # it does not say "the answers you gave still count" of the refused one
    assert _evidence(tool)[0] == answers


def test_a_check_whose_open_questions_left_the_pack_starts_again_instead_of_looping_to_its_summary(sandbox, tool):
    # The teacher's new pack renamed the questions the sitting had left open. They were skipped but stayed open,
    # so "Continue the unit check" opened the summary, whose "Back to my plan" offered "Continue" again, for ever.
    student, data, _ = _student_midway(sandbox, tool, [True, False])
    open_items = {item for _, item, done, _ in _unit_check_rows(tool).values() if not done}
    changed = copy.deepcopy(data)
    for activity in changed["activities"]:
        for item in activity.get("items", []):
            if item["id"] in open_items:
                item["id"] += "-new"
    _import(sandbox, changed)

    question = _follow(_plan(student), "Continue the unit check on Fractions")
    text = html.unescape(question.text)
    assert "Question 1 of 8." in text and ENDED in text
    again = _follow(_plan(student), "Continue the unit check on Fractions")
    assert again.url == question.url and ENDED not in html.unescape(again.text)
    assert not [item for _, item, done, _ in _unit_check_rows(tool).values() if item in open_items and not done]


def test_a_check_of_a_unit_that_is_gone_answers_plainly_and_is_closed_when_the_new_units_check_starts(sandbox, tool):
    student, data, old_question = _student_midway(sandbox, tool, [True, False])
    changed = _without_fraction_division(data)
    next(u for u in changed["units"] if u["id"] == FRACTIONS)["id"] = "unit-fractions-new"
    _import(sandbox, changed)
    given = _evidence(tool)

    for page in (old_question.http.get(old_question.url, timeout=30),
                 submit_form(old_question, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, old_question))):
        assert page.status_code == 404 and "That unit is not part of this course." in html.unescape(page.text)
    # Touched on its old page, the sitting is closed there: nothing was answered, and nothing is open any more.
    old_run = int(RUN.search(old_question.url).group(1))
    old = [(done, correct) for id_, (_, _, done, correct) in _unit_check_rows(tool).items() if id_ >= old_run]
    assert old == [(True, True), (True, False)] + [(True, None)] * 6
    assert _evidence(tool) == given

    new = _follow(_plan(student), "Start the unit check on Fractions")
    assert "/unit-check/unit-fractions-new" in new.url and "Question 1 of 6." in html.unescape(new.text)
    assert _evidence(tool) == given
