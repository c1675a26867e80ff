"""Opening an address starts nothing: the unit check and the review start on their button's POST, with its CSRF token.

The session cookie is SameSite=None (Pathways lives in the LMS's frame), so another site's page can make a student's
browser GET any address of ours with that cookie (an <img>, an <iframe>), or post a form to us without our token.
Neither may start a sitting; a student's own button and reload go on as before.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _master, _practise
from tests.support import press, served_answer, submit_form
from tests.web.test_mixed_review import _follow, _plan, _ten_days_pass, _two_skills_mastered_and_due

FRACTIONS = "unit-fractions"
SERVED = re.compile(r'name="served" value="(\d+)"')


def _row_counts(tool) -> dict[str, int]:
    """Return how many rows each table holds."""
    with tool.app.app_context():
        counts = {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
                  for table in db.metadata.sorted_tables}
        db.session.remove()
        return counts


def _review_due_and_unit_check_offered(sandbox, tool):
    student, _, mastered = _two_skills_mastered_and_due(sandbox, tool)
    pack = load_pack(demo_pack_data())
    unit = next(u for u in pack.units if u.id == FRACTIONS).skills
    # Three of the unit's four skills started; a due skill practised would count as reviewed, so not those.
    begun = [s for s in unit if s in mastered]
    for skill_id in [s for s in unit if s not in mastered][:3 - len(begun)]:
        _practise(student, tool, skill_id, pack, right=False, times=1)
    plan = _plan(student)
    assert "Start the mixed review" in plan.text and "Start the unit check on Fractions" in plan.text
    return plan


def test_a_cross_site_get_of_the_unit_check_or_review_address_starts_nothing_and_a_post_without_the_token_is_refused(
        sandbox, tool):
    plan = _review_due_and_unit_check_offered(sandbox, tool)
    base = re.match(r".*/c/[^/?]+", plan.url).group(0)
    before = _row_counts(tool)

    # What an <img src> on another site sends: the student's cookie, no token. Each shows its Start button.
    pages = {button: plan.http.get(base + path, timeout=30)
             for path, button in ((f"/unit-check/{FRACTIONS}", "Start the unit check on Fractions"),
                                  ("/review", "Start the mixed review"))}
    assert _row_counts(tool) == before
    for button, page in pages.items():
        assert page.status_code == 200 and f'<button type="submit" autofocus>{button}</button>' in page.text

    # What another site's auto-posting form sends: no CSRF token (and no launch token).
    for path in (f"/unit-check/{FRACTIONS}/start", "/review/start"):
        assert plan.http.post(base + path, data={}, timeout=30).status_code == 400
    assert _row_counts(tool) == before


def test_the_plans_buttons_start_one_sitting_each_and_reopening_the_address_goes_on_with_it(sandbox, tool):
    plan = _review_due_and_unit_check_offered(sandbox, tool)
    base = re.match(r".*/c/[^/?]+", plan.url).group(0)

    question = _follow(plan, "Start the unit check on Fractions")  # one click, as the link was
    assert "Question 1 of 8." in question.text
    started = _row_counts(tool)
    # The address without its sitting (a bookmark, the back button) shows the sitting under way: no second one.
    again = plan.http.get(base + f"/unit-check/{FRACTIONS}", timeout=30)
    assert again.url == question.url and SERVED.search(again.text).group(1) == SERVED.search(question.text).group(1)
    assert _row_counts(tool) == started

    review = _follow(plan, "Start the mixed review")
    assert 'data-testid="review-label">Review<' in review.text and "run=" in review.url
    reloaded = plan.http.get(review.url, timeout=30)
    assert SERVED.search(reloaded.text).group(1) == SERVED.search(review.text).group(1)


def test_a_review_address_naming_no_sitting_of_the_students_own_is_not_found_and_starts_nothing(sandbox, tool):
    # Two students with reviews due: a sitting named wrongly must not start one for whoever opens the address.
    student, _, _ = _two_skills_mastered_and_due(sandbox, tool)
    pack = load_pack(demo_pack_data())
    other = sandbox.launch("student-2")
    _master(other, tool, pack.skill_graph.topological_order()[0], pack, sub=sandbox.sub("student-2"))
    _ten_days_pass(tool)
    plan, others_plan = _plan(student), _plan(other)
    assert "Start the mixed review" in plan.text and "Start the review" in others_plan.text
    base = re.match(r".*/c/[^/?]+", plan.url).group(0)

    def refused(run: int) -> None:
        before = _row_counts(tool)
        page = plan.http.get(base + f"/review?run={run}", timeout=30)  # what an <img src> on another site sends
        assert page.status_code == 404 and "That review was not given to you here." in page.text
        assert _row_counts(tool) == before

    refused(999999999)  # past every row: read as a sitting with no questions yet, it served one
    refused(0)
    others = _follow(others_plan, "Start the review")
    others_run = int(re.search(r"run=(\d+)", others.url).group(1))
    refused(others_run)  # another student's sitting
    refused(others_run + 1000)

    # The student's own button still starts their sitting, and its address goes on with it.
    review = _follow(plan, "Start the mixed review")
    started = _row_counts(tool)
    again = plan.http.get(review.url, timeout=30)
    assert again.status_code == 200 and SERVED.search(again.text).group(1) == SERVED.search(review.text).group(1)
    assert _row_counts(tool) == started


def _due(tool, skill_id: str, *, due: bool) -> None:
    """Put the skill's review a day past due, or a day ahead (not due)."""
    from datetime import timedelta

    from lti_tool.models import ReviewSchedule
    from lti_tool.models.base import utcnow

    with tool.app.app_context():
        row = db.session.scalars(sa.select(ReviewSchedule).where(ReviewSchedule.skill_id == skill_id)).one()
        row.due_at = utcnow() + timedelta(days=-1 if due else 1)
        db.session.commit()


def test_a_get_of_the_students_own_earlier_sitting_serves_nothing_when_a_skill_fell_due_since(sandbox, tool):
    # The review's address names a sitting by its first row's id, a small sequential number: another site can make
    # the student's browser GET it with their cookie. A skill that fell due since must not be served by that GET.
    student, _, (first, second) = _two_skills_mastered_and_due(sandbox, tool)
    _due(tool, second, due=False)
    question = _follow(_plan(student), "Start the review")
    feedback = re.sub(r"\s+", " ", submit_form(question, "/review", answer=served_answer(tool, question)).text)
    assert "See how your review went" in feedback and "Next review question" not in feedback
    _due(tool, second, due=True)
    before = _row_counts(tool)
    page = question.http.get(question.url, timeout=30)  # what an <img src> on another site sends
    assert page.status_code == 200 and SERVED.search(page.text) is None
    assert _row_counts(tool) == before
    # The student's own button (a POST with the token) goes on with the sitting: one click serves the next question,
    # and reloading its address keeps the student's place.
    page.http = question.http
    following = press(page, "Next review question")
    assert SERVED.search(following.text) is not None and following.url == question.url
    served = _row_counts(tool)
    again = question.http.get(following.url, timeout=30)
    assert SERVED.search(again.text).group(1) == SERVED.search(following.text).group(1)
    assert _row_counts(tool) == served


def test_answering_a_review_question_serves_no_next_one_until_the_student_asks_for_it(sandbox, tool):
    # A student who reads the feedback and walks away leaves no review question open (it would keep its item out of
    # practice); "Next review question" serves it.
    student, _, _ = _two_skills_mastered_and_due(sandbox, tool)
    question = _follow(_plan(student), "Start the mixed review")
    answered = _row_counts(tool)
    feedback = submit_form(question, "/review", answer=served_answer(tool, question))
    assert "Next review question" in feedback.text
    with tool.app.app_context():
        from lti_tool.models import ServedItem

        assert db.session.scalar(sa.select(sa.func.count()).select_from(ServedItem).where(
            ServedItem.answered_at.is_(None))) == 0
    assert _row_counts(tool)["served_item"] == answered["served_item"]
    following = _follow(feedback, "Next review question")
    assert SERVED.search(following.text).group(1) != SERVED.search(question.text).group(1)
