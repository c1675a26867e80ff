from datetime import date, timedelta

import pytest

from lti_tool.learning.pacing import PaceStatus, plan_pace

START = date(2025, 1, 6)
END = date(2025, 3, 17)  # ten weeks
SKILLS = [f"s{i}" for i in range(10)]


def pace(mastered: int, *, weeks_in: float, started_on: date | None = START, **kwargs):
    today = START + timedelta(days=round(weeks_in * 7))
    # Spread the mastered dates evenly up to today, the way a steady learner would reach them.
    mastered_on = [
        START + timedelta(days=round((i + 1) * (today - START).days / max(mastered, 1))) for i in range(mastered)
    ]
    return plan_pace(
        SKILLS[mastered:],
        mastered_on,
        course_start=START,
        course_end=END,
        today=today,
        started_on=started_on,
        **kwargs,
    )


def test_learner_with_no_activity_is_not_started_yet_not_behind():
    plan = pace(0, weeks_in=5, started_on=None)

    assert plan.status is PaceStatus.NOT_STARTED
    assert plan.observed_per_week is None
    assert "behind" not in plan.explanation.lower()
    assert plan.explanation == (
        "You haven't started yet, so there's no pace to measure. "
        "To finish all 10 skills by 17 March, you'd need about 2 a week."
    )


def test_learner_in_their_first_days_is_just_started_even_with_nothing_mastered():
    plan = pace(0, weeks_in=3 / 7)

    assert plan.status is PaceStatus.JUST_STARTED
    assert "too early to measure your pace" in plan.explanation


def test_learner_halfway_through_with_half_the_skills_is_on_track_and_told_the_numbers():
    plan = pace(5, weeks_in=5)

    assert plan.status is PaceStatus.ON_TRACK
    assert plan.observed_per_week == pytest.approx(1.0)
    assert plan.explanation == (
        "You've reached Proficient on 5 of 10 skills in 5 weeks (about 1 a week). "
        "To finish the other 5 skills by 17 March, you'd need about 1 a week. "
        "At your pace so far you'd finish around 17 March. That's on track."
    )


def test_learner_with_one_skill_after_five_weeks_is_behind_with_the_catch_up_pace():
    plan = pace(1, weeks_in=5)

    assert plan.status is PaceStatus.BEHIND
    assert plan.needed_per_week == pytest.approx(9 / 5)
    assert "you'd need about 1.8 a week" in plan.explanation


def test_learner_with_eight_skills_after_five_weeks_is_ahead():
    assert pace(8, weeks_in=5).status is PaceStatus.AHEAD


def test_targets_come_in_order_and_a_slow_learner_still_gets_targets_before_the_course_ends():
    plan = pace(1, weeks_in=5)

    dates = list(plan.targets.values())
    assert list(plan.targets) == SKILLS[1:]
    assert dates == sorted(dates)
    assert dates[-1] <= END
    assert plan.projected_finish is not None and plan.projected_finish > END


def test_a_fast_learner_gets_targets_at_their_own_pace_not_the_slower_plan():
    plan = pace(8, weeks_in=5)

    assert plan.targets["s9"] < END - timedelta(days=14)


def test_two_lucky_days_do_not_make_a_prediction():
    # Three skills on the first two days would be ten a week; the prior keeps the estimate modest.
    plan = plan_pace(
        SKILLS[3:],
        [START, START, START + timedelta(days=1)],
        course_start=START,
        course_end=END,
        today=START + timedelta(days=8),
        started_on=START,
    )

    assert plan.observed_per_week is not None and plan.observed_per_week > 2.5
    assert plan.estimated_per_week < 2.5


def test_learner_who_joined_late_is_measured_from_when_they_started():
    joined = START + timedelta(weeks=4)
    # 3 skills in 2 weeks of the 6 left is on track for them, though far from 6 of 10 since the course began.
    mastered_on = [joined + timedelta(days=4), joined + timedelta(days=9), joined + timedelta(days=13)]

    plan = plan_pace(
        SKILLS[3:],
        mastered_on,
        course_start=START,
        course_end=END,
        today=joined + timedelta(weeks=2),
        started_on=joined,
    )

    assert plan.status is PaceStatus.ON_TRACK


def test_learner_who_mastered_everything_is_all_done():
    plan = pace(10, weeks_in=8)

    assert plan.status is PaceStatus.DONE
    assert plan.targets == {}
    assert plan.explanation.startswith("You've reached Proficient or above on all 10 skills.")


def test_after_the_course_ends_targets_are_today_and_the_words_say_it_ended():
    plan = pace(4, weeks_in=11)

    assert plan.needed_per_week is None
    assert set(plan.targets.values()) == {START + timedelta(weeks=11)}
    assert "The course ended on 17 March, with 6 skills still to learn." in plan.explanation


def test_course_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        plan_pace(SKILLS, [], course_start=END, course_end=START, today=START)
