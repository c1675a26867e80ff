from datetime import UTC, datetime, timedelta

import pytest

from lti_tool.learning.mastery import Level
from lti_tool.learning.review import (
    DueReview,
    ItemResult,
    Rating,
    due_reviews,
    level_after_review,
    mastery_challenge,
    rating_for,
    review_outcome,
    reviews_to_stop,
    starts_review,
)

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def test_learner_sees_only_reviews_that_are_due_most_overdue_first():
    due = due_reviews(
        {
            "fractions": NOW - timedelta(days=1),
            "ratios": NOW - timedelta(days=3),
            "percent": NOW + timedelta(hours=2),
        },
        NOW,
    )

    assert [(r.skill_id, r.overdue) for r in due] == [("ratios", timedelta(days=3)), ("fractions", timedelta(days=1))]


def test_reviews_due_later_today_can_be_included_for_a_lesson():
    due = due_reviews({"percent": NOW + timedelta(hours=2)}, NOW, within=timedelta(hours=12))

    assert [(r.skill_id, r.overdue) for r in due] == [("percent", timedelta(0))]


def test_due_dates_without_a_timezone_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="timezone-aware"):
        due_reviews({"fractions": datetime(2025, 3, 9)}, NOW)


@pytest.mark.parametrize(
    ("results", "rating"),
    [
        ([ItemResult(False)], Rating.AGAIN),
        ([ItemResult(True, hints_used=1)], Rating.HARD),
        ([ItemResult(True)], Rating.GOOD),
        ([ItemResult(True), ItemResult(True), ItemResult(True)], Rating.EASY),
        ([ItemResult(True), ItemResult(True, hints_used=2), ItemResult(True)], Rating.HARD),
        ([ItemResult(True), ItemResult(False), ItemResult(True)], Rating.HARD),
        ([ItemResult(True), ItemResult(False), ItemResult(False)], Rating.AGAIN),
    ],
)
def test_practice_result_becomes_the_fsrs_rating_a_teacher_would_give(results, rating):
    assert rating_for(results) is rating


def test_a_single_answer_can_be_rated_directly():
    assert rating_for(ItemResult(True)) is Rating.GOOD
    with pytest.raises(ValueError):
        rating_for([])


def test_ratings_convert_to_the_fsrs_package_by_number():
    fsrs = pytest.importorskip("fsrs")

    assert [fsrs.Rating(r.value).name for r in Rating] == ["Again", "Hard", "Good", "Easy"]


def test_failed_review_keeps_the_level_unless_the_model_lowers_it_and_comes_back_tomorrow():
    kept = review_outcome("fractions", Level.MASTERED, Rating.AGAIN, NOW, skill_name="Fractions",
                          model_level=Level.MASTERED)
    lowered = review_outcome("fractions", Level.MASTERED, Rating.AGAIN, NOW, skill_name="Fractions",
                             model_level=Level.PROFICIENT)

    assert not kept.passed and not kept.level_changed
    assert kept.due_at == NOW + timedelta(days=1)
    assert kept.message.startswith("Fractions was hard to remember this time; it stays Mastered for now.")
    assert lowered.level_after is Level.PROFICIENT and lowered.level_changed
    assert lowered.message.startswith("Fractions was hard to remember this time, so it's back to Proficient.")


def test_successful_review_keeps_mastered_and_leaves_the_date_to_the_scheduler():
    outcome = review_outcome("fractions", Level.MASTERED, Rating.HARD, NOW, skill_name="Fractions")

    assert outcome.passed
    assert outcome.level_after is Level.MASTERED
    assert not outcome.level_changed
    assert outcome.due_at is None


def test_repeated_failed_reviews_do_not_drop_a_level_each_time_by_themselves():
    level = Level.MASTERED
    for _ in range(5):
        level = level_after_review(level, Rating.AGAIN)
    assert level is Level.MASTERED
    assert level_after_review(Level.MASTERED, Rating.AGAIN, Level.FAMILIAR) is Level.FAMILIAR


def test_skill_goes_on_the_review_schedule_the_moment_it_becomes_mastered():
    assert starts_review(Level.PROFICIENT, Level.MASTERED)
    assert not starts_review(Level.MASTERED, Level.MASTERED)
    assert not starts_review(Level.FAMILIAR, Level.PROFICIENT)


def test_skill_that_fell_below_proficient_leaves_review_for_ordinary_practice():
    due = {"fractions": NOW, "ratios": NOW}

    assert reviews_to_stop(due, {"fractions": Level.FAMILIAR, "ratios": Level.PROFICIENT}) == ["fractions"]


def test_mastery_challenge_mixes_due_skills_most_overdue_first_and_fresh_items_first():
    due = [
        DueReview("ratios", NOW - timedelta(days=1), timedelta(days=1)),
        DueReview("fractions", NOW - timedelta(days=3), timedelta(days=3)),
        DueReview("percent", NOW, timedelta(0)),
    ]
    items = {"fractions": ["f1", "f2", "f3"], "ratios": ["r1", "r2"], "percent": []}

    challenge = mastery_challenge(due, items, size=4, recent=["f1"])

    assert challenge == [("fractions", "f2"), ("ratios", "r1"), ("fractions", "f3"), ("ratios", "r2")]
    assert mastery_challenge(due, items, size=10) == [
        ("fractions", "f1"), ("ratios", "r1"), ("fractions", "f2"), ("ratios", "r2"), ("fractions", "f3")
    ]
    assert mastery_challenge([], items) == []


def test_mastery_challenge_takes_an_item_seen_both_now_and_long_ago_as_a_recent_one():
    due = [DueReview("fractions", NOW - timedelta(days=1), timedelta(days=1))]
    items = {"fractions": ["f1", "f2", "f3"]}

    # Newest first: f1 is open now (and was answered long ago), f2 was answered in between, f3 never.
    assert mastery_challenge(due, items, size=3, recent=["f1", "f2", "f1"]) == [
        ("fractions", "f3"), ("fractions", "f2"), ("fractions", "f1")]
