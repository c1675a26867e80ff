"""A gradebook column deleted in the LMS: Pathways finds or makes it again, and the scores waiting for it follow.

AGS 2.0 lets a platform delete a line item (a teacher deletes the Canvas assignment or the Moodle grade item): a
tool that found or made the column by resourceId and tag finds or makes it again.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Placement, ScoreOutbox, SkillLineItem
from lti_tool.models.base import utcnow
from lti_tool.sandbox.platform import SandboxError
from lti_tool.services.grades import queue_score, retry_failed
from lti_tool.services.placements import link_resource_id
from tests.support import drain_outbox, moodle_launch, submit_form

from .gradebook import FAST_RETRIES, open_gradebook


@pytest.fixture
def gradebook(make_tool):
    from tests.support import SandboxActions

    tool = make_tool(**FAST_RETRIES)
    tool.platform.timeout_seconds = 1.0
    return open_gradebook(tool, SandboxActions(tool))


def _delete_in_lms(platform, lineitem_url: str) -> None:
    """The teacher deletes the column in the LMS (Canvas assignment, Moodle grade item)."""
    context_id, item_id = lineitem_url.split("/courses/", 1)[1].split("/lineitems/")
    platform.delete_line_item(context_id, item_id)


def _graded_then_column_deleted(gradebook) -> str:
    """Send a first score to the placement's column, then delete that column in the LMS; return its address."""
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    dead = gradebook.placement().lineitem_url
    _delete_in_lms(gradebook.platform, dead)
    return dead


def test_a_column_deleted_in_the_lms_is_found_or_made_again_and_every_later_score_lands(gradebook):
    dead = _graded_then_column_deleted(gradebook)

    gradebook.queue("student-1", 20.0)
    stats = gradebook.drain()

    assert stats.posted == 1 and stats.failed == 0
    column = gradebook.placement().lineitem_url
    assert column and column != dead
    (item,) = gradebook.platform.line_items.values()  # one column again, made like the first
    assert (item["id"], item["resourceId"], item["tag"], item["label"]) == (
        column, "unit-fractions", "pathways-mastery", "Fractions")
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 20.0
    row = gradebook.rows()[-1]
    assert (row.status, row.lineitem_url, row.attempts) == ("synced", column, 1)

    gradebook.queue("student-2", 30.0)  # later scores go to the new column straight away
    assert gradebook.drain().posted == 1
    assert gradebook.lms_scores()["student-2"]["scoreGiven"] == 30.0


def test_scores_waiting_for_a_deleted_column_follow_it_and_a_running_worker_forgets_it(gradebook):
    gradebook.queue("student-1", 10.0, skill_id="fractions")  # a per-skill column, found through the worker's memory
    gradebook.queue("student-2", 11.0)
    gradebook.drain()
    with gradebook.tool.app.app_context():
        skill_column = db.session.scalars(sa.select(SkillLineItem.lineitem_url)).one()
    placement_column = gradebook.placement().lineitem_url
    passes = []

    def teacher_deletes_both_columns_then_grades_change(stats) -> None:
        passes.append(stats.passes)
        if len(passes) == 1:
            _delete_in_lms(gradebook.platform, skill_column)
            _delete_in_lms(gradebook.platform, placement_column)
            gradebook.queue("student-1", 20.0, skill_id="fractions")
            gradebook.queue("student-2", 21.0)  # queued with the placement's (dead) column
            gradebook.queue("student-3", 22.0)

    gradebook.queue("student-4", 5.0)  # the first pass posts this one, then the columns go
    stats = gradebook.drain(on_pass=teacher_deletes_both_columns_then_grades_change)

    assert stats.failed == 0 and stats.posted == 4
    rows = gradebook.rows()
    assert {r.status for r in rows} == {"synced"}
    with gradebook.tool.app.app_context():
        new_skill_column = db.session.scalars(sa.select(SkillLineItem.lineitem_url)).one()
    new_column = gradebook.placement().lineitem_url
    assert new_skill_column not in (skill_column, None) and new_column not in (placement_column, None)
    assert len(gradebook.platform.line_items) == 2
    assert gradebook.lms_scores(new_skill_column)["student-1"]["scoreGiven"] == 20.0
    assert {sub: s["scoreGiven"] for sub, s in gradebook.lms_scores(new_column).items()} == {
        "student-2": 21.0, "student-3": 22.0}


def test_a_second_404_from_the_column_made_again_fails_the_score_plainly_instead_of_looping(gradebook):
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    _delete_in_lms(gradebook.platform, gradebook.placement().lineitem_url)
    platform, posts = gradebook.platform, []

    def refuse_every_score(context_id, item_id, body):
        posts.append(item_id)
        raise SandboxError(404, "not_found", "no such line item")

    platform.post_score = refuse_every_score
    gradebook.queue("student-1", 20.0)
    stats = gradebook.drain()

    assert stats.failed == 1 and stats.posted == 0 and stats.retries_scheduled == 0
    assert len(posts) == 2  # the dead column, then the one made in its place: no more
    row = gradebook.rows()[-1]
    assert row.status == "failed" and row.last_status == 404 and row.attempts == 1
    assert "also for the gradebook column Pathways found or made again" in row.last_error
    assert row.lineitem_url == gradebook.placement().lineitem_url  # the new column is kept for the next score


def test_a_404_while_the_column_still_exists_fails_the_score_and_keeps_the_column(gradebook):
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    column = gradebook.placement().lineitem_url
    gradebook.platform.fail_next = [404]  # the scores endpoint says 404; the column itself is still there

    gradebook.queue("student-1", 20.0)
    stats = gradebook.drain()

    assert stats.failed == 1
    assert gradebook.rows()[-1].last_status == 404
    assert gradebook.placement().lineitem_url == column and len(gradebook.platform.line_items) == 1


def test_a_404_when_the_platform_will_not_show_the_column_keeps_the_column(gradebook):
    # A 403 on reading the column (no line item scope) does not say it is gone: forgetting a column we cannot
    # look at would fail every later score for the link.
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    column = gradebook.placement().lineitem_url
    gradebook.platform.fail_next = [404, 403]  # the scores endpoint says 404, then reading the column says 403

    gradebook.queue("student-1", 20.0)
    stats = gradebook.drain()

    assert stats.failed == 1 and gradebook.rows()[-1].last_status == 404
    assert gradebook.placement().lineitem_url == column and len(gradebook.platform.line_items) == 1


def test_a_teachers_retry_of_a_score_that_failed_on_a_deleted_column_does_not_reuse_its_address(gradebook):
    dead = _graded_then_column_deleted(gradebook)
    # As an earlier Pathways left it: the score failed on the deleted column, which the placement still names.
    gradebook.queue("student-1", 20.0)
    with gradebook.tool.app.app_context():
        db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.status == "pending")
                           .values(status="failed", last_status=404, attempts=1))
        db.session.commit()

    with gradebook.tool.app.app_context():
        assert retry_failed(gradebook.course_id, now=utcnow()) == 1
    gradebook.drain()

    row = gradebook.rows()[-1]
    assert row.status == "synced" and row.lineitem_url not in (dead, None)
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 20.0


def test_a_teachers_retry_sends_the_score_to_the_column_the_placement_has_now(gradebook):
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    old = gradebook.placement().lineitem_url
    gradebook.platform.course.members.remove("student-1")
    gradebook.queue("student-1", 20.0)
    gradebook.drain()
    assert gradebook.rows()[-1].status == "failed"
    gradebook.platform.course.members.append("student-1")
    # Meanwhile the LMS named another column for the link (a launch brought it); the old one is still there.
    new = gradebook.platform.create_line_item(gradebook.context_id, {"label": "Fractions", "scoreMaximum": 100})["id"]
    with gradebook.tool.app.app_context():
        db.session.get(Placement, gradebook.placement_id).lineitem_url = new
        db.session.commit()

    with gradebook.tool.app.app_context():
        assert retry_failed(gradebook.course_id, now=utcnow()) == 1
    gradebook.drain()

    assert gradebook.rows()[-1].lineitem_url == new
    assert gradebook.lms_scores(new)["student-1"]["scoreGiven"] == 20.0
    assert gradebook.lms_scores(old)["student-1"]["scoreGiven"] == 10.0


# ---- A column the LMS bound to a link (the launch's AGS `lineitem`) ----

def _link_placement_id(tool, resource_link_id: str) -> int:
    with tool.app.app_context():
        return db.session.scalars(
            sa.select(Placement.id).where(Placement.resource_id == link_resource_id(resource_link_id))
        ).one()


def _queue(tool, placement_id: int, score: float) -> None:
    with tool.app.app_context():
        person_id = db.session.scalars(sa.text("select id from person where sub = 'student-1'")).one()
        queue_score(placement_id, person_id, score_given=score, now=utcnow())
        db.session.commit()


def _student_scores(platform, lineitem_url: str) -> list[float]:
    """The numbers the LMS got for student-1 (a score with nothing due yet carries none: it is not graded)."""
    return [s["scoreGiven"] for s in platform.scores.get(lineitem_url, [])
            if s["userId"] == "student-1" and "scoreGiven" in s]


def _graded_activity(sandbox, tool, resource_link_id: str) -> tuple[str, int]:
    """Add a graded activity by hand (the LMS binds a column to it), send a score there; return column, placement."""
    tool.platform.add_activity(resource_link_id, "Pathways: fractions", accept_grades=True)
    (column,) = tool.platform.line_items
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student", resource_link_id=resource_link_id)
    placement_id = _link_placement_id(tool, resource_link_id)
    _queue(tool, placement_id, 50.0)
    drain_outbox(tool)
    return column, placement_id


def test_a_deleted_column_the_lms_bound_to_the_link_is_made_again_for_that_link(sandbox, tool):
    first, placement_id = _graded_activity(sandbox, tool, "moodle-act-7")
    assert _student_scores(tool.platform, first) == [50.0]
    _delete_in_lms(tool.platform, first)

    _queue(tool, placement_id, 60.0)
    stats = drain_outbox(tool)

    assert stats.failed == 0
    (column,) = tool.platform.line_items.values()
    assert column["resourceLinkId"] == "moodle-act-7" and _student_scores(tool.platform, column["id"]) == [60.0]
    # The LMS now names the new column in the link's launches: nothing changes, nothing is sent again.
    sandbox.launch("student", resource_link_id="moodle-act-7")
    assert drain_outbox(tool).claimed == 0 and len(tool.platform.line_items) == 1


def test_without_leave_to_make_columns_a_deleted_column_is_a_clear_failure_until_the_lms_has_one_again(sandbox, tool):
    tool.platform.add_activity("moodle-act-7", "Pathways: fractions", accept_grades=True)
    (first,) = tool.platform.line_items
    submit_form(moodle_launch(sandbox, "teacher"), "/content/demo")
    moodle_launch(sandbox, "student", resource_link_id="moodle-act-7")
    placement_id = _link_placement_id(tool, "moodle-act-7")
    _queue(tool, placement_id, 50.0)
    drain_outbox(tool)
    _delete_in_lms(tool.platform, first)  # "Accept grades from the tool" turned off: Moodle deletes the grade item

    _queue(tool, placement_id, 60.0)
    stats = drain_outbox(tool)

    assert stats.failed == 1 and tool.platform.line_items == {}
    with tool.app.app_context():
        row = db.session.scalars(sa.select(ScoreOutbox).order_by(ScoreOutbox.id.desc())).first()
        assert row.status == "failed" and "The LMS no longer has this gradebook column" in row.last_error
    teacher = moodle_launch(sandbox, "teacher", resource_link_id="moodle-act-7")
    assert "No gradebook column for “Pathways: fractions”" in teacher.text

    # The teacher turns grades on again (Moodle makes a new column for the link) and retries: the score lands.
    tool.platform.create_line_item("math-7", {"label": "Pathways: fractions", "scoreMaximum": 100,
                                              "resourceLinkId": "moodle-act-7"})
    (column,) = tool.platform.line_items
    moodle_launch(sandbox, "teacher", resource_link_id="moodle-act-7")
    with tool.app.app_context():
        course_id = db.session.get(Placement, placement_id).course_id
        assert retry_failed(course_id, now=utcnow()) == 1
    drain_outbox(tool)
    assert _student_scores(tool.platform, column)[-1] == 60.0


def test_comparing_with_a_gradebook_whose_column_was_deleted_says_so_and_the_teacher_makes_it_again(gradebook):
    import requests

    from lti_tool.services.grades import ColumnMissing, compare_results, restore_column

    dead = _graded_then_column_deleted(gradebook)
    settings = {"secret_key": gradebook.tool.app.config["SECRET_KEY"], "timeout": 10}
    with gradebook.tool.app.app_context(), requests.Session() as http:
        # Comparing only reads: the deleted column is said to be gone, and neither made again nor forgotten.
        with pytest.raises(ColumnMissing) as missing:
            compare_results(gradebook.placement_id, http=http, **settings)
        assert missing.value.gone
        assert gradebook.placement().lineitem_url == dead and gradebook.platform.line_items == {}
        column = restore_column(gradebook.placement_id, http=http, **settings)
        rows = compare_results(gradebook.placement_id, http=http, **settings)
    assert column != dead and gradebook.placement().lineitem_url == column
    assert list(gradebook.platform.line_items) == [column]
    # The column made again has no grades yet: the student's sent score shows as missing there, to resend.
    (row,) = rows
    assert (row.user_id, row.ours, row.lms, row.mismatch) == ("student-1", 10.0, None, True)


# ---- A link the LMS does not grade (a Canvas module item) ----
# Canvas attaches a line item made with a resourceLinkId to that link's assignment, and refuses it (412, line items
# controller check_for_bad_resource_link) when the link has no line item: a link that is no assignment, or one whose
# assignment the teacher deleted. Without the resourceLinkId (optional, AGS 2.0 §3.2) it makes a column of its own.

def test_a_module_link_on_canvas_gets_its_own_column_and_the_grade_lands_in_it(sandbox, tool):
    tool.platform.line_item_link_must_be_graded = True
    tool.platform.add_resource_link("canvas-module-item-3", "Pathways: fractions")  # no column of its own
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student", resource_link_id="canvas-module-item-3")
    placement_id = _link_placement_id(tool, "canvas-module-item-3")

    _queue(tool, placement_id, 50.0)
    stats = drain_outbox(tool)

    assert stats.failed == 0
    (column,) = tool.platform.line_items.values()
    assert "resourceLinkId" not in column and _student_scores(tool.platform, column["id"]) == [50.0]
    _queue(tool, placement_id, 70.0)  # found again by our resourceId and tag: no second column
    drain_outbox(tool)
    assert len(tool.platform.line_items) == 1 and _student_scores(tool.platform, column["id"]) == [50.0, 70.0]


def test_an_assignment_the_teacher_deleted_on_canvas_gets_a_column_again_without_the_link(sandbox, tool):
    tool.platform.line_item_link_must_be_graded = True
    first, placement_id = _graded_activity(sandbox, tool, "canvas-assignment-4")
    _delete_in_lms(tool.platform, first)  # the link has no line item now: Canvas refuses one naming it

    _queue(tool, placement_id, 60.0)
    stats = drain_outbox(tool)

    assert stats.failed == 0
    (column,) = tool.platform.line_items.values()
    assert _student_scores(tool.platform, column["id"]) == [60.0]
