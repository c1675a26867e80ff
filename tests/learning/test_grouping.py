import random

import pytest

from lti_tool.learning.grouping import mixed_groups, same_need_groups
from lti_tool.learning.mastery import Level

NAMES = {"rates": "Unit rates", "props": "Proportions"}
LADDER = [Level.ATTEMPTED, Level.FAMILIAR, Level.PROFICIENT, Level.MASTERED]


def class_of(n: int, seed: int = 0) -> dict[str, dict[str, Level]]:
    rng = random.Random(seed)
    return {f"st{i:02}": {"rates": rng.choice(LADDER), "props": rng.choice(list(Level))} for i in range(n)}


def test_teacher_gets_same_need_groups_with_a_reason_to_act_on():
    levels = {f"f{i}": {"rates": Level.FAMILIAR} for i in range(4)}
    levels.update({f"m{i}": {"rates": Level.MASTERED} for i in range(4)})

    groups = same_need_groups(levels, ["rates"], skill_names=NAMES)

    assert [g.student_ids for g in groups] == [("f0", "f1", "f2", "f3"), ("m0", "m1", "m2", "m3")]
    assert groups[0].reason == "All four are Familiar with Unit rates: reteach with worked examples."
    assert groups[1].reason == "All four are Mastered Unit rates: a challenge problem that stretches it further."


@pytest.mark.parametrize("size", range(3, 31))
def test_every_student_is_in_exactly_one_group_of_three_to_five(size):
    levels = class_of(size, seed=size)

    for groups in (same_need_groups(levels, ["rates", "props"]), mixed_groups(levels, ["rates", "props"])):
        members = [s for g in groups for s in g.student_ids]
        assert sorted(members) == sorted(levels)
        assert all(3 <= len(g.student_ids) <= 5 for g in groups)


def test_same_need_groups_keep_levels_alike():
    levels = class_of(24)

    for group in same_need_groups(levels, ["rates"]):
        ranks = [levels[s]["rates"].rank for s in group.student_ids]
        assert max(ranks) - min(ranks) <= 1


def test_groups_are_the_same_whatever_order_the_roster_comes_in():
    levels = class_of(17)
    shuffled = dict(sorted(levels.items(), reverse=True))

    assert same_need_groups(levels, ["rates", "props"]) == same_need_groups(shuffled, ["rates", "props"])
    assert mixed_groups(levels, ["rates"]) == mixed_groups(shuffled, ["rates"])


def test_a_class_too_small_for_the_bounds_becomes_one_group():
    groups = same_need_groups({"a": {"rates": Level.FAMILIAR}, "b": {}}, ["rates"], skill_names=NAMES)

    assert [g.student_ids for g in groups] == [("a", "b")]
    assert groups[0].reason == (
        "Both are between Not started and Familiar on Unit rates: "
        "introduce it with a short demonstration and a worked example."
    )


def test_same_need_reason_names_the_skill_to_focus_on_when_grouping_by_two():
    levels = {f"s{i}": {"rates": Level.PROFICIENT, "props": Level.ATTEMPTED} for i in range(3)}

    (group,) = same_need_groups(levels, ["rates", "props"], skill_names=NAMES)

    assert group.reason == (
        "All three are Proficient with Unit rates and Attempted with Proportions. "
        "Focus on Proportions: reteach from the start with worked examples."
    )


def test_mixed_groups_for_a_project_each_hold_a_spread_of_levels_and_are_balanced():
    levels = {f"st{i:02}": {"rates": LADDER[i % 4]} for i in range(16)}

    groups = mixed_groups(levels, ["rates"], skill_names=NAMES)

    assert len(groups) == 4
    for group in groups:
        assert {levels[s]["rates"] for s in group.student_ids} == set(LADDER)
        assert group.kind == "mixed"
        assert group.reason.startswith(
            "A mix of levels on Unit rates (1 Mastered, 1 Proficient, 1 Familiar, 1 Attempted)"
        )


def test_mixed_group_totals_stay_close_in_a_random_class():
    levels = class_of(23, seed=4)

    groups = mixed_groups(levels, ["rates"])

    means = [sum(levels[s]["rates"].rank for s in g.student_ids) / len(g.student_ids) for g in groups]
    assert max(means) - min(means) <= 0.75


def test_grouping_needs_at_least_one_skill_and_sensible_sizes():
    with pytest.raises(ValueError):
        same_need_groups(class_of(5), [])
    with pytest.raises(ValueError):
        mixed_groups(class_of(5), ["rates"], min_size=4, max_size=3)


def test_empty_class_has_no_groups():
    assert same_need_groups({}, ["rates"]) == [] == mixed_groups({}, ["rates"])
