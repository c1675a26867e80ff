"""Grade use cases: line items found or created, scores queued in the caller's transaction, sync status, read-back."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Enrollment, ScoreOutbox, SkillLineItem
from lti_tool.models.base import utcnow
from lti_tool.services.grades import compare_results, ensure_lineitem, grade_sync_status, queue_score
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(**FAST_RETRIES)
    return open_gradebook(tool, SandboxActions(tool))


def _ensure(gradebook, **options) -> str:
    with gradebook.tool.app.app_context(), requests.Session() as http:
        return ensure_lineitem(gradebook.placement_id, secret_key=gradebook.tool.app.config["SECRET_KEY"],
                               http=http, timeout=10, **options)


def test_a_placement_without_a_line_item_gets_one_by_resource_id_and_tag_and_keeps_it(gradebook):
    first = _ensure(gradebook)
    with gradebook.tool.app.app_context():
        db.session.get(type(gradebook.placement()), gradebook.placement_id).lineitem_url = None
        db.session.commit()  # forget it, as if the tool's database were restored from an old backup
    again = _ensure(gradebook)

    assert first == again == gradebook.placement().lineitem_url
    ours = [i for i in gradebook.platform.line_items.values() if i.get("resourceId") == "unit-fractions"]
    assert len(ours) == 1
    assert ours[0]["tag"] == "pathways-mastery" and ours[0]["scoreMaximum"] == 100.0


def test_a_line_item_from_deep_linking_is_used_as_is(make_tool):
    tool = make_tool(**FAST_RETRIES)
    item = tool.platform.create_line_item("math-7", {"label": "Fractions (from Deep Linking)", "scoreMaximum": 10})
    gradebook = open_gradebook(tool, SandboxActions(tool), lineitem_url=item["id"], score_maximum=10)
    gradebook.queue("student-1", 7.0)

    gradebook.drain()

    assert len(tool.platform.line_items) == 1
    assert gradebook.lms_scores(item["id"])["student-1"]["scoreGiven"] == 7.0


def test_per_skill_line_items_are_separate_columns_tagged_with_the_skill(gradebook):
    gradebook.queue("student-1", 1.0, skill_id="ratios", skill_names=["Ratios"], score_maximum=1.0)
    gradebook.queue("student-1", 50.0)

    gradebook.drain()

    with gradebook.tool.app.app_context():
        skill_url = db.session.scalars(sa.select(SkillLineItem.lineitem_url)).one()
    skill_item = gradebook.platform.line_items[skill_url]
    assert skill_item["tag"] == "pathways-skill:ratios" and skill_item["resourceId"] == "unit-fractions"
    assert gradebook.lms_scores(skill_url)["student-1"]["scoreGiven"] == 1.0
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 50.0


def test_queueing_a_score_leaves_the_commit_to_the_mastery_change_that_caused_it(gradebook):
    with gradebook.tool.app.app_context():
        queue_score(gradebook.placement_id, gradebook.people["student-1"], score_given=42.0, now=utcnow())
        db.session.rollback()  # the mastery change failed, so its grade must not go out either
        assert db.session.scalars(sa.select(ScoreOutbox)).all() == []


def test_teacher_sees_each_students_grade_as_synced_pending_or_failed_with_the_reason(gradebook):
    gradebook.queue("student-1", 90.0)
    gradebook.drain()
    gradebook.platform.course.members.remove("student-2")
    gradebook.queue("student-2", 40.0)
    gradebook.drain()
    gradebook.queue("student-3", 65.0)  # not sent yet

    with gradebook.tool.app.app_context():
        status = {s.user_id: s for s in grade_sync_status(gradebook.course_id)}

    assert set(status) == {"student-1", "student-2", "student-3", "student-4", "student-5"}
    assert status["student-1"].state == "synced" and status["student-1"].score_given == 90.0
    assert status["student-1"].synced_at is not None and status["student-1"].message is None
    assert status["student-2"].state == "failed"
    assert status["student-2"].message == "The platform refused the request (HTTP 400, reason: invalid_request)."
    assert status["student-3"].state == "pending" and status["student-3"].next_attempt_at is not None
    assert status["student-4"].state == "none" and status["student-4"].outbox_id is None
    assert status["student-1"].name == "Priya Shah" and status["student-1"].placement_title == "Fractions"


def test_teacher_sees_a_mismatch_when_a_grade_was_changed_in_the_lms(gradebook):
    gradebook.queue("student-1", 80.0)
    gradebook.queue("student-2", 60.0)
    gradebook.drain()
    item_id = gradebook.placement().lineitem_url.rsplit("/", 1)[1]
    # The teacher overrides student-2's grade in the LMS gradebook.
    gradebook.platform.post_score("math-7", item_id, {
        "userId": "student-2", "scoreGiven": 9.0, "scoreMaximum": 10.0, "activityProgress": "Completed",
        "gradingProgress": "FullyGraded", "timestamp": utcnow().isoformat() + "+00:00",
    })

    with gradebook.tool.app.app_context(), requests.Session() as http:
        rows = compare_results(gradebook.placement_id, secret_key=gradebook.tool.app.config["SECRET_KEY"],
                               http=http, timeout=10)

    by_user = {r.user_id: r for r in rows}
    assert not by_user["student-1"].mismatch and by_user["student-1"].lms == 80.0
    assert by_user["student-2"].mismatch
    assert (by_user["student-2"].ours, by_user["student-2"].lms, by_user["student-2"].lms_maximum) == (60.0, 9.0, 10.0)


def test_the_grade_table_shows_each_students_newest_score_once_and_keeps_those_who_left(gradebook):
    # A term's outbox keeps every score that was sent: only the newest of each student is their row.
    gradebook.queue("student-1", 90.0)
    gradebook.drain()
    gradebook.queue("student-1", 70.0)
    gradebook.drain()
    gradebook.queue("student-2", 40.0)
    gradebook.drain()
    gradebook.queue("student-1", 75.0)  # not sent yet
    with gradebook.tool.app.app_context():
        # student-2 left the course (a roster sync made the enrolment inactive); their grade is still shown.
        db.session.execute(sa.update(Enrollment).where(Enrollment.person_id == gradebook.people["student-2"])
                           .values(active=False))
        db.session.commit()
        rows = grade_sync_status(gradebook.course_id)

    assert len(rows) == len({r.person_id for r in rows}) == 5
    status = {s.user_id: s for s in rows}
    assert (status["student-1"].state, status["student-1"].score_given) == ("pending", 75.0)
    assert (status["student-2"].state, status["student-2"].score_given) == ("synced", 40.0)
    assert status["student-2"].name == "Liam O'Connor"
    assert [s.state for s in rows if s.user_id not in ("student-1", "student-2")] == ["none"] * 3


def test_a_new_score_leaves_a_row_a_worker_holds_alone_and_supersedes_it_once_the_lease_ran_out(gradebook):
    from datetime import timedelta

    from lti_tool.jobs.worker import claim

    held = gradebook.queue("student-1", 10.0)
    with gradebook.tool.app.app_context():
        _, taken = claim(batch=10, lease_seconds=60)  # a worker is posting it right now
        assert [row.id for row in taken] == [held]
    newer = gradebook.queue("student-1", 20.0)
    states = {row.id: row.status for row in gradebook.rows()}
    assert states == {held: "pending", newer: "pending"}  # posted first, then overwritten by the newer one

    newest = gradebook.queue("student-1", 30.0, now=utcnow() + timedelta(seconds=61))  # the worker died meanwhile
    assert {row.id: row.status for row in gradebook.rows()} == {
        held: "superseded", newer: "superseded", newest: "pending"}


def test_queueing_a_class_changes_only_the_rows_of_scores_that_changed(gradebook):
    from lti_tool.models import Placement
    from lti_tool.services.grades import new_score, queue_scores

    same = gradebook.queue("student-1", 50.0)
    old = gradebook.queue("student-2", 50.0)
    with gradebook.tool.app.app_context():
        placement = db.session.get(Placement, gradebook.placement_id)
        people = gradebook.people
        scores = [new_score(placement, people["student-1"], score_given=50.0),  # unchanged: its row still waits
                  new_score(placement, people["student-2"], score_given=60.0),
                  new_score(placement, people["student-3"], score_given=70.0, skill_names=["Ratios"]),
                  new_score(placement, people["student-3"], score_given=2.0, score_maximum=4.0, skill_id="ratios")]
        assert queue_scores(scores, now=utcnow()) == 3
        db.session.commit()
    rows = gradebook.rows()
    assert {row.id: row.status for row in rows if row.id in (same, old)} == {same: "pending", old: "superseded"}
    new = {(row.person_id, row.skill_id): (row.score_given, row.score_maximum, row.comment, row.status)
           for row in rows if row.id not in (same, old)}
    assert new == {(people["student-2"], ""): (60.0, 100.0, "", "pending"),
                   (people["student-3"], ""): (70.0, 100.0, "Pathways mastery: Ratios", "pending"),
                   (people["student-3"], "ratios"): (2.0, 4.0, "", "pending")}


def test_a_column_address_with_a_query_gets_scores_and_results_on_its_path_before_the_query(gradebook):
    # Moodle names its columns .../lineitems/5/lineitem?type_id=1; AGS 2.0 §3.4 and §3.3 put /scores and /results
    # on the path, so they go before the query (after it, the post would reach the column itself).
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    column = gradebook.placement().lineitem_url
    with gradebook.tool.app.app_context():
        db.session.execute(sa.text("update placement set lineitem_url = :url where id = :id"),
                           {"url": column + "?type_id=1", "id": gradebook.placement_id})
        db.session.commit()
    gradebook.platform.service_requests.clear()

    gradebook.queue("student-1", 20.0)
    assert gradebook.drain().failed == 0
    with gradebook.tool.app.app_context(), requests.Session() as http:
        (row,) = compare_results(gradebook.placement_id, secret_key=gradebook.tool.app.config["SECRET_KEY"],
                                 http=http, timeout=10)

    assert gradebook.lms_scores(column)["student-1"]["scoreGiven"] == 20.0
    assert (row.ours, row.lms, row.mismatch) == (20.0, 20.0, False)
    assert [(r["method"], r["url"]) for r in gradebook.platform.service_requests] == [
        ("POST", column + "/scores"), ("GET", column + "/results")]
