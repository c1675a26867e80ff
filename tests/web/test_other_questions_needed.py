"""A student whose next level lacks only right answers on other questions is told so on the practice feedback."""

from __future__ import annotations

import html
import re

from tests.support import served_answer, submit_form

SKILL = "percent"  # the demo pack's Percent: four fixed items and one template (pc-t1)
OTHER_QUESTIONS = "To move up, get different questions right, not just more of the same kind"


def _open_item(tool) -> str:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ServedItem

        return db.session.scalars(db.select(ServedItem.item_id).where(ServedItem.answered_at.is_(None))
                                  .order_by(ServedItem.id.desc())).first()


def test_right_answers_on_one_template_after_missing_the_other_items_say_other_questions_are_needed(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    practice = tool.url(re.search(r"/c/[^/]+/", student.url).group(0) + f"practice/{SKILL}")
    missed, right, feedback = set(), 0, None
    while right < 12:
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

    text = html.unescape(feedback.text)
    assert ">Familiar<" in text
    assert OTHER_QUESTIONS in text
