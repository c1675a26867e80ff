import pytest

from lti_tool.learning.grading import (
    ActivityProgress,
    GradingProgress,
    GradingScheme,
    activity_progress,
    grading_progress,
    levels_changed,
    placement_score,
    score_changed,
    score_fraction,
)
from lti_tool.learning.mastery import Level

SKILLS = ["equiv", "rates", "props"]
NAMES = {"equiv": "Equivalent fractions", "rates": "Unit rates", "props": "Proportions"}


def test_gradebook_shows_the_share_of_skills_at_proficient_or_above_scaled_to_the_line_item():
    levels = {"equiv": Level.MASTERED, "rates": Level.PROFICIENT, "props": Level.FAMILIAR}

    assert placement_score(levels, SKILLS).score_given == 66.67
    assert placement_score(levels, SKILLS, score_maximum=10).score_given == 6.67


def test_practising_without_reaching_proficient_never_lowers_the_default_score():
    assert score_fraction({"equiv": Level.ATTEMPTED}, SKILLS) == score_fraction({}, SKILLS) == 0.0


def test_standards_based_average_counts_attempted_1_to_mastered_4_and_not_started_as_0():
    levels = {"equiv": Level.MASTERED, "rates": Level.FAMILIAR}  # props not started

    score = placement_score(levels, SKILLS, scheme=GradingScheme.STANDARDS_AVERAGE, score_maximum=12)

    assert score.score_given == pytest.approx((4 + 2 + 0) / 12 * 12)


def test_one_mastered_skill_of_four_is_not_a_full_standards_score():
    levels = {"equiv": Level.MASTERED}

    assert score_fraction(levels, SKILLS + ["percent"], GradingScheme.STANDARDS_AVERAGE) == 0.25


def test_teacher_reads_which_skills_are_done_in_the_gradebook_comment():
    levels = {"equiv": Level.MASTERED, "rates": Level.PROFICIENT, "props": Level.FAMILIAR}

    comment = placement_score(levels, SKILLS, skill_names=NAMES).comment

    assert comment == "Proficient+: Equivalent fractions, Unit rates; still working on: Proportions"


def test_comment_names_skills_not_started_separately():
    comment = placement_score({"equiv": Level.ATTEMPTED}, SKILLS, skill_names=NAMES).comment

    assert comment == "still working on: Equivalent fractions; not started: Unit rates, Proportions"


@pytest.mark.parametrize(
    ("levels", "progress"),
    [
        ([Level.NOT_STARTED, Level.NOT_STARTED], ActivityProgress.INITIALIZED),
        ([Level.ATTEMPTED, Level.NOT_STARTED], ActivityProgress.STARTED),
        ([Level.FAMILIAR, Level.FAMILIAR], ActivityProgress.STARTED),
        ([Level.PROFICIENT, Level.ATTEMPTED], ActivityProgress.IN_PROGRESS),
        ([Level.PROFICIENT, Level.MASTERED], ActivityProgress.COMPLETED),
        ([], ActivityProgress.INITIALIZED),
    ],
)
def test_activity_progress_follows_how_far_the_learner_has_got(levels, progress):
    assert activity_progress(levels) is progress
    assert progress.value in {"Initialized", "Started", "InProgress", "Completed"}


def test_explanation_waiting_for_the_teacher_is_posted_as_pending_manual():
    score = placement_score({"equiv": Level.PROFICIENT}, ["equiv"], skill_names=NAMES, pending_evidence=True)

    assert grading_progress(False) is GradingProgress.FULLY_GRADED
    assert score.grading_progress.value == "PendingManual"
    assert score.comment == "Proficient+: Equivalent fractions (waiting for teacher review)"


def test_a_new_score_is_posted_only_when_a_level_changes():
    before = {"equiv": Level.FAMILIAR, "rates": Level.ATTEMPTED}
    after = {"equiv": Level.PROFICIENT, "rates": Level.ATTEMPTED}

    assert not levels_changed(before, dict(before), SKILLS)
    assert levels_changed(before, after, SKILLS)
    assert not levels_changed(before, {**before, "other": Level.MASTERED}, SKILLS)
    first = placement_score(before, SKILLS)
    assert score_changed(None, first)
    assert not score_changed(first, placement_score(dict(before), SKILLS))
    assert score_changed(first, placement_score(after, SKILLS))


def test_line_item_without_points_is_refused():
    with pytest.raises(ValueError, match="scoreMaximum"):
        placement_score({}, SKILLS, score_maximum=0)


def test_due_so_far_grades_only_the_skills_whose_goal_date_has_passed_and_what_they_build_on():
    import datetime

    from lti_tool.learning.grading import due_skills
    from lti_tool.learning.skills import Skill, SkillGraph

    graph = SkillGraph([Skill("a", "A"), Skill("b", "B", prerequisites=("a",)), Skill("c", "C")])
    goals = [(("b",), datetime.date(2026, 1, 1)), (("c",), datetime.date(2027, 1, 1)), (("c",), None)]
    due = due_skills(graph, goals, datetime.date(2026, 6, 1))
    assert due == {"a", "b"}
    levels = {"a": Level.PROFICIENT, "c": Level.MASTERED}
    score = placement_score(levels, ["a", "b", "c"], scheme=GradingScheme.DUE_SO_FAR, due=due)
    assert score.score_given == 50.0  # one of the two due skills; C is not due yet, so it neither helps nor hurts
    assert score.comment.startswith("Graded on the 2 skills due so far.")
    nothing_due = placement_score(levels, ["a", "b", "c"], scheme=GradingScheme.DUE_SO_FAR, due=frozenset())
    # Until anything is due there is no grade (no scoreGiven, Pending), not a small number for work not yet due.
    assert nothing_due.score_given is None
    assert nothing_due.grading_progress.value == "Pending"
    assert nothing_due.comment.startswith("Nothing is due yet: no grade until a goal date passes.")
    # Evidence waiting for the teacher still says so, graded or not.
    waiting = placement_score(levels, ["a", "b", "c"], scheme=GradingScheme.DUE_SO_FAR, due=frozenset(),
                              pending_evidence=True)
    assert (waiting.score_given, waiting.grading_progress.value) == (None, "PendingManual")
    # Due only elsewhere (another unit's skills): this column still has nothing due.
    assert placement_score(levels, ["c"], scheme=GradingScheme.DUE_SO_FAR, due=due).score_given is None
