"""Canvas makes a score a student's new submission unless told otherwise; Pathways marks only the first one.

Canvas (app/controllers/lti/ims/scores_controller.rb) creates a submission attempt for every score whose
`https://canvas.instructure.com/lti/submission` extension does not say `new_submission: false`, refuses one past
the assignment's allowed attempts (422), moves the submission time to each `submitted_at` (a re-grade after the
due date would mark the student late) and adds every comment it receives to SpeedGrader.
"""

from __future__ import annotations

import pytest

from lti_tool.lti.ags import CANVAS_SUBMISSION
from tests.jobs.gradebook import FAST_RETRIES, gradebook_in_another_lms, later, open_gradebook
from tests.support import SandboxActions


@pytest.fixture
def canvas(make_tool):
    """A gradebook in a sandbox LMS whose issuer names Canvas, allowing one submission attempt."""
    with gradebook_in_another_lms(make_tool(**FAST_RETRIES), "Canvas",
                                  setup=lambda lms: setattr(lms, "allowed_attempts", 1)) as book:
        yield book


def _extension(post: dict) -> dict:
    return post[CANVAS_SUBMISSION]


def test_only_a_students_first_score_is_a_canvas_submission_and_regrades_keep_its_time(canvas):
    canvas.queue("student-1", 40.0)
    canvas.drain()
    canvas.queue("student-1", 60.0, now=later(1))
    canvas.drain()
    canvas.queue("student-1", 80.0, now=later(2))
    canvas.queue("student-2", 30.0, now=later(2))  # another student's first score, in a later batch
    canvas.drain()

    assert [(r.status, r.last_status) for r in canvas.rows()] == [("synced", None)] * 4
    assert canvas.lms_scores()["student-1"]["scoreGiven"] == 80.0
    first, *regrades = [p for p in canvas.posts_received() if p["userId"] == "student-1"]
    assert _extension(first)["new_submission"] is True and _extension(first)["submitted_at"]
    assert [_extension(p) for p in regrades] == [{"new_submission": False}] * 2  # no submitted_at: not late
    url = canvas.placement().lineitem_url
    assert len(canvas.platform.submissions(url, "student-1")) == 1  # one attempt, however often re-graded
    (other,) = [p for p in canvas.posts_received() if p["userId"] == "student-2"]
    assert _extension(other)["new_submission"] is True
    assert len(canvas.platform.submissions(url, "student-2")) == 1


def test_a_comment_canvas_already_has_is_not_sent_again(canvas):
    canvas.platform.allowed_attempts = None  # comments only
    canvas.queue("student-1", 40.0, skill_names=["Fractions"])
    canvas.drain()
    canvas.queue("student-1", 60.0, skill_names=["Fractions"], now=later(1))
    canvas.drain()
    canvas.queue("student-1", 80.0, skill_names=["Fractions", "Ratios"], now=later(2))
    canvas.drain()
    comments = [p.get("comment") for p in canvas.posts_received()]
    assert comments == ["Pathways mastery: Fractions", None, "Pathways mastery: Fractions, Ratios"]


def test_other_platforms_get_every_comment_and_no_canvas_extension(make_tool):
    tool = make_tool(**FAST_RETRIES)
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 40.0, skill_names=["Fractions"])
    book.drain()
    book.queue("student-1", 60.0, skill_names=["Fractions"], now=later(1))
    book.drain()
    posts = book.posts_received()
    assert [p.get("comment") for p in posts] == ["Pathways mastery: Fractions"] * 2
    assert not [p for p in posts if CANVAS_SUBMISSION in p]


def test_a_column_made_again_after_a_deletion_gets_the_students_first_submission(canvas):
    from tests.jobs.test_lms_gradebook_changes import _delete_in_lms

    canvas.queue("student-1", 40.0)
    canvas.drain()
    dead = canvas.placement().lineitem_url
    _delete_in_lms(canvas.platform, dead)
    canvas.queue("student-1", 60.0, now=later(1))
    canvas.drain()

    assert canvas.rows()[-1].status == "synced"
    new = canvas.placement().lineitem_url
    assert new != dead
    (resent,) = [p for p in canvas.posts_received() if p["userId"] == "student-1" and p["scoreGiven"] == 60.0
                 and _extension(p).get("new_submission")]
    assert _extension(resent)["submitted_at"]
    assert len(canvas.platform.submissions(new, "student-1")) == 1
