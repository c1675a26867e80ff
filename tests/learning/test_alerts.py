from datetime import UTC, date, datetime, timedelta

from lti_tool.learning.alerts import (
    AlertKind,
    FailedReview,
    SkillProgress,
    StudentSummary,
    alerts_for,
    needs_help_now,
)
from lti_tool.learning.mastery import Level
from lti_tool.learning.pacing import plan_pace

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def summary(student_id="s1", name="Ada", **kwargs) -> StudentSummary:
    kwargs.setdefault("last_active", NOW - timedelta(hours=2))
    return StudentSummary(student_id, name, **kwargs)


def test_teacher_sees_a_learner_stuck_on_a_skill_after_many_tries():
    ada = summary(skills=[SkillProgress("rates", "Unit rates", Level.FAMILIAR, 9)])

    (alert,) = alerts_for(ada, NOW)

    assert alert.kind is AlertKind.STUCK
    assert alert.skill_id == "rates"
    assert alert.reason.startswith("Stuck on Unit rates: 9 tries while staying at Familiar.")


def test_a_few_tries_or_a_plateau_at_proficient_is_not_being_stuck():
    ada = summary(
        skills=[
            SkillProgress("rates", "Unit rates", Level.ATTEMPTED, 4),
            SkillProgress("props", "Proportions", Level.PROFICIENT, 20),
        ]
    )

    assert alerts_for(ada, NOW) == []


def test_teacher_sees_a_learner_who_has_not_worked_for_a_week_and_a_half():
    ada = summary(last_active=NOW - timedelta(days=10))

    (alert,) = alerts_for(ada, NOW)

    assert alert.kind is AlertKind.INACTIVE
    assert alert.reason == "Hasn't worked in Pathways for 10 days (last on 28 February)."


def test_learner_who_never_opened_pathways_is_flagged_only_after_a_week():
    assert alerts_for(summary(last_active=None, enrolled_at=NOW - timedelta(days=3)), NOW) == []

    (alert,) = alerts_for(summary(last_active=None, enrolled_at=NOW - timedelta(days=8)), NOW)

    assert alert.reason == "Hasn't opened Pathways yet, 8 days after joining the course."


def test_recent_failed_review_is_flagged_and_an_old_one_is_not():
    recent = FailedReview("fractions", "Fractions", NOW - timedelta(days=1), Level.PROFICIENT)
    old = FailedReview("ratios", "Ratios", NOW - timedelta(days=30))

    alerts = alerts_for(summary(failed_reviews=[recent, old]), NOW)

    assert [a.reason for a in alerts] == ["Didn't remember Fractions in a review yesterday; it's back to Proficient."]


def test_behind_pace_is_explained_to_the_teacher_with_the_numbers():
    start = date(2025, 1, 6)
    pace = plan_pace(
        [f"s{i}" for i in range(9)],
        [start + timedelta(days=10)],
        course_start=start,
        course_end=date(2025, 3, 17),
        today=start + timedelta(weeks=5),
        started_on=start,
    )

    (alert,) = alerts_for(summary(pace=pace), NOW)

    assert alert.kind is AlertKind.BEHIND
    assert alert.reason == (
        "Behind pace: 1 of 10 skills at Proficient or above in 5 weeks (about 0.2 a week); "
        "finishing by 17 March needs about 1.8 a week."
    )


def test_learner_who_has_not_started_is_not_called_behind():
    pace = plan_pace(
        ["a", "b"], [], course_start=date(2025, 1, 6), course_end=date(2025, 3, 17), today=date(2025, 3, 1)
    )

    assert alerts_for(summary(pace=pace), NOW) == []


def test_class_list_shows_only_learners_who_need_help_most_urgent_first():
    stuck = summary("s3", "Cy", skills=[SkillProgress("rates", "Unit rates", Level.ATTEMPTED, 12)])
    idle = summary("s1", "Ada", last_active=NOW - timedelta(days=14))
    idle_and_slipping = summary(
        "s2",
        "Bo",
        last_active=NOW - timedelta(days=9),
        failed_reviews=[FailedReview("fractions", "Fractions", NOW - timedelta(days=2))],
    )
    fine = summary("s4", "Di")

    flagged = needs_help_now([idle, fine, idle_and_slipping, stuck], NOW)

    assert [entry.name for entry in flagged] == ["Cy", "Bo", "Ada"]
    assert [a.kind for a in flagged[1].alerts] == [AlertKind.FAILED_REVIEW, AlertKind.INACTIVE]
    assert flagged[0].alerts[0].reason.startswith("Stuck on Unit rates: 12 tries since reaching Attempted, none getting past it.")


def test_thresholds_can_be_tuned_per_course():
    ada = summary(last_active=NOW - timedelta(days=4), skills=[SkillProgress("r", "Rates", Level.FAMILIAR, 5)])

    assert alerts_for(ada, NOW) == []
    assert {a.kind for a in alerts_for(ada, NOW, stuck_attempts=5, inactive_days=3)} == {
        AlertKind.STUCK,
        AlertKind.INACTIVE,
    }
