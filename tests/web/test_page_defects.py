"""Defects a reviewer found walking the demo: dead-end error pages, hints that threw away the typed answer, words
that did not match the page, labels run into the text after them."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch, served_item, submit_form
from tests.web.test_agency import _open, _setup_course
from tests.web.test_evidence_files import _rows, _send, tiny_png

PACK = load_pack(demo_pack_data())


def _home_href(page) -> str:
    return re.search(r"/c/[^/]+/", page.url).group(0)


# --- 1. Error pages --------------------------------------------------------------------------------------------


def test_an_error_inside_a_launch_links_back_to_its_course_and_speaks_to_its_role(sandbox, tool):
    teacher = _setup_course(sandbox)
    missing = open_in_launch(teacher, tool, "/practice/no-such-skill")
    assert missing.status_code in (403, 404)
    back = re.search(r'<a class="button" href="([^"]+)" data-testid="error-back">', missing.text)
    assert back and html.unescape(back.group(1)).split("?")[0].endswith(_home_href(teacher))
    assert "tell your teacher" not in missing.text and "tell your school’s LMS administrator" in missing.text.replace(
        "'", "’").replace("&#39;", "’")

    student = sandbox.launch("student")
    gone = open_in_launch(student, tool, "/practice/no-such-skill")
    assert gone.status_code == 404
    assert 'data-testid="error-back"' in gone.text and "tell your teacher." in gone.text
    assert "LMS administrator" not in gone.text
    assert student.http.get(tool.url(re.search(r'href="([^"]+)" data-testid="error-back"', gone.text)
                                     .group(1).replace("&amp;", "&")), timeout=30).status_code == 200


def test_an_error_outside_a_launch_offers_the_browsers_back(tool):
    import requests

    page = requests.get(tool.url("/no-such-page"), timeout=30)
    assert page.status_code == 404
    assert 'data-testid="error-back"' in page.text and "history.back()" in page.text
    assert re.search(r'<script nonce="[^"]+">', page.text)  # the page's CSP lets only its own script run


def test_a_file_far_over_the_limit_returns_the_evidence_form_saying_so(sandbox, make_tool):
    from tests.support import SandboxActions

    tool = make_tool(EVIDENCE_MAX_BYTES=4000)
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    assert 'data-max-bytes="4000"' in form.text  # the page checks the size before sending (tests/browser)

    huge = _send(form, filename="huge.png", body=tiny_png() + b"\x00" * 400_000, text="My fraction wall")
    assert huge.status_code == 413
    assert "That file is too large: files can be up to 3.91 KB. Nothing was sent" in huge.text
    assert 'enctype="multipart/form-data"' in huge.text  # the form itself, to send again
    assert _rows(tool) == []


# --- 2. Hints keep the answer ----------------------------------------------------------------------------------


def _practice_with_hints(sandbox, tool, kind: str):
    """Open practice on skills until the served question has hints and is of the kind asked ("multiple_choice")."""
    _setup_course(sandbox)
    student = sandbox.launch("student")
    for skill in PACK.skills:
        page = open_in_launch(student, tool, f"/practice/{skill.id}")
        served = re.search(r'name="served" value="(\d+)"', page.text)
        if not served:
            continue
        item = served_item(tool, int(served.group(1)))
        if len(item.hints) >= 2 and (item.type == "multiple_choice") == (kind == "multiple_choice"):
            return page, skill.id, item
    raise AssertionError(f"no {kind} question with hints in the demo pack")


def test_show_a_hint_keeps_the_typed_answer_and_records_nothing(sandbox, tool):
    page, skill_id, item = _practice_with_hints(sandbox, tool, "text")
    assert 'name="show_hint"' in page.text and "hints=1" not in page.text
    served = re.search(r'name="served" value="(\d+)"', page.text).group(1)
    hinted = submit_form(page, f"/practice/{skill_id}", answer="3/4 maybe", show_hint="1")
    assert hinted.status_code == 200
    assert html.escape(item.hints[0]) in hinted.text and html.escape(item.hints[1]) not in hinted.text
    assert 'value="3/4 maybe"' in hinted.text
    assert f'name="served" value="{served}"' in hinted.text and 'name="hints" value="1"' in hinted.text
    again = submit_form(hinted, f"/practice/{skill_id}", answer="3/4 maybe", show_hint="1")
    assert html.escape(item.hints[1]) in again.text and 'name="hints" value="2"' in again.text
    assert "Check my answer" in again.text  # still the question: nothing was answered


def test_show_a_hint_keeps_the_chosen_option(sandbox, tool):
    page, skill_id, item = _practice_with_hints(sandbox, tool, "multiple_choice")
    choice = item.choices[-1].id
    hinted = submit_form(page, f"/practice/{skill_id}", answer=choice, show_hint="1")
    assert re.search(rf'value="{re.escape(choice)}" required checked>', hinted.text)
    assert html.escape(item.hints[0]) in hinted.text
