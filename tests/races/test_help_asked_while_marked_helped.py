"""A student asks their teacher for help while the teacher, on the needs-help page, marks them helped.

"Mark as helped" closed every open request of the student, also one the student sent after the teacher's page was
drawn (another skill, a moment or a lesson later): it left the list unseen, and the student was never helped with
it. The button now closes the requests its page showed.
"""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor

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
