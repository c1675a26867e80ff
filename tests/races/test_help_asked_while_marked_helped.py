"""A student asks their teacher for help while the teacher, on the needs-help page, marks them helped.

"Mark as helped" closed every open request of the student, also one the student sent after the teacher's page was
drawn (another skill, a moment or a lesson later): it left the list unseen, and the student was never helped with
it. The button now closes the requests its page showed. Asking again on a skill moves its open request's time, so
the button closed also an ask made again after the page was drawn (a stale tab, a new struggle): the form now carries
when each request was asked, and one asked since stays open, the teacher told so.
"""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import HelpRequest
from tests.races.test_one_question_on_two_pages import _tab
from tests.support import submit_form
from tests.web.test_teach_not_only_test import _question, _student


def _help_page(teacher, tool):
    page = teacher.http.get(tool.url(re.search(r'href="([^"]*/class/needs-help)"', teacher.text).group(1)))
    page.http = teacher.http
    return page


def _open_requests(tool) -> list[str]:
    with tool.app.app_context():
        skills = db.session.scalars(sa.select(HelpRequest.skill_id).where(HelpRequest.resolved_at.is_(None))
                                    .order_by(HelpRequest.skill_id)).all()
        db.session.remove()
    return list(skills)


def test_a_request_sent_after_the_teachers_page_was_drawn_stays_on_the_list_when_they_mark_the_student_helped(
        sandbox, tool):
    teacher, student = _student(sandbox)
    submit_form(_question(student, tool), "/practice/frac-equivalent/ask")
    help_page = _help_page(teacher, tool)
    assert "Asked for help with Equivalent fractions today." in help_page.text

    # While the teacher helps with that one, the student asks about another skill.
    asked = submit_form(_question(student, tool, "frac-add-sub"), "/practice/frac-add-sub/ask")
    assert "Your teacher will see that you asked for help with" in html.unescape(asked.text)
    done = submit_form(help_page, "/class/needs-help/helped")

    assert "Marked as helped." in done.text
    assert "Asked for help with Equivalent fractions" not in done.text
    assert "Asked for help with Add and subtract fractions today." in done.text  # before: gone, unseen
    assert _open_requests(tool) == ["frac-add-sub"]


def test_ask_my_teacher_pressed_twice_at_once_puts_the_student_on_the_list_once(sandbox, tool):
    teacher, student = _student(sandbox)
    question = _question(student, tool)
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda tab: submit_form(tab, "/practice/frac-equivalent/ask"),
                              [_tab(question), _tab(question)]))
    assert [page.status_code for page in pages] == [200, 200]
    assert _open_requests(tool) == ["frac-equivalent"]
    assert _help_page(teacher, tool).text.count("Asked for help with Equivalent fractions today.") == 1


def _student_page(help_page, tool):
    page = help_page.http.get(tool.url(re.search(r'<h2><a href="([^"]*/students/\d+)"', help_page.text).group(1)))
    page.http = help_page.http
    return page


@pytest.mark.parametrize("where", ["needs help", "student"])
def test_a_request_asked_again_after_the_teachers_page_was_drawn_stays_open_and_the_teacher_is_told(
        sandbox, tool, where):
    teacher, student = _student(sandbox)
    question = _question(student, tool)  # drawn before the ask: it keeps its "Ask my teacher" button
    submit_form(question, "/practice/frac-equivalent/ask")
    page = _help_page(teacher, tool)
    page = page if where == "needs help" else _student_page(page, tool)
    assert "asked_at_" in page.text

    # After the page was drawn the student asks again (the same open request, asked at a later time).
    submit_form(question, "/practice/frac-equivalent/ask")
    done = submit_form(page, "/class/needs-help/helped")

    text = html.unescape(done.text)
    assert "Marked as helped." not in text  # before: closed, and the new ask never seen
    assert "asked for help again after this page was shown: that request is still open." in text
    assert _open_requests(tool) == ["frac-equivalent"]
    # The page it leads back to shows the new ask; marking helped from there closes it.
    assert "Marked as helped." in submit_form(done, "/class/needs-help/helped").text
    assert _open_requests(tool) == []
