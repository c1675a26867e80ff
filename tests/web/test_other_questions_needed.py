"""A student whose next level lacks only right answers on other questions is told so on the practice feedback."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from tests.perf.test_hot_reads_core import orm_reads  # noqa: F401 (a fixture)
from tests.support import served_answer, submit_form

SKILL = "percent"  # the demo pack's Percent: four fixed items and one template (pc-t1)
OTHER_QUESTIONS = "To move up, get different questions right, not just more of the same kind"
NOT_NOW = "More questions on this skill won’t move you up right now"


def _open_item(tool) -> str:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ServedItem

        return db.session.scalars(db.select(ServedItem.item_id).where(ServedItem.answered_at.is_(None))
                                  .order_by(ServedItem.id.desc())).first()


def _right_on_the_template_after_missing_the_other_items(sandbox, tool) -> str:
    """Miss Percent's four fixed items, then answer its template right twelve times; return the last feedback."""
    return html.unescape(_feedback_after_missing_the_other_items(sandbox, tool).text)


def _feedback_after_missing_the_other_items(sandbox, tool, rights: int = 12):
    """The walk of `_right_on_the_template_after_missing_the_other_items` (`rights` right answers on the template):
    its last feedback page's response."""
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    practice = tool.url(re.search(r"/c/[^/]+/", student.url).group(0) + f"practice/{SKILL}")
    missed, right, feedback = set(), 0, None
    while right < rights:
        question = student.http.get(practice)
        question.http = student.http
        item_id = _open_item(tool)
        if item_id == "pc-t1" and len(missed) == 4:
            right += 1
        feedback = submit_form(question, f"practice/{SKILL}",
                               answer=served_answer(tool, question) if item_id == "pc-t1" else "999999 wrong")
        if item_id != "pc-t1":
            missed.add(item_id)
        text = html.unescape(feedback.text)
        if right == 0:
            assert OTHER_QUESTIONS not in text  # misses lack more than other items

    feedback.http = student.http
    return feedback


def test_right_answers_on_one_template_after_missing_the_other_items_say_other_questions_are_needed(sandbox, tool):
    text = _right_on_the_template_after_missing_the_other_items(sandbox, tool)
    assert ">Familiar<" in text
    # The missed items earn credit again only after a break (serving.SESSION): the page says so in the student's
    # words, not "get different questions right", which asks for what the student cannot choose.
    assert NOT_NOW in text and OTHER_QUESTIONS not in text


def test_when_no_question_can_count_until_a_break_the_feedback_leads_to_another_skill_not_more_of_the_same(
        sandbox, tool):
    # The walk at 375 px: ten right answers in a row on one template after missing the fixed items, each page
    # focusing "Next question": every one of them practice that could not move the level.
    text = _right_on_the_template_after_missing_the_other_items(sandbox, tool)
    # The way on is another skill, focused; "Next question" is still there for practice, but not the first move.
    next_up = re.search(r'<p class="next-up">.*?<a class="button" href="[^"]*/practice/([^"/]+)" autofocus>', text,
                        re.S)
    assert next_up and next_up.group(1) != SKILL
    assert not re.search(rf'href="[^"]*/practice/{SKILL}"[^>]*autofocus', text)



def test_the_feedback_saying_no_question_can_count_now_reads_nothing_through_the_orm(sandbox, tool, request):
    # Asking whether a question could count read the skill's whole history as ORM objects, on every view of the
    # feedback page (a reload too), where every other read is a Core statement (tests/perf/test_hot_reads_core.py).
    feedback = _feedback_after_missing_the_other_items(sandbox, tool)
    seen = request.getfixturevalue("orm_reads")
    again = feedback.http.get(feedback.url, timeout=30)
    assert NOT_NOW in html.unescape(again.text)
    assert seen == []


def test_a_question_that_can_count_open_in_another_tab_is_not_said_to_wait_for_a_break(sandbox, tool):
    # Once a missed question's break is over it can count again, and "Next question" in a second tab serves it.
    # Left out as open elsewhere, the first tab's feedback, shown again, still said no question could count before
    # a break, though "Next question" there shows that very question.
    feedback = _feedback_after_missing_the_other_items(sandbox, tool)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ServedItem
        from lti_tool.services.serving import SESSION

        for row in db.session.scalars(db.select(ServedItem).where(ServedItem.item_id == "pc-1")):
            row.served_at -= SESSION + timedelta(minutes=5)
            row.answered_at -= SESSION + timedelta(minutes=5)
        db.session.commit()
    second_tab = feedback.http.get(feedback.url.split("/answered/")[0], timeout=30)
    assert second_tab.status_code == 200 and _open_item(tool) == "pc-1"
    again = html.unescape(feedback.http.get(feedback.url, timeout=30).text)
    assert "Practise: " in again and NOT_NOW not in again


LATER = "A question you missed comes back for another try only after a long break (about half a day)."


def test_a_target_counting_right_answers_on_missed_questions_says_they_come_back_after_a_break(sandbox, tool):
    # The walk's third right answer on the template: "To reach Proficient: 5 more right answers, 2 of them on
    # questions you haven't got right yet", where the only such questions are the ones just missed, which cannot
    # count before a break: the student, asked for them, got the template again and again.
    text = html.unescape(_feedback_after_missing_the_other_items(sandbox, tool, rights=3).text)
    target = re.search(r'<strong class="level-needs">([^<]*)</strong>', text).group(1)
    assert "2 of them on questions you haven’t got right yet" in target
    assert target.endswith(LATER) and NOT_NOW not in text


def test_a_target_of_right_answers_only_on_missed_questions_leads_on_as_no_question_can_count_now(sandbox, tool):
    # The walk's sixth: "To reach Proficient: 2 more right answers, on questions you haven't got right yet", the
    # missed ones, waiting out a break, with "Next question" focused on the template that could not move the level.
    text = html.unescape(_feedback_after_missing_the_other_items(sandbox, tool, rights=6).text)
    assert NOT_NOW in text and "on questions you haven’t got right yet" not in text
    assert not re.search(rf'href="[^"]*/practice/{SKILL}"[^>]*autofocus', text)


def test_a_missed_question_open_only_in_a_unit_check_does_not_send_the_student_back_to_more_of_the_same(
        sandbox, tool):
    # A missed question whose break is over but which is open in the unit check (or a review) is left out of
    # practice: "Next question" serves the template again, which cannot move the level. The feedback counted it as
    # a question that could count now, dropped "won't move you up right now" and focused "Next question": right
    # answer after right answer on the template again. Only practice's own open question is what "Next question"
    # shows.
    feedback = _feedback_after_missing_the_other_items(sandbox, tool)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ServedItem
        from lti_tool.services.serving import SESSION

        missed = list(db.session.scalars(db.select(ServedItem).where(ServedItem.item_id == "pc-1")))
        for row in missed:
            row.served_at -= SESSION + timedelta(minutes=5)
            row.answered_at -= SESSION + timedelta(minutes=5)
        db.session.add(ServedItem(course_id=missed[0].course_id, person_id=missed[0].person_id, skill_id=SKILL,
                                  item_id="pc-1", params={}, variant=missed[0].variant, source="unit_check"))
        db.session.commit()
    again = html.unescape(feedback.http.get(feedback.url, timeout=30).text)
    assert NOT_NOW in again
    assert not re.search(rf'href="[^"]*/practice/{SKILL}"[^>]*autofocus', again)


def test_a_student_who_missed_nothing_is_not_told_about_questions_they_missed(sandbox, tool):
    # Two right answers on Percent, no miss: "To reach Proficient: 1 more right answer, on a question you haven't
    # got right yet" went on "A question you missed comes back ... after a long break", to a student who missed none.
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    practice = tool.url(re.search(r"/c/[^/]+/", student.url).group(0) + f"practice/{SKILL}")
    targets = []
    for _ in range(2):
        question = student.http.get(practice)
        question.http = student.http
        text = html.unescape(submit_form(question, f"practice/{SKILL}", answer=served_answer(tool, question)).text)
        targets.append(re.search(r'<strong class="level-needs">([^<]*)</strong>', text).group(1))
    assert "on a question you haven’t got right yet" in targets[-1], targets
    assert not any(LATER in target for target in targets), targets
