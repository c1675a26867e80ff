"""A student who sends what they wrote while the database is away gets the 503 page with their words on it to copy,
as when a launch's time runs out: nothing is kept, and nothing they typed is lost with the page."""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Reflection
from tests.support import SandboxActions, open_in_launch, submit_form, teacher_with_demo_pack
from tests.web.test_agency import FIRST_SKILL

WORDS = "Finding a common denominator & <b>why</b>"


def _reflect_page(make_tool, postgres):
    """A tool on the proxied PostgreSQL, its course set up, and a student's reflection page (in their browser)."""
    tool = make_tool(DATABASE_URL=postgres.url)
    sandbox = SandboxActions(tool)
    teacher_with_demo_pack(sandbox)
    reflect = open_in_launch(sandbox.launch("student"), tool, "/reflect")
    assert reflect.status_code == 200, reflect.text[:300]
    return tool, reflect


def _during_the_outage(postgres, send):
    """Send a request while the database is unreachable; return its answer."""
    postgres.proxy.cut()
    try:
        return send()
    finally:
        postgres.proxy.restore()


def test_a_reflection_sent_during_a_database_outage_comes_back_on_the_503_page_to_copy(make_tool, postgres):
    tool, reflect = _reflect_page(make_tool, postgres)
    refused = _during_the_outage(
        postgres, lambda: submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0=WORDS)
    )

    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    # Still shown inside the LMS's frame: the page may be framed by the LMS the launch page was.
    framed_by = re.search(r"frame-ancestors ([^;]*)", reflect.headers["Content-Security-Policy"]).group(1)
    assert re.search(r"frame-ancestors ([^;]*)", refused.headers["Content-Security-Policy"]).group(1) == framed_by
    assert "try again in a minute" in refused.text
    assert "What you typed has not been saved" in refused.text
    assert ">Finding a common denominator &amp; &lt;b&gt;why&lt;/b&gt;</textarea>" in refused.text  # escaped
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 0
    saved = submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0=WORDS)
    assert "your reflection is saved" in saved.text


FORGED = "Your Pathways account is locked. Sign in again at attacker.example to keep your work."


def test_a_form_another_site_posts_during_an_outage_is_not_shown_back_as_typed(make_tool, postgres):
    """A launch's pages check a form's CSRF token after reading the launch: a cross-site form posted into a student's
    browser (its cookie goes with it: SameSite=None) meets the outage first. Its words are not the student's, and no
    box on Pathways' own page says they typed them."""
    _, reflect = _reflect_page(make_tool, postgres)
    forged = _during_the_outage(
        postgres, lambda: reflect.http.post(reflect.url, data={"skill_id": FIRST_SKILL, "answer_0": FORGED}, timeout=30)
    )

    assert forged.status_code == 503 and "try again in a minute" in forged.text
    assert FORGED not in forged.text and "typed-text" not in forged.text
    assert "What you typed" not in forged.text
