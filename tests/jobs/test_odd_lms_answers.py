"""An LMS that answers the gradebook service with something odd costs only the grades it concerns a try, never the
other grades in the queue: a failed post is retried, and no answer can stop the worker's passes."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs.worker import drain
from lti_tool.lti import ags
from lti_tool.models import Placement, ScoreOutbox
from lti_tool.models.base import utcnow
from lti_tool.services.grades import queue_score
from tests.support import SandboxActions

from .gradebook import FAST_RETRIES, open_gradebook


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(**{**FAST_RETRIES, "GRADE_RETRY_BASE_SECONDS": 30, "GRADE_RETRY_MAX_SECONDS": 60})
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 10.0)
    book.drain()  # the placement's column exists
    return book


def _second_placement(book) -> int:
    """Add a placement "Ratios" whose gradebook column the worker has not made yet; return its id."""
    with book.tool.app.app_context():
        placement = Placement(course_id=book.course_id, resource_id="unit-ratios", title="Ratios", kind="unit",
                              skill_ids=["ratios"], score_maximum=100.0)
        db.session.add(placement)
        db.session.commit()
        return placement.id


def _queue_for(book, placement_id: int, sub: str, score: float) -> int:
    with book.tool.app.app_context():
        row = queue_score(placement_id, book.people[sub], score_given=score, now=utcnow())
        db.session.commit()
        return row.id


def _one_pass_after_another(book, seconds: float = 2):
    """Run the worker as `pathways worker` does (never --once) for a few seconds."""
    return drain(book.tool.app, once=False, stop=threading.Event(), max_seconds=seconds)


def _row(book, row_id: int):
    return next(r for r in book.rows() if r.id == row_id)


def test_a_line_item_listing_of_things_that_are_no_line_items_holds_up_no_grade(gradebook):
    ratios = _second_placement(gradebook)
    odd = _queue_for(gradebook, ratios, "student-2", 5.0)  # its column is looked up in the odd listing
    gradebook.platform.list_line_items = lambda context_id, args: (["garbage", 7, None, {"id": 42}], None)
    gradebook.queue("student-3", 70.0)  # to the column that exists

    _one_pass_after_another(gradebook)

    assert gradebook.lms_scores()["student-3"]["scoreGiven"] == 70.0
    # Nothing in the listing was a line item: the column was made, and the grade reached it.
    row = _row(gradebook, odd)
    assert (row.status, row.attempts) == ("synced", 1)
    assert gradebook.lms_scores(row.lineitem_url)["student-2"]["scoreGiven"] == 5.0


def test_a_column_made_without_an_address_we_can_use_is_retried_and_other_grades_land(gradebook):
    ratios = _second_placement(gradebook)
    odd = _queue_for(gradebook, ratios, "student-2", 5.0)
    gradebook.platform.create_line_item = lambda context_id, body: {"id": 42, "label": "Ratios"}
    gradebook.queue("student-3", 70.0)

    _one_pass_after_another(gradebook)

    assert gradebook.lms_scores()["student-3"]["scoreGiven"] == 70.0
    row = _row(gradebook, odd)
    assert (row.status, row.attempts, row.lineitem_url) == ("pending", 1, None)
    assert row.last_error == "The platform created a line item but did not say where it is."
    with gradebook.tool.app.app_context():
        assert db.session.get(Placement, ratios).lineitem_url is None  # no address of 42 kept for later scores


def test_an_unforeseen_error_in_reading_one_answer_is_a_failed_try_of_that_grade_not_of_the_batch(
    gradebook, monkeypatch
):
    ratios = _second_placement(gradebook)
    odd = _queue_for(gradebook, ratios, "student-2", 5.0)
    found = ags.find_lineitem

    def broken(*args, **kwargs):
        raise KeyError("the platform's own words")  # a parse of some answer we did not foresee

    monkeypatch.setattr(ags, "find_lineitem", broken)
    gradebook.queue("student-3", 70.0)

    stats = _one_pass_after_another(gradebook)

    assert gradebook.lms_scores()["student-3"]["scoreGiven"] == 70.0
    assert stats.errors.get("no answer") == 1 and not any("unexpected" in e for e in stats.errors)
    row = _row(gradebook, odd)
    # One try used, retried later with backoff; the reason says what happened without the answer's text.
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > utcnow()
    assert row.last_error == "Unexpected error while finding the gradebook column (reason: KeyError)."

    monkeypatch.setattr(ags, "find_lineitem", found)
    with gradebook.tool.app.app_context():  # the backoff is over
        db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.id == odd).values(next_attempt_at=utcnow()))
        db.session.commit()
    gradebook.drain()

    row = _row(gradebook, odd)
    assert (row.status, row.attempts) == ("synced", 2)
    assert gradebook.lms_scores(row.lineitem_url)["student-2"]["scoreGiven"] == 5.0


def test_an_unforeseen_error_while_following_a_deleted_column_spares_the_other_grades_of_the_batch(
    gradebook, monkeypatch
):
    ratios = _second_placement(gradebook)
    _queue_for(gradebook, ratios, "student-2", 5.0)
    gradebook.drain()  # the second column exists too
    dead = gradebook.placement().lineitem_url
    context_id, item_id = dead.split("/courses/", 1)[1].split("/lineitems/")
    gradebook.platform.delete_line_item(context_id, item_id)  # the teacher deletes the first column in the LMS

    def broken(*args, **kwargs):
        raise TypeError("the platform's own words")

    monkeypatch.setattr(ags, "find_lineitem", broken)
    lost = gradebook.queue("student-1", 20.0)  # to the deleted column: 404, then the column is looked for
    fine = _queue_for(gradebook, ratios, "student-3", 30.0)

    _one_pass_after_another(gradebook)

    row = _row(gradebook, fine)
    assert row.status == "synced"
    assert gradebook.lms_scores(row.lineitem_url)["student-3"]["scoreGiven"] == 30.0
    row = _row(gradebook, lost)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "Unexpected error while finding the gradebook column again (reason: TypeError)."


def test_results_with_scores_that_are_no_numbers_compare_as_missing(gradebook):
    import requests

    from lti_tool.services.grades import compare_results

    gradebook.platform.results = lambda context_id, item_id, args: (
        ["junk", {"userId": "student-1", "resultScore": "ten", "resultMaximum": [100], "comment": 5}], None)
    with gradebook.tool.app.app_context(), requests.Session() as http:
        (row,) = compare_results(gradebook.placement_id, secret_key=gradebook.tool.app.config["SECRET_KEY"],
                                 http=http, timeout=10)
    assert (row.user_id, row.ours, row.lms, row.lms_maximum, row.mismatch) == ("student-1", 10.0, None, None, True)
