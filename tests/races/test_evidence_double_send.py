"""A student double-clicks "Send to my teacher" on the evidence form (or sends it from two tabs) at once.

Sending refuses evidence for a skill that already has some waiting, so the teacher reviews one piece at a time.
Both sends read that nothing was waiting before either saved, and both were saved: two pending pieces of the same
work in the teacher's queue, and the second review of it refused as "reviewed already" only by luck. The check is
now made again under the learner's lock: the second send is told its evidence is already waiting, and the file it
stored is removed.
"""

from __future__ import annotations

import html
import os
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Evidence
from lti_tool.services import evidence
from tests.races.support import meet_after_first_call
from tests.races.test_one_question_on_two_pages import _tab
from tests.support import submit_form
from tests.web.test_agency import FIRST_NAME, FIRST_SKILL, _open, _setup_course
from tests.web.test_evidence_files import _send, tiny_png


def _stored_files(tool) -> list[str]:
    root = tool.app.config.get("EVIDENCE_DIR") or os.path.join(tool.app.instance_path, "evidence")
    return [name for _, _, names in os.walk(root) for name in names]


def _both_sent(pages) -> None:
    texts = sorted(html.unescape(page.text) for page in pages)
    assert [page.status_code for page in pages] == [200, 200], [page.status_code for page in pages]
    assert sum(f"Sent to your teacher: your evidence for {FIRST_NAME}" in text for text in texts) == 1
    assert sum(f"Your evidence for {FIRST_NAME} is already waiting for your teacher" in text for text in texts) == 1


def _waiting(tool) -> list[Evidence]:
    with tool.app.app_context():
        rows = db.session.scalars(sa.select(Evidence).where(Evidence.status == "pending")).all()
        db.session.remove()
    return rows


def test_evidence_sent_twice_at_once_waits_for_the_teacher_once(sandbox, tool, monkeypatch):
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    # Both sends have found nothing waiting before either saves.
    meet_after_first_call(monkeypatch, evidence, "evidence_store", timeout=3)
    with ThreadPoolExecutor(2) as pool:
        pages = list(
            pool.map(
                lambda tab: submit_form(
                    tab, "/evidence", skill_id=FIRST_SKILL, kind="explanation", text="1/2 = 2/4 = 3/6"
                ),
                [_tab(form), _tab(form)],
            )
        )
    _both_sent(pages)
    assert len(_waiting(tool)) == 1


def test_a_photo_sent_twice_at_once_is_kept_once(sandbox, tool, monkeypatch):
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    meet_after_first_call(monkeypatch, evidence, "evidence_store", timeout=3)
    with ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda tab: _send(tab, filename="poster.png", body=tiny_png()), [_tab(form), _tab(form)]))
    _both_sent(pages)
    (row,) = _waiting(tool)
    # The refused send's copy of the photo is not left in the store with no row naming it.
    assert len(_stored_files(tool)) == 1 and os.path.basename(row.file_key) in _stored_files(tool)
