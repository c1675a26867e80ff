"""A student's typed answers in Redis (services/typed_answers.py) and the deletion of their data: removed when Redis
answers; when it is down the deletion still works, and what stays behind in Redis no one can read any more."""

from __future__ import annotations

import json
import re

import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from lti_tool.extensions import db
from lti_tool.models import LaunchSession, Person
from tests.support import SandboxActions, submit_form
from tests.web.test_page_defects import _practice_with_hints
from tests.web.test_privacy import _get, _link

from .conftest import TEST_REDIS_URL

TYPED = "Priya thinks 3/4 because pizza"


def _typed_entries(client: redis.Redis) -> dict[bytes, bytes]:
    return {key: client.get(key) for key in client.scan_iter("*typed-answer*")}


def _typed_then_hint(tool) -> tuple[SandboxActions, str]:
    """The student types, asks for a hint and sees what they typed again; return the sandbox and their launch id."""
    sandbox = SandboxActions(tool)
    page, skill_id, _item = _practice_with_hints(sandbox, tool, "text")
    hinted = submit_form(page, f"/practice/{skill_id}", answer=TYPED, show_hint="1")
    assert hinted.status_code == 200 and f'value="{TYPED}"' in hinted.text
    return sandbox, re.search(r"/c/([^/]+)/", hinted.url).group(1)


def _delete_form(sandbox, tool):
    teacher = sandbox.launch("teacher")
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    person_id = _student_id(tool)
    return _get(privacy, tool, _link(privacy, f"/privacy/students/{person_id}/delete")), person_id


def _readable_with_a_key_in_the_database(tool, sealed: bytes) -> bool:
    """Tell whether any value kept in a launch session's details opens the sealed entry (as stored: JSON)."""
    # The entry's text, not its JSON quotes: cryptography 51 no longer skips them as base64 noise.
    sealed = json.loads(sealed).encode("ascii")
    with tool.app.app_context():
        rows = db.session.scalars(sa.select(LaunchSession.details)).all()
    for value in (value for details in rows for value in (details or {}).values() if isinstance(value, str)):
        try:
            Fernet(value).decrypt(sealed)
        except (ValueError, InvalidToken):
            continue
        return True
    return False


def _student_id(tool) -> int:
    with tool.app.app_context():
        return db.session.scalar(sa.select(Person.id).where(Person.sub == "student-1"))


def test_deleting_a_student_removes_their_typed_answers_from_redis(make_tool, redis_server):
    tool = make_tool(REDIS_URL=redis_server.url)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    sandbox, launch_id = _typed_then_hint(tool)
    entries = _typed_entries(client)
    assert len(entries) == 1 and not any(TYPED.encode() in value for value in entries.values())  # sealed
    # Nor does its key name the launch, whose id (with the browser's signed cookie) opens the student's pages.
    assert not any(launch_id.encode() in key for key in entries)

    confirm, person_id = _delete_form(sandbox, tool)
    done = submit_form(confirm, f"/privacy/students/{person_id}/delete", confirm="yes")
    assert done.status_code == 200 and "Deleted the data of Priya Shah" in done.text
    assert _typed_entries(client) == {}


def test_with_redis_down_deleting_a_student_works_and_leaves_their_typed_answers_unreadable(make_tool, redis_server):
    tool = make_tool(REDIS_URL=redis_server.url)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    sandbox, _launch_id = _typed_then_hint(tool)
    [(_key, sealed)] = _typed_entries(client).items()
    assert TYPED.encode() not in sealed
    assert _readable_with_a_key_in_the_database(tool, sealed)  # the launch's own key reads it

    confirm, person_id = _delete_form(sandbox, tool)
    redis_server.proxy.cut()
    try:
        done = submit_form(confirm, f"/privacy/students/{person_id}/delete", confirm="yes")
        assert done.status_code == 200, done.text[:300]
        assert "Deleted the data of Priya Shah" in done.text
    finally:
        redis_server.proxy.restore()

    # The entry could not be removed; it stays sealed, and its key went with the student's launch session.
    assert list(_typed_entries(client).values()) == [sealed]
    assert not _readable_with_a_key_in_the_database(tool, sealed)
