"""Deleting a user from the LMS's Data Privacy Launch, double-clicked, or while the student answers a question.

A double click's two requests both read whose data to delete before either deleted anything. The second then
waited for the first, deleted nothing, logged a second deletion of the same person in every course and told the
administrator it had removed their data (0 records). It now reads the person again under the locks, and says the
data is already deleted.
"""
from __future__ import annotations

import re
import threading

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Enrollment, ItemResponse, Person, ServedItem
from lti_tool.services import mastery, privacy
from tests.races.support import demo_course, hold_first_call, in_parallel, meet_after_first_call
from tests.races.test_student_delete_double_click import _deletions
from tests.support import answer_for_served, parse_form
from tests.web.test_privacy import _get, _link, _privacy_launch

ALREADY = "already deleted"


def _left_of(tool, person_id: int) -> dict[str, int]:
    with tool.app.app_context():
        left = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                                       .where(model.person_id == person_id))
                for model in (Enrollment, ServedItem, ItemResponse)}
        db.session.remove()
    return left


def _confirm_page(sandbox, tool) -> requests.Response:
    page = _privacy_launch(sandbox, "teacher", "student-1")
    assert page.status_code == 200, page.text[:300]
    return _get(page, tool, _link(page, "/privacy/user/delete"))


def _click(confirm: requests.Response) -> requests.Response:
    """Post the confirmation as one click of several: its own copy of the page's cookies, its own answer."""
    http = requests.Session()
    http.cookies = confirm.http.cookies.copy()
    for match in re.finditer(r"<form[^>]*>.*?</form>", confirm.text, re.S):
        action, fields = parse_form(match.group(0), confirm.url)
        if action.split("?")[0].endswith("/privacy/user/delete"):
            answer = http.post(action, data={**fields, "confirm": "yes"}, allow_redirects=False, timeout=60)
            if answer.status_code != 303:
                return answer
            return http.get(requests.compat.urljoin(answer.url, answer.headers["Location"]), timeout=30)
    raise AssertionError("no form posting to /privacy/user/delete")


def _text(page: requests.Response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)).replace("&#39;", "'")


def test_a_double_clicked_user_deletion_deletes_and_logs_once_and_the_second_click_says_so(sandbox, tool,
                                                                                           monkeypatch):
    course = demo_course(sandbox, tool)
    confirm = _confirm_page(sandbox, tool)
    assert confirm.status_code == 200, confirm.text[:300]
    meet_after_first_call(monkeypatch, privacy, "privacy_deletion_scope")
    pages = in_parallel([lambda: _click(confirm)] * 2)

    assert all(p.status_code < 500 for p in pages), [_text(p)[:300] for p in pages]
    said_deleted = [p for p in pages if "Pathways removed" in _text(p)]
    assert len(said_deleted) == 1, [_text(p)[:400] for p in pages]
    (other,) = [p for p in pages if p not in said_deleted]
    assert ALREADY in _text(other), _text(other)[:600]
    assert _deletions(tool) == 1
    assert _left_of(tool, course.student) == {"enrollment": 0, "served_item": 0, "item_response": 0}


def test_a_user_deletion_while_the_student_answers_leaves_nothing_of_theirs(sandbox, tool, monkeypatch):
    course = demo_course(sandbox, tool)
    student = sandbox.launch("student")
    practice = _get(student, tool, _link(student, "/practice/[^\"/]+"))
    served = re.search(r'name="served" value="(\d+)"', practice.text).group(1)
    confirm = _confirm_page(sandbox, tool)
    # The answer is checked and holds the learner's lock when the deletion comes; the deletion waits for it.
    reached, go = hold_first_call(monkeypatch, mastery, "_lock_skills")
    answers: list = []
    answering = threading.Thread(target=lambda: answers.append(_post_answer(practice, served, tool)))
    answering.start()
    assert reached.wait(20)
    deleting: list = []
    deleter = threading.Thread(target=lambda: deleting.append(_click(confirm)))
    deleter.start()
    deleter.join(2)  # long enough for the deletion to be waiting for the answer
    go.set()
    answering.join(60)
    deleter.join(60)
    (answer,), (deleted,) = answers, deleting
    assert answer.status_code < 500 and deleted.status_code < 500, (_text(answer)[:300], _text(deleted)[:300])
    assert "Pathways removed" in _text(deleted)
    assert _left_of(tool, course.student) == {"enrollment": 0, "served_item": 0, "item_response": 0}
    with tool.app.app_context():
        assert db.session.get(Person, course.student).sub.startswith("deleted-")
        db.session.remove()


def _post_answer(practice: requests.Response, served: str, tool) -> requests.Response:
    for match in re.finditer(r"<form[^>]*>.*?</form>", practice.text, re.S):
        action, fields = parse_form(match.group(0), practice.url)
        if fields.get("served") == served:
            return practice.http.post(action, data={**fields, "answer": answer_for_served(tool, served)},
                                      timeout=60)
    raise AssertionError("no answer form")
