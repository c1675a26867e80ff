"""A student whose mastered skills fall due gets a labelled mixed review on the plan, answers it once, and sees
which skills held."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _days_pass, _master, first_skill_mastered
from tests.support import press, served_answer, submit_form


def _follow(page, link_text: str):
    """Follow the link whose text is `link_text`, or press the button so labelled, like a click."""
    match = re.search(r'href="([^"]+)"[^>]*>' + re.escape(link_text) + "<", page.text)
    if match is None:
        return press(page, link_text)
    followed = page.http.get(page.url.split("/c/")[0] + html.unescape(match.group(1)), timeout=30)
    followed.http = page.http
    return followed


def _plan(student):
    plan = student.http.get(student.url, timeout=30)
    plan.http = student.http
    return plan


def _records(tool):
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse, ReviewSchedule, ServedItem

        responses = [(r.item_id, r.source, r.correct) for r in db.session.scalars(
            db.select(ItemResponse).order_by(ItemResponse.id))]
        due = {s.skill_id: s.due_at for s in db.session.scalars(db.select(ReviewSchedule))}
        served = [(s.skill_id, s.source, s.answered_at is not None) for s in db.session.scalars(
            db.select(ServedItem).where(ServedItem.source == "review").order_by(ServedItem.id))]
        return responses, due, served


def _ten_days_pass(tool) -> None:
    """Move the review dates and the questions' served and answered times back, as if ten days had passed."""
    _days_pass(tool, 10)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse, ServedItem

        for row in db.session.scalars(db.select(ServedItem)):
            row.served_at -= timedelta(days=10)
            if row.answered_at is not None:
                row.answered_at -= timedelta(days=10)
        for row in db.session.scalars(db.select(ItemResponse)):
            row.answered_at -= timedelta(days=10)
        db.session.commit()


def _two_skills_mastered_and_due(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    first, second = pack.skill_graph.topological_order()[:2]
    student = sandbox.launch("student")
    _master(student, tool, first, pack)
    assert "Quick review" not in _plan(student).text  # mastered, but not due yet
    _master(student, tool, second, pack)
    _ten_days_pass(tool)
    return student, {s.id: s.name for s in pack.skills}, (first, second)


def test_student_with_two_skills_due_takes_the_mixed_review_and_each_answer_counts_as_that_skills_review(
    sandbox, tool
):
    student, names, skills = _two_skills_mastered_and_due(sandbox, tool)
    plan = _plan(student)
    assert "Quick review: 2 skills to keep fresh" in plan.text
    _, due_before, _ = _records(tool)
    answers_before = len(_records(tool)[0])

    question = _follow(plan, "Start the mixed review")
    text = html.unescape(question.text)
    assert 'data-testid="review-label">Review<' in text
    assert "You learned this before — let’s check it stuck." in text
    feedback = submit_form(question, "/review", answer=served_answer(tool, question))
    assert "That&#39;s right!" in feedback.text or "That's right!" in feedback.text
    assert "It stuck" in feedback.text

    question = _follow(feedback, "Next review question")
    assert 'data-testid="review-label">Review<' in question.text
    reloaded = question.http.get(question.url, timeout=30)
    served_id = re.compile(r'name="served" value="(\d+)"')
    assert served_id.search(reloaded.text).group(1) == served_id.search(question.text).group(1)  # same question
    feedback = submit_form(question, "/review", answer=served_answer(tool, question, right=False))
    assert "Not quite." in feedback.text
    assert "come back tomorrow" in feedback.text
    summary = _follow(feedback, "See how your review went")

    responses, due_after, served = _records(tool)
    assert [source for _, source, _ in responses[answers_before:]] == ["review", "review"]
    # The review took turns: one question for each due skill, and each answer moved that skill's schedule.
    assert sorted(skill for skill, _, _ in served) == sorted(skills)
    now = datetime.now(UTC).replace(tzinfo=None)
    for skill_id in skills:
        assert due_before[skill_id] < now < due_after[skill_id]
    held, again = served[0][0], served[1][0]
    text = html.unescape(summary.text)
    assert re.search(r"Still strong</h2>.*<li>" + re.escape(names[held]) + "</li>", text, re.S)
    assert re.search(r"Needs more practice</h2>.*Practise " + re.escape(names[again]), text, re.S)
    back = _follow(summary, "Back to my plan")
    assert "Quick review" not in back.text  # nothing is due any more


def test_posting_an_answered_review_question_again_changes_nothing(sandbox, tool):
    student, _, _ = _two_skills_mastered_and_due(sandbox, tool)
    question = _follow(_plan(student), "Start the mixed review")
    answer = served_answer(tool, question, right=False)
    submit_form(question, "/review", answer=answer)
    recorded = _records(tool)

    again = submit_form(question, "/review", answer=served_answer(tool, question))  # the right answer, this time
    assert "You had already answered this question" in html.unescape(again.text)
    assert "Not quite." in again.text  # the first answer's result
    assert _records(tool) == recorded


def test_with_nothing_due_the_plan_offers_no_review_and_the_review_page_goes_back_to_the_plan(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    plan = _plan(sandbox.launch("student"))
    assert "Your next steps" in plan.text
    assert "Quick review" not in plan.text
    assert 'class="review-label"' not in plan.text
    home = plan.url.split("?")[0].rstrip("/")
    page = plan.http.get(home + "/review", timeout=30)
    assert page.url.split("?")[0].rstrip("/") == home
    assert "Nothing to review right now" in page.text
    assert _records(tool)[2] == []


def test_a_student_whose_lms_speaks_spanish_gets_the_review_in_spanish(sandbox, tool):
    _two_skills_mastered_and_due(sandbox, tool)
    pending = sandbox.begin("student")
    presentation = {"document_target": "iframe", "locale": "es-MX"}
    plan = pending.post(pending.resign(**{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":
                                          presentation}))
    assert "Repaso rápido: 2 habilidades para mantener frescas" in plan.text
    question = _follow(plan, "Empezar el repaso mixto")
    assert 'data-testid="review-label">Repaso<' in question.text
    assert "Ya aprendiste esto antes: vamos a comprobar que no se te olvidó." in html.unescape(question.text)



def _hints_used(tool) -> list[tuple[str, int]]:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse

        return [(r.source, r.hints_used) for r in db.session.scalars(db.select(ItemResponse).order_by(ItemResponse.id))]


def test_a_hint_shown_on_a_review_question_stays_shown_and_counts_though_the_answer_form_says_none(sandbox, tool):
    student, _, _ = _two_skills_mastered_and_due(sandbox, tool)
    answers_before = len(_hints_used(tool))
    question = _follow(_plan(student), "Start the mixed review")
    assert '<div class="hints"' not in question.text
    hinted = submit_form(question, "/review", show_hint="1")
    assert '<div class="hints"' in hinted.text
    assert '<div class="hints"' in question.http.get(question.url, timeout=30).text  # a reload keeps it
    # The answer posted from the page before the hint (hints=0): the review was still aided (rated Hard, not Good).
    submit_form(question, "/review", answer=served_answer(tool, question), hints="0")
    assert _hints_used(tool)[answers_before:] == [("review", 1)]


def test_a_review_that_brings_a_skill_back_to_mastered_celebrates_it(sandbox, tool):
    # The practice and unit-check pages celebrate a skill reaching Mastered; the review page only listed the change.
    student, pack, skill = first_skill_mastered(sandbox, tool)
    _ten_days_pass(tool)
    with tool.app.app_context():  # as if a failed review had taken it back to Proficient (its answers still strong)
        from lti_tool.extensions import db
        from lti_tool.models import SkillMastery

        db.session.scalars(db.select(SkillMastery).where(SkillMastery.skill_id == skill)).one().level = "Proficient"
        db.session.commit()

    question = _follow(_plan(student), "Start the review")
    feedback = submit_form(question, "/review", answer=served_answer(tool, question))
    name = next(s.name for s in pack.skills if s.id == skill)
    assert f"You mastered {name}!" in html.unescape(feedback.text)


def test_with_one_skill_due_the_review_speaks_of_that_one_skill(sandbox, tool):
    student, pack, skill_id = first_skill_mastered(sandbox, tool)
    _ten_days_pass(tool)
    plan = _plan(student)
    name = next(s.name for s in pack.skills if s.id == skill_id)
    one = f"You learned this before: {name}. A few questions check it stuck, so you keep it."
    assert "Quick review: 1 skill to keep fresh" in plan.text
    page = plan.http.get(plan.url.split("?")[0].rstrip("/") + "/review", timeout=30)
    for text in (html.unescape(plan.text), html.unescape(page.text)):
        assert one in text
        assert "You learned these before" not in text


def _missed_box(page) -> str:
    found = re.search(r'data-testid="reviews-missed">(.*?)</section>', html.unescape(page.text), re.S)
    return found.group(1) if found else ""


def test_a_review_missed_and_left_midway_is_still_shown_coming_back_on_the_plan_and_the_next_summary(sandbox, tool):
    student, names, _ = _two_skills_mastered_and_due(sandbox, tool)
    question = _follow(_plan(student), "Start the mixed review")
    missed_name = re.search(r'<span class="visually-hidden">: </span>([^<]+)</h1>', html.unescape(question.text))
    feedback = submit_form(question, "/review", answer=served_answer(tool, question, right=False))
    assert "Not quite" in feedback.text
    # The student leaves here, before the summary: the plan still says the missed skill comes back, and when.
    plan = _plan(student)
    box = _missed_box(plan)
    missed = next(name for name in names.values() if name in box) if box else None
    assert missed, "the plan does not say the missed review comes back"
    assert missed_name is None or missed == missed_name.group(1).strip()
    assert f"Practise {missed}" in box and "review again on" in box
    assert "Coming back: 1 skill you missed in a review" in box
    # The other skill is still due; its review's summary names the earlier miss too, though it was another sitting.
    question = _follow(plan, "Start the review")
    feedback = submit_form(question, "/review", answer=served_answer(tool, question))
    summary = _follow(feedback, "See how your review went")
    assert "Still strong" in summary.text
    assert missed in _missed_box(summary)
