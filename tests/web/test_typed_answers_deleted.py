"""What a student typed before "Show a hint" is kept in the cache (services/typed_answers.py): deleting the student's
data (a teacher, a Data Privacy Launch, the privacy CLI) must leave none of it readable there, in any form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lti_tool.extensions import cache
from tests.support import submit_form
from tests.web.test_page_defects import _practice_with_hints
from tests.web.test_privacy import INSTITUTION_ADMIN, _get, _link, _privacy_launch

TYPED = "Priya thinks 3/4 because pizza"
#: A Fernet token's first characters (version byte 0x80, then the time): how a sealed entry reads on disk.
SEALED = b'"gAAAAA'


def _cache_files(tool) -> dict[str, bytes]:
    """Every entry of the tool's file cache (its default without Redis), as stored on disk."""
    with tool.app.app_context():
        folder = Path(cache.cache._path)
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def _typed_then_hint(sandbox, tool):
    page, skill_id, _item = _practice_with_hints(sandbox, tool, "text")
    hinted = submit_form(page, f"/practice/{skill_id}", answer=TYPED, show_hint="1")
    assert hinted.status_code == 200 and f'value="{TYPED}"' in hinted.text  # kept, and given back
    return hinted


def _delete_as_teacher(sandbox, tool) -> None:
    teacher = sandbox.launch("teacher")
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    person_id = re.search(r"/privacy/students/(\d+)/delete", privacy.text).group(1)
    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{person_id}/delete"))
    done = submit_form(confirm, f"/privacy/students/{person_id}/delete", confirm="yes")
    assert done.status_code == 200 and "Deleted the data of Priya Shah" in done.text


def _delete_by_privacy_launch(sandbox, tool) -> None:
    sandbox.platform.add_user("admin", roles=[INSTITUTION_ADMIN], name="Ines Admin", context_id="math-7")
    page = _privacy_launch(sandbox, "admin", "student-1")
    confirm = _get(page, tool, _link(page, "/privacy/user/delete"))
    done = submit_form(confirm, "/privacy/user/delete", confirm="yes")
    assert done.status_code == 200 and "data is deleted" in done.text


def _delete_the_course(sandbox, tool) -> None:
    teacher = sandbox.launch("teacher")
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    confirm = _get(privacy, tool, _link(privacy, "/privacy/course/delete"))
    done = submit_form(confirm, "/privacy/course/delete", title="Grade 7 Mathematics")
    assert done.status_code == 200 and "data is deleted" in done.text


@pytest.mark.parametrize("delete", [_delete_as_teacher, _delete_by_privacy_launch, _delete_the_course])
def test_deleting_a_student_removes_what_they_typed_before_a_hint_from_the_cache(sandbox, tool, delete):
    hinted = _typed_then_hint(sandbox, tool)
    stored = _cache_files(tool)
    # Never on disk as typed (the file cache's files, like Redis's snapshots, outlive an entry's expiry): sealed.
    assert not any(TYPED.encode() in value for value in stored.values())
    assert any(SEALED in value for value in stored.values())

    delete(sandbox, tool)

    left = _cache_files(tool)
    assert not any(TYPED.encode() in value for value in left.values())
    assert not any(SEALED in value for value in left.values())  # the entry itself is gone, not only unreadable
    # The student's page after the hint is gone with their launch, and with it what they typed.
    again = hinted.http.get(hinted.url, timeout=30)
    assert TYPED not in again.text


def test_the_privacy_cli_removes_what_a_student_typed_before_a_hint(sandbox, tool):
    from lti_tool.services.privacy import delete_user
    from tests.web.test_privacy import _now

    _typed_then_hint(sandbox, tool)
    assert any(SEALED in value for value in _cache_files(tool).values())
    with tool.app.app_context():
        delete_user(tool.platform.issuer, "pathways-sandbox", "student-1", now=_now())
    assert not any(SEALED in value or TYPED.encode() in value for value in _cache_files(tool).values())
