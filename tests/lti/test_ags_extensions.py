"""Scores sent to Canvas carry its submission extension; other platforms get plain AGS scores."""

from dataclasses import replace
from datetime import datetime

from lti_tool.lti.ags import CANVAS_SUBMISSION, Score, score_extensions


def _score() -> Score:
    return Score("u1", 5.0, 10.0, "InProgress", "FullyGraded", datetime(2026, 11, 23, 9, 30))


def test_canvas_scores_carry_the_submission_extension():
    ext = score_extensions("https://canvas.instructure.com", _score())[CANVAS_SUBMISSION]
    assert ext["new_submission"] is True and ext["submission_type"] == "basic_lti_launch"
    assert ext["submitted_at"].startswith("2026-11-23T09:30:00")


def test_other_platforms_get_no_extension():
    assert score_extensions("https://moodle.school.edu", _score()) == {}
    assert score_extensions(None, _score()) == {}


def test_a_later_score_to_canvas_only_grades_the_submission():
    later = replace(_score(), last_sent_comment="")
    assert score_extensions("https://canvas.instructure.com", later) == {CANVAS_SUBMISSION: {"new_submission": False}}
