"""The plan page's units: each unit's count, the "Other skills" group, and which unit the page shows (issue 14)."""

from __future__ import annotations

from lti_tool.learning.coursepack import load_pack
from lti_tool.learning.mastery import Level
from lti_tool.learning.plan_units import OTHER_SKILLS, shown_unit, unit_progress
from lti_tool.services.content import demo_pack_data

DATA = demo_pack_data()
PACK = load_pack(DATA)
FRACTIONS, RATIOS = PACK.units[0], PACK.units[1]


def _pack(**changes):
    return load_pack({**demo_pack_data(), **changes})


def test_each_unit_counts_its_skills_at_proficient_or_above():
    levels = {FRACTIONS.skills[0]: Level.MASTERED, FRACTIONS.skills[1]: Level.PROFICIENT,
              FRACTIONS.skills[2]: Level.FAMILIAR, RATIOS.skills[0]: Level.ATTEMPTED}
    units = unit_progress(PACK, levels)
    assert [(u.id, u.title, u.skill_ids, u.proficient, u.total, u.other) for u in units] == [
        (u.id, u.title, u.skills, 2 if u is FRACTIONS else 0, len(u.skills), False) for u in PACK.units]


def test_skills_in_no_unit_are_one_group_at_the_end_and_a_pack_without_units_has_none():
    units = DATA["units"]
    fewer = _pack(units=units[:-1])
    groups = unit_progress(fewer, {units[-1]["skills"][0]: Level.PROFICIENT})
    other = groups[-1]
    assert [g.id for g in groups] == [u["id"] for u in units[:-1]] + [OTHER_SKILLS]
    assert other.other and other.title == "" and set(other.skill_ids) == set(units[-1]["skills"])
    assert list(other.skill_ids) == [s for s in fewer.skill_graph.topological_order() if s in other.skill_ids]
    assert other.proficient == 1
    assert unit_progress(_pack(units=[]), {}) == []


def test_the_other_group_never_takes_a_units_id_and_empty_units_are_left_out():
    units = [dict(DATA["units"][0], id=OTHER_SKILLS), dict(DATA["units"][1], id="empty", skills=[])]
    groups = unit_progress(_pack(units=units), {})
    assert [g.id for g in groups] == [OTHER_SKILLS, OTHER_SKILLS + "-"]
    assert groups[-1].other and not groups[0].other


def test_the_page_shows_the_unit_asked_for_else_the_first_steps_else_the_first_not_all_mastered():
    units = unit_progress(PACK, {})
    assert shown_unit([], "anything", {}, None) is None
    assert shown_unit(units, RATIOS.id, {}, FRACTIONS.skills[0]).id == RATIOS.id
    assert shown_unit(units, "no-such-unit", {}, RATIOS.skills[1]).id == RATIOS.id
    assert shown_unit(units, "", {}, None).id == FRACTIONS.id
    mastered = {s: Level.MASTERED for s in FRACTIONS.skills}
    assert shown_unit(units, "", mastered, None).id == RATIOS.id
    everything = {s.id: Level.MASTERED for s in PACK.skills}
    assert shown_unit(units, "", everything, None).id == FRACTIONS.id
    assert shown_unit(units, "", {}, "a-skill-in-no-unit").id == FRACTIONS.id


def test_the_plan_shows_checks_under_way_then_the_shown_units_then_the_others_in_order_up_to_two():
    from lti_tool.learning.plan_units import CHECK_PANELS, checks_to_show

    offers = [("a", False), ("b", False), ("c", True), ("d", False)]  # (unit id, a sitting under way)
    def pick(shown):
        return checks_to_show(offers, shown, unit_id=lambda o: o[0], started=lambda o: o[1])

    assert CHECK_PANELS == 2
    assert pick("d") == ([("c", True), ("d", False)], 2)
    assert pick("a") == ([("c", True), ("a", False)], 2)
    assert pick(None) == ([("c", True), ("a", False)], 2)
    assert checks_to_show(offers[:1], "x", unit_id=lambda o: o[0], started=lambda o: o[1]) == ([("a", False)], 0)
