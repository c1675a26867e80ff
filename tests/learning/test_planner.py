from datetime import UTC, datetime, timedelta

from lti_tool.learning.mastery import Level
from lti_tool.learning.planner import Goal, NextStep, PlanActivity, StepReason, plan_next_steps
from lti_tool.learning.review import DueReview
from lti_tool.learning.skills import Skill, SkillGraph

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def ratio_course() -> SkillGraph:
    return SkillGraph(
        [
            Skill("whole", "Whole-number division"),
            Skill("equiv", "Equivalent fractions", prerequisites=("whole",)),
            Skill("rates", "Unit rates", prerequisites=("equiv",)),
            Skill("ratios", "Ratios", prerequisites=("equiv",)),
            Skill("props", "Proportions", prerequisites=("rates", "ratios")),
            Skill("percent", "Percentages", prerequisites=("ratios",)),
            Skill("area", "Area"),
        ]
    )


def course_activities() -> list[PlanActivity]:
    activities = []
    for skill in ratio_course():
        activities.append(PlanActivity(f"{skill.id}-video", f"{skill.name}: video", "resource", (skill.id,), "video"))
        activities.append(PlanActivity(f"{skill.id}-practice", f"{skill.name} practice", "practice", (skill.id,)))
    activities.append(PlanActivity("rates-reading", "Unit rates: reading", "resource", ("rates",), "reading"))
    activities.append(PlanActivity("rates-shop", "Best buy at the shop", "project", ("rates",), "hands-on"))
    return activities


def plan(levels, goals=(), reviews=(), limit=5) -> list[NextStep]:
    return plan_next_steps(ratio_course(), levels, course_activities(), list(goals), list(reviews), limit=limit)


def review(skill_id: str, days_overdue: int) -> DueReview:
    return DueReview(skill_id, NOW - timedelta(days=days_overdue), timedelta(days=days_overdue))


def test_new_learner_is_only_offered_skills_that_need_nothing_first():
    steps = plan({})

    assert {step.skill_id for step in steps} == {"whole", "area"}


def test_learner_who_has_shown_equivalent_fractions_is_told_why_in_words_a_child_understands():
    goal = Goal("g1", "Solve proportions", ("props",), set_by="student")
    steps = plan({"whole": Level.MASTERED, "equiv": Level.MASTERED}, goals=[goal])

    rates = next(step for step in steps if step.skill_id == "rates")
    assert rates.reason is StepReason.GOAL
    assert rates.goal_id == "g1"
    assert rates.why == (
        "You're ready for this: you've shown Equivalent fractions. "
        "Practising it moves you toward your goal 'Solve proportions'."
    )


def test_skills_toward_the_goal_come_before_skills_that_lead_elsewhere():
    goal = Goal("g1", "Unit rates", ("rates",), set_by="student")
    steps = plan({"whole": Level.MASTERED, "equiv": Level.MASTERED}, goals=[goal])

    assert steps[0].skill_id == "rates"
    assert steps[0].why.endswith("It's part of your goal 'Unit rates'.")


def test_a_course_goal_is_named_the_teachers_goal_not_the_learners_own():
    # The goals page lists the course's goals under "Goals from your teacher" and the student's apart: a step toward
    # a course goal said "your goal", and the teacher's page for the student said they had none.
    goal = Goal("g1", "Unit rates", ("rates",), set_by="teacher")
    steps = plan({"whole": Level.MASTERED, "equiv": Level.MASTERED}, goals=[goal])
    assert steps[0].why.endswith("It's part of your teacher's goal 'Unit rates'.")

    toward = plan({"whole": Level.MASTERED}, goals=[Goal("g2", "Solve proportions", ("props",), set_by="teacher")])
    equiv = next(step for step in toward if step.skill_id == "equiv")
    assert equiv.why.endswith("Practising it moves you toward your teacher's goal 'Solve proportions'.")
    assert "your goal" not in " ".join(step.why for step in toward)


def test_without_goals_the_skill_that_opens_up_the_most_comes_first():
    steps = plan({"whole": Level.MASTERED, "equiv": Level.MASTERED, "area": Level.MASTERED})

    assert [step.skill_id for step in steps] == ["ratios", "rates"]
    assert steps[0].reason is StepReason.UNLOCKS
    assert "opens up 2 more skills, like Proportions" in steps[0].why


def test_a_due_review_is_not_a_step_of_its_own_the_mixed_review_is_its_one_way_in():
    steps = plan({"whole": Level.MASTERED, "equiv": Level.PROFICIENT}, reviews=[review("whole", 2)])

    assert "whole" not in {step.skill_id for step in steps}
    assert not any("review" in step.why for step in steps)
    assert [step.skill_id for step in steps][:1] == ["equiv"]  # new learning goes on beside the review


def test_a_skill_that_fell_below_mastered_and_is_due_again_is_left_to_the_review_too():
    steps = plan({"whole": Level.MASTERED, "equiv": Level.PROFICIENT}, reviews=[review("equiv", 1)])

    assert "equiv" not in {step.skill_id for step in steps}
    assert {step.skill_id for step in steps} >= {"rates", "ratios"}


def test_a_pile_of_due_reviews_never_crowds_out_new_learning():
    mastered = {s: Level.MASTERED for s in ("whole", "equiv", "rates", "ratios", "area")}
    reviews = [review(s, days) for days, s in enumerate(["whole", "equiv", "rates", "ratios", "area"], start=1)]

    steps = plan(mastered, reviews=reviews)

    assert {step.skill_id for step in steps} == {"props", "percent"}


def test_an_assigned_skill_stays_a_step_while_due_for_review():
    steps = plan_next_steps(ratio_course(), {"whole": Level.MASTERED}, course_activities(), [],
                            [review("area", 1)], assigned={"area": None})

    assert steps[0].skill_id == "area" and steps[0].assigned


def test_mastered_skills_are_not_recommended_again_until_their_review_is_due():
    steps = plan({"whole": Level.MASTERED, "area": Level.MASTERED})

    assert [step.skill_id for step in steps] == ["equiv"]


def test_every_learner_sees_every_modality_and_every_way_to_show_mastery():
    ready = {"whole": Level.MASTERED, "equiv": Level.MASTERED}
    steps_a = plan(ready)
    steps_b = plan({**ready, "area": Level.FAMILIAR})

    for steps in (steps_a, steps_b):
        rates = next(step for step in steps if step.skill_id == "rates")
        assert {a.modality for a in rates.activities} == {"video", "reading", "hands-on", ""}
        assert [w.kind for w in rates.ways_to_show] == ["practice", "project", "explanation"]
        assert rates.ways_to_show[-1].activity_id is None


def test_skill_not_started_opens_with_something_to_learn_from_and_one_in_progress_with_practice():
    steps = plan({"whole": Level.MASTERED, "equiv": Level.FAMILIAR})

    equiv = next(step for step in steps if step.skill_id == "equiv")
    area = next(step for step in steps if step.skill_id == "area")
    assert equiv.activity is not None and equiv.activity.kind == "practice"
    assert "you're at Familiar" in equiv.why
    assert area.activity is not None and area.activity.kind == "resource"


def test_prerequisite_only_familiar_keeps_the_next_skill_closed():
    steps = plan({"whole": Level.FAMILIAR})

    assert "equiv" not in {step.skill_id for step in steps}


def test_skill_with_no_activity_in_the_course_is_left_out():
    activities = [a for a in course_activities() if "area" not in a.skill_ids]

    steps = plan_next_steps(ratio_course(), {}, activities, [], [])

    assert [step.skill_id for step in steps] == ["whole"]


def test_plan_is_never_longer_than_asked():
    mastered = {s: Level.MASTERED for s in ("whole", "equiv")}

    assert len(plan(mastered, limit=2)) == 2
    assert plan(mastered, limit=0) == []


def test_a_reached_goal_no_longer_steers_the_plan():
    goal = Goal("g1", "Equivalent fractions", ("equiv",))
    steps = plan({"whole": Level.MASTERED, "equiv": Level.MASTERED}, goals=[goal])

    assert all(step.goal_id is None for step in steps)


def test_skills_the_teacher_assigned_come_first_soonest_due_first_until_proficient():
    from datetime import date

    assigned = {"props": None, "rates": date(2025, 3, 14)}
    steps = plan_next_steps(ratio_course(), {"whole": Level.MASTERED}, course_activities(), [],
                            [review("whole", 3)], assigned=assigned)

    assert [(s.skill_id, s.reason, s.due_on) for s in steps[:2]] == [
        ("rates", StepReason.ASSIGNED, date(2025, 3, 14)), ("props", StepReason.ASSIGNED, None)]
    assert steps[0].assigned and not steps[2].assigned
    # Assigned before its prerequisites are shown: the teacher chose it, and the reason says what it builds on.
    assert steps[0].why == ("Your teacher assigned this skill. It builds on Equivalent fractions: ask your teacher "
                            "if you get stuck. It leaves the top of your plan once you reach Proficient.")
    assert [s.skill_id for s in steps].count("rates") == 1

    proficient = plan_next_steps(ratio_course(), {"whole": Level.MASTERED, "equiv": Level.MASTERED,
                                                  "rates": Level.PROFICIENT}, course_activities(), [], [],
                                 assigned=assigned)
    assert [s.skill_id for s in proficient if s.assigned] == ["props"]
    assert next(s for s in proficient if s.skill_id == "rates").reason is not StepReason.ASSIGNED


def test_an_assigned_skill_only_the_teacher_changes_says_the_teacher_takes_it_off_the_top():
    # Answers do not raise a level only the teacher changes: "once you reach Proficient" was not the learner's to do.
    steps = plan_next_steps(ratio_course(), {"whole": Level.MASTERED, "equiv": Level.MASTERED,
                                             "rates": Level.ATTEMPTED}, course_activities(), [], [],
                            assigned={"rates": None}, teacher_holds={"rates"})

    assert steps[0].skill_id == "rates" and steps[0].reason is StepReason.ASSIGNED
    assert steps[0].why == ("Your teacher assigned this skill. It stays at the top of your plan until your teacher "
                            "sets your level to Proficient or removes the assignment.")


def test_activities_grouped_once_per_course_plan_the_same_steps_as_the_list():
    # The plan page groups a course's activities by skill once per pack (services/plan.py); the steps, their
    # activities and their order must be what the plain list gives.
    from lti_tool.learning.planner import activities_by_skill

    activities = course_activities()
    grouped = activities_by_skill(activities)
    assert [a.kind for a in grouped["rates"]] == ["resource", "resource", "practice", "project"]
    for levels in ({}, {"whole": Level.MASTERED}, {"whole": Level.MASTERED, "equiv": Level.PROFICIENT}):
        goals = [Goal("g", "Rates", ("rates",))]
        assert plan_next_steps(ratio_course(), levels, grouped, goals, [], limit=7) == plan_next_steps(
            ratio_course(), levels, activities, goals, [], limit=7)


def test_skills_ready_only_on_the_placement_checks_word_are_confirmed_last_and_never_called_shown():
    # The check suggests "whole" and "equiv" are known (the planner's stand-in Proficient); the learner has not
    # practised them, so the steps show Not started and say where the word comes from.
    stand_in = {"whole": Level.PROFICIENT, "equiv": Level.PROFICIENT}
    steps = plan_next_steps(ratio_course(), stand_in, course_activities(), [], [], limit=7, shown_levels={})

    order = [step.skill_id for step in steps]
    assert order[-2:] == ["equiv", "whole"] or order[-2:] == ["whole", "equiv"]
    assert all(step.level is Level.NOT_STARTED for step in steps)
    rates = next(step for step in steps if step.skill_id == "rates")
    assert rates.why.startswith("You're ready for this: the placement check suggests you know Equivalent fractions.")
    for step in steps:
        assert "you've shown" not in step.why
        if step.skill_id in stand_in:
            assert step.why.startswith("The placement check suggests you know this already: a short practice")


def test_after_misses_in_a_row_the_step_names_what_it_builds_on_and_never_says_ready():
    # "You're ready for this: you've shown Equivalent fractions. Your last answers on it missed: …" said two things
    # at once. Held by the teacher or not, the step now says what the skill builds on, to go back over instead.
    levels = {"whole": Level.MASTERED, "equiv": Level.ATTEMPTED}
    for holds in (frozenset(), frozenset({"equiv"})):
        steps = plan_next_steps(ratio_course(), levels, course_activities(), [], [], missed_lately={"equiv"},
                                teacher_holds=holds)
        equiv = next(step for step in steps if step.skill_id == "equiv")
        assert equiv.missed_lately
        assert equiv.why.startswith("Going back over what it builds on can help: Whole-number division. Your last "
                                    "answers on it missed: before more questions"), equiv.why
        assert "ready for this" not in equiv.why
    # A skill that builds on nothing says only what to do.
    steps = plan_next_steps(ratio_course(), {"area": Level.FAMILIAR}, course_activities(), [], [],
                            missed_lately={"area"})
    area = next(step for step in steps if step.skill_id == "area")
    assert area.why.startswith("Your last answers on it missed:"), area.why
