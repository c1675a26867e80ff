"""The skill map's picture: prerequisites left of what needs them, boxes that never overlap, the same every time."""

from __future__ import annotations

import json
import random
from pathlib import Path

from lti_tool.learning.coursepack import load_pack
from lti_tool.learning.map_layout import layers_of, layout_skill_map
from lti_tool.learning.mastery import Level
from lti_tool.learning.readiness import class_readiness
from lti_tool.learning.skills import Skill, SkillGraph

DEMO = Path(__file__).resolve().parents[2] / "lti_tool" / "demo" / "math7.json"


def _demo_map() -> SkillGraph:
    return load_pack(json.loads(DEMO.read_text(encoding="utf-8"))).skill_graph


def _random_map(seed: int, size: int) -> SkillGraph:
    """Return a random acyclic map: each skill may need any of the skills made before it."""
    rng = random.Random(seed)
    skills = []
    for n in range(size):
        earlier = [f"s{m}" for m in range(n)]
        skills.append(Skill(f"s{n}", f"Skill {n}", prerequisites=tuple(rng.sample(earlier, min(len(earlier),
                                                                                            rng.randint(0, 3))))))
    rng.shuffle(skills)  # the pack's order is not the map's order
    return SkillGraph(skills)


def _overlap(a, b, width: int, height: int) -> bool:
    return a.x < b.x + width and b.x < a.x + width and a.y < b.y + height and b.y < a.y + height


def _crossings(layout) -> int:
    count = 0
    for i, e in enumerate(layout.edges):
        for f in layout.edges[i + 1:]:
            if (e.x1, e.x2) == (f.x1, f.x2) and len({e.prerequisite, e.skill_id, f.prerequisite, f.skill_id}) == 4:
                count += (e.y1 - f.y1) * (e.y2 - f.y2) < 0
    return count


def test_every_prerequisite_line_goes_left_to_right_and_no_boxes_overlap_on_many_maps():
    for seed in range(40):
        graph = _random_map(seed, 3 + seed % 25)
        layout = layout_skill_map(graph)
        assert {node.skill_id for node in layout.nodes} == {skill.id for skill in graph}
        placed = {node.skill_id: node for node in layout.nodes}
        for skill in graph:
            for prerequisite in skill.prerequisites:
                assert placed[prerequisite].layer < placed[skill.id].layer
                assert placed[prerequisite].x + layout.node_width < placed[skill.id].x
        for i, a in enumerate(layout.nodes):
            assert 0 <= a.x and a.x + layout.node_width <= layout.width
            assert 0 <= a.y and a.y + layout.node_height <= layout.height
            for b in layout.nodes[i + 1:]:
                assert not _overlap(a, b, layout.node_width, layout.node_height), (seed, a, b)
        assert len(layout.edges) == sum(len(skill.prerequisites) for skill in graph)


def test_a_skills_column_is_its_longest_chain_of_prerequisites():
    graph = SkillGraph([Skill("a", "A"), Skill("b", "B", prerequisites=("a",)),
                        Skill("c", "C", prerequisites=("a", "b")), Skill("d", "D")])
    assert layers_of(graph) == {"a": 0, "b": 1, "c": 2, "d": 0}


def test_the_same_map_always_gives_the_same_picture():
    first = layout_skill_map(_random_map(7, 20))
    again = layout_skill_map(_random_map(7, 20))
    assert first == again
    demo = _demo_map()
    assert layout_skill_map(demo) == layout_skill_map(demo)


def test_ordering_by_barycentre_untangles_crossed_lines():
    # Given in an order that crosses both lines: a→y and b→x drawn straight would cross.
    graph = SkillGraph([Skill("a", "A"), Skill("b", "B"), Skill("x", "X", prerequisites=("b",)),
                        Skill("y", "Y", prerequisites=("a",))])
    layout = layout_skill_map(graph)
    assert _crossings(layout) == 0
    assert layout.node("y").order < layout.node("x").order


def test_the_demo_map_is_drawn_without_crossings_between_neighbouring_columns_beyond_a_few():
    demo = _demo_map()
    layout = layout_skill_map(demo)
    assert _crossings(layout) <= 3, _crossings(layout)


def test_an_empty_map_is_an_empty_picture():
    layout = layout_skill_map(SkillGraph([]))
    assert layout.nodes == () and layout.edges == ()


def test_readiness_counts_proficient_students_and_those_with_every_prerequisite():
    graph = SkillGraph([Skill("a", "A"), Skill("b", "B", prerequisites=("a",)),
                        Skill("c", "C", prerequisites=("a", "b"))])
    levels = [
        {"a": Level.MASTERED, "b": Level.PROFICIENT},   # has a and b, ready for c
        {"a": Level.PROFICIENT, "b": Level.FAMILIAR},   # has a, ready for b
        {"a": Level.FAMILIAR},                          # ready for a only
        {},                                             # never started: ready for a
    ]
    readiness = class_readiness(graph, levels)
    assert (readiness["a"].proficient, readiness["a"].ready, readiness["a"].not_ready) == (2, 2, 0)
    assert (readiness["b"].proficient, readiness["b"].ready, readiness["b"].not_ready) == (1, 1, 2)
    assert (readiness["c"].proficient, readiness["c"].ready, readiness["c"].not_ready) == (0, 1, 3)
    assert all(r.students == 4 for r in readiness.values())
