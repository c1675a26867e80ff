import json
import random

from lti_tool.learning.diagnostic import (
    MAX_ITEMS,
    Belief,
    DiagnosticState,
    levels_for_planning,
    next_item,
    placement,
)
from lti_tool.learning.mastery import Level
from lti_tool.learning.skills import Skill, SkillGraph


def chain(n: int) -> SkillGraph:
    return SkillGraph([Skill(f"s{i}", f"Skill {i}", prerequisites=(f"s{i - 1}",) if i else ()) for i in range(n)])


def items_for(graph: SkillGraph, per_skill: int = 3) -> dict[str, list[str]]:
    return {skill.id: [f"{skill.id}-q{k}" for k in range(per_skill)] for skill in graph}


def run_check(graph, items, knows, max_items=MAX_ITEMS):
    """Answer every question as a learner who knows exactly the skills in `knows`."""
    skill_of = {item: skill for skill, listed in items.items() for item in listed}
    state = DiagnosticState()
    while (item := next_item(graph, items, state, max_items=max_items)) is not None:
        state = state.answer(item, skill_of[item], skill_of[item] in knows)
    return state


def test_placement_check_finds_where_a_learner_knowledge_ends_in_a_few_questions():
    graph = chain(16)
    knows = {f"s{i}" for i in range(9)}

    state = run_check(graph, items_for(graph), knows)

    # A binary search over 16 skills takes 4 or 5 questions; 2 more confirm the skills either side of the edge.
    assert len(state.answers) <= 7
    placed = placement(graph, state)
    assert {s for s, p in placed.items() if p.likely_known} == knows
    assert {s for s, p in placed.items() if not p.likely_known} == {f"s{i}" for i in range(9, 16)}


def test_first_question_is_about_a_skill_in_the_middle_of_the_map():
    graph = chain(9)

    assert next_item(graph, items_for(graph), DiagnosticState()) == "s4-q0"


def test_placement_check_never_asks_more_than_twelve_questions_even_of_a_learner_who_guesses():
    graph = SkillGraph(
        [
            Skill(f"s{i}", f"Skill {i}", prerequisites=tuple(f"s{j}" for j in (i - 1, i - 3) if j >= 0))
            for i in range(60)
        ]
    )
    items = items_for(graph)
    skill_of = {item: skill for skill, listed in items.items() for item in listed}
    lengths = []
    for seed in range(20):
        guesses = random.Random(seed)
        state = DiagnosticState()
        while (item := next_item(graph, items, state)) is not None:
            state = state.answer(item, skill_of[item], guesses.random() < 0.5)
        lengths.append(len(state.answers))

    assert 0 < min(lengths) and max(lengths) <= MAX_ITEMS


def test_a_short_check_stops_at_its_own_limit():
    graph = chain(30)

    assert len(run_check(graph, items_for(graph), {"s0"}, max_items=3).answers) == 3


def test_one_slip_on_the_edge_of_what_a_learner_knows_does_not_misplace_them():
    graph = chain(16)
    items = items_for(graph)
    skill_of = {item: skill for skill, listed in items.items() for item in listed}
    knows = {f"s{i}" for i in range(9)}
    state = DiagnosticState()
    while (item := next_item(graph, items, state)) is not None:
        # The learner knows s8 but slips the first time they see it.
        state = state.answer(item, skill_of[item], skill_of[item] in knows and item != "s8-q0")

    placed = placement(graph, state)
    assert {s for s, p in placed.items() if p.likely_known} == knows


def test_learner_who_gets_a_skill_right_but_its_prerequisite_wrong_is_asked_again_about_the_prerequisite():
    graph = chain(5)
    state = DiagnosticState().answer("s3-q0", "s3", True).answer("s1-q0", "s1", False)

    assert next_item(graph, items_for(graph), state) == "s1-q1"


def test_branching_map_placement_agrees_with_what_the_learner_knows():
    graph = SkillGraph(
        [
            Skill("whole", "Whole numbers"),
            Skill("equiv", "Equivalent fractions", prerequisites=("whole",)),
            Skill("rates", "Unit rates", prerequisites=("equiv",)),
            Skill("ratios", "Ratios", prerequisites=("equiv",)),
            Skill("props", "Proportions", prerequisites=("rates", "ratios")),
            Skill("area", "Area", prerequisites=("whole",)),
        ]
    )
    knows = {"whole", "equiv", "ratios", "area"}

    placed = placement(graph, run_check(graph, items_for(graph), knows))

    assert {s for s, p in placed.items() if p.likely_known} == knows
    assert {s for s, p in placed.items() if not p.likely_known} == {"rates", "props"}


def test_placement_is_weak_evidence_labelled_as_coming_from_the_check():
    graph = chain(4)
    state = DiagnosticState().answer("s2-q0", "s2", True).answer("s3-q0", "s3", False)

    placed = placement(graph, state)

    assert placed["s2"].belief is Belief.KNOWN
    assert placed["s0"].belief is Belief.LIKELY_KNOWN
    assert placed["s3"].belief is Belief.NOT_YET
    assert all(p.source == "placement check" and abs(p.prior) <= 1.0 for p in placed.values())
    assert placed["s0"].prior < placed["s2"].prior
    assert placed["s0"].reason == "From the placement check: you got Skill 2 right, which builds on Skill 0."


def test_skills_the_check_never_reached_get_no_placement():
    graph = chain(4)

    assert placement(graph, DiagnosticState()) == {}


def test_skill_without_questions_is_skipped_and_the_check_stops_when_nothing_is_left_to_ask():
    graph = chain(3)
    items = {"s1": ["s1-q0"]}

    state = DiagnosticState().answer("s1-q0", "s1", True)

    assert next_item(graph, items, DiagnosticState()) == "s1-q0"
    assert next_item(graph, items, state) is None


def test_planner_treats_placed_skills_as_shown_but_never_overrides_the_learner_own_work():
    graph = chain(4)
    placed = placement(graph, DiagnosticState().answer("s2-q0", "s2", True))

    levels = levels_for_planning({"s1": Level.ATTEMPTED}, placed)

    assert levels == {"s0": Level.PROFICIENT, "s1": Level.ATTEMPTED, "s2": Level.PROFICIENT}


def test_check_in_progress_survives_a_page_reload_as_json():
    state = DiagnosticState().answer("s2-q0", "s2", True).answer("s3-q0", "s3", False)

    assert DiagnosticState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
