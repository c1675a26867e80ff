"""Schoology refuses a score that carries no comment; Pathways sends it a blank one, and other LMSs none.

Schoology wants `comment` on every score, not null, but blank is fine (Unicon's tool13demo, Score.java: "Schoology
requires this to be a non-null value. It may be whitespace"). AGS 2.0 makes the field optional, and elsewhere a
blank comment would be noise, so only Schoology gets it.
"""

from __future__ import annotations

import pytest

from lti_tool.lti.ags import SCHOOLOGY_NO_COMMENT
from tests.jobs.gradebook import FAST_RETRIES, gradebook_in_another_lms, later, open_gradebook
from tests.support import SandboxActions


@pytest.fixture
def schoology(make_tool):
    """A gradebook in a sandbox LMS whose issuer names Schoology and which, like it, wants a comment on every score."""
    with gradebook_in_another_lms(make_tool(**FAST_RETRIES), "Schoology",
                                  setup=lambda lms: setattr(lms, "score_comment_required", True)) as book:
        yield book


def test_a_score_without_a_comment_reaches_schoology_with_a_blank_one(schoology):
    schoology.queue("student-1", 40.0)  # no skills named: nothing to say
    schoology.queue("student-2", 30.0, skill_names=["Fractions"])
    schoology.drain()
    schoology.queue("student-1", 60.0, skill_names=["Fractions"], now=later(1))
    schoology.drain()
    assert [(r.status, r.last_status) for r in schoology.rows()] == [("synced", None)] * 3
    comments = {(p["userId"], p["scoreGiven"]): p["comment"] for p in schoology.posts_received()}
    assert comments == {("student-1", 40.0): SCHOOLOGY_NO_COMMENT, ("student-2", 30.0): "Pathways mastery: Fractions",
                        ("student-1", 60.0): "Pathways mastery: Fractions"}


def test_other_platforms_get_no_comment_field_when_there_is_nothing_to_say(make_tool):
    tool = make_tool(**FAST_RETRIES)
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 40.0)
    book.drain()
    (post,) = book.posts_received()
    assert "comment" not in post
