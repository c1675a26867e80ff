"""A teacher double-clicks "Import" on a course pack, or the teacher and a TA import packs at the same moment.

Each import checks the pack, then makes it the course's content: every click must get a page (no 500), the course
must end up with exactly one content row holding one of the packs whole, and each click is told its pack was
imported. An import that checked its pack while another tab deleted the course's data inserted content for a course
no longer there: a foreign key error, a 500. It now takes the deletion's locks in its order and is refused.
"""
from __future__ import annotations

import json
import re
import threading

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, CourseContent, LaunchSession
from lti_tool.models.base import utcnow
from lti_tool.services import content, privacy
from lti_tool.services.content import demo_pack_data
from tests.races.support import demo_course, hold_first_call, in_parallel, meet_after_first_call
from tests.support import parse_form


def _import_form(page: requests.Response) -> tuple[str, dict[str, str]]:
    """The import's address in this launch and the page's CSRF token, as the course page's upload form posts them."""
    base = re.search(r"^.*/c/[^/]+/", page.url).group(0)
    _, fields = parse_form(page.text, page.url)
    return base + "content/import", {"csrf_token": fields["csrf_token"]}


def _pack(title: str) -> bytes:
    data = demo_pack_data()
    data["course"]["title"] = title
    return json.dumps(data).encode()


def _click(page: requests.Response, body: bytes) -> requests.Response:
    """Post the import form from this page with its own copy of the page's cookies (one click of several)."""
    http = requests.Session()
    http.cookies = page.http.cookies.copy()
    action, fields = _import_form(page)
    return http.post(action, data=fields, files={"pack": ("pack.json", body)}, timeout=60)


def _imports_at_once(monkeypatch, pages_and_bodies: list[tuple[requests.Response, bytes]]) -> list:
    # Every import has checked its pack before any writes it.
    meet_after_first_call(monkeypatch, content, "dump_pack", parties=len(pages_and_bodies))
    return in_parallel([lambda page=page, body=body: _click(page, body) for page, body in pages_and_bodies])


def _stored_titles(tool) -> list[str]:
    with tool.app.app_context():
        rows = db.session.scalars(sa.select(CourseContent)).all()
        titles = [row.pack["course"]["title"] for row in rows]
        db.session.remove()
    return titles


def test_a_double_clicked_first_import_imports_once_without_an_error(sandbox, tool, monkeypatch):
    teacher = sandbox.launch("teacher")
    body = _pack("Fractions, first term")
    answers = _imports_at_once(monkeypatch, [(teacher, body), (teacher, body)])
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    assert all("Imported “Fractions, first term”" in a.text for a in answers), [a.text[:600] for a in answers]
    assert _stored_titles(tool) == ["Fractions, first term"]


def test_teacher_and_ta_importing_at_once_both_get_a_page_and_one_pack_wins_whole(sandbox, tool, monkeypatch):
    teacher = sandbox.launch("teacher")
    ta = sandbox.launch("ta")
    answers = _imports_at_once(monkeypatch, [(teacher, _pack("Pack A")), (ta, _pack("Pack B")),
                                             (teacher, _pack("Pack A")), (ta, _pack("Pack B"))])
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:300] for a in answers]
    assert _stored_titles(tool) in (["Pack A"], ["Pack B"])
    # Replacing a pack that is already there, at once too.
    answers = _imports_at_once(monkeypatch, [(teacher, _pack("Pack C")), (ta, _pack("Pack D"))])
    assert [a.status_code for a in answers] == [200, 200], [a.text[:300] for a in answers]
    assert _stored_titles(tool) in (["Pack C"], ["Pack D"])


def test_an_import_while_another_tab_deletes_the_course_says_the_data_is_gone(sandbox, tool, monkeypatch):
    course_id, _, _, teacher = demo_course(sandbox, tool)
    page = sandbox.launch("teacher")
    reached, go = hold_first_call(monkeypatch, content, "dump_pack")
    answers: list = []
    importing = threading.Thread(target=lambda: answers.append(
        _click(page, _pack("Late pack"))))
    importing.start()
    assert reached.wait(20)
    with tool.app.app_context():
        launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == teacher)).first()
        privacy.delete_course(launch, typed_title="Grade 7 Mathematics", now=utcnow())
        db.session.remove()
    go.set()
    importing.join(60)
    (answer,) = answers
    assert answer.status_code < 500, answer.text[:500]  # it was a 500: the content's foreign key
    # Led back to the course, which is gone: the page says why the pack was not imported.
    assert "The course&#39;s data is deleted" in answer.text
    assert _stored_titles(tool) == []
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is None
        db.session.remove()
