import itertools
import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from lti_tool.learning.coursepack import (
    MultipleChoiceItem,
    NumericItem,
    ShortTextItem,
    check_answer,
    dump_pack,
    dumps_pack,
    instantiate,
    load_pack,
    loads_pack,
)
from lti_tool.learning.item_templates import allowed, sample
from lti_tool.learning.localization import localize, missing_translations

DEMO = Path(__file__).resolve().parents[2] / "lti_tool" / "demo" / "math7.json"


@pytest.fixture(scope="module")
def text() -> str:
    return DEMO.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pack(text):
    return loads_pack(text)


def test_demo_pack_loads_and_writes_back_byte_for_byte(text, pack):
    assert dumps_pack(pack) == text
    assert dump_pack(load_pack(json.loads(text))) == json.loads(text)


def test_demo_course_covers_fractions_to_linear_equations_with_enough_to_practise(pack):
    assert len(pack.skills) >= 12
    assert 3 <= len(pack.units) <= 4
    items = [item for _, item in pack.items()]
    assert len(items) >= 60
    assert {type(item) for item in items} == {MultipleChoiceItem, NumericItem, ShortTextItem}
    assert set(Counter(item.difficulty for item in items)) == {"easy", "medium", "hard"}
    kinds = Counter(activity.kind for activity in pack.activities)
    assert kinds["project"] >= 2 and kinds["discussion"] >= 1 and kinds["offline"] >= 1 and kinds["resource"] >= 1
    assert 2 <= len(pack.goals) <= 3
    order = pack.skill_graph.topological_order()
    assert order.index("frac-divide") < order.index("unit-rate") < order.index("linear-equations-graph")


def test_every_demo_skill_has_practice_and_belongs_to_a_unit(pack):
    practised = {skill for _, item in pack.items() for skill in item.skills}
    in_units = {skill for unit in pack.units for skill in unit.skills}

    assert practised == in_units == {skill.id for skill in pack.skills}


def test_every_demo_item_has_hints_a_worked_solution_and_accepts_its_own_answer(pack):
    rng = random.Random(7)
    for _, template in pack.items():
        # A template is checked on a few of its variants, written out as the learner sees them.
        for item in [instantiate(template, sample(template.parameters, template.constraints, rng, lambda _p: False))
                     for _ in range(20)] if template.parameters else [template]:
            _check_item(item)


def test_every_demo_skill_has_an_item_template_and_enough_distinct_questions(pack):
    for skill in pack.skills:
        assert any(item.parameters for _, item in pack.items() if skill.id in item.skills), skill.id
    assert pack.warnings() == []


def _check_item(item):
    assert 1 <= len(item.hints) <= 3, item.id
    assert item.solution.strip(), item.id
    if isinstance(item, ShortTextItem):
        assert all(check_answer(item, answer) for answer in item.answers), item.id
    else:
        assert check_answer(item, str(item.answer)), item.id


def test_demo_resources_are_texts_that_open_in_place_in_english_and_spanish(pack):
    # The demo has no site of its own to link to: five resources once pointed at example.org's placeholder page, a
    # dead end for every student who clicked. Each is now its own text (an explanation with a worked example or a
    # hands-on task), and none calls itself a video or an interactive it cannot be.
    resources = [activity for activity in pack.activities if activity.kind == "resource"]
    spanish = {activity.id: activity for activity in localize(pack, "es").activities}
    assert len(resources) == 10
    for activity in resources:
        assert activity.url is None, activity.id
        assert len(activity.instructions) > 150 and len(spanish[activity.id].instructions) > 150, activity.id
        assert activity.modality in ("worked example", "reading", "hands-on"), activity.id
    assert all(activity.url is None for activity in pack.activities)


# Answers worked out by hand, typed the way a learner would; each must be accepted (and a near miss refused).
LEARNER_ANSWERS = {
    "fe-2": ("12", "11"),
    "fa-1": ("5/6", "0.8"),
    "fa-3": ("4 1/12", "4 1/3"),
    "fa-4": ("5/12", "0.5"),
    "fm-1": ("2/5", "6/8"),
    "fm-3": ("4", "2 2/3"),
    "fd-1": ("12", "3/4"),
    "fd-2": ("3/2", "8/27"),
    "fd-4": ("7", "3 15/16"),
    "rc-2": ("24", "25"),
    "rc-4": ("12 L", "20"),
    "ur-1": ("60 mph", "540"),
    "ur-2": ("$0.30", "$3"),
    "ur-4": ("2,160", "2,100"),
    "pc-1": ("20", "0.25"),
    "pc-2": ("25%", "4"),
    "pc-3": ("37.5%", "38"),
    "cu-1": ("2", "1/8"),
    "cu-2": ("2 1/4", "1/4"),
    "cu-4": ("3 1/3", "15/8"),
    "kp-1": ("3", "1/3"),
    "kp-2": ("$1.75", "43.75"),
    "kp-3": ("5/2", "2/5"),
    "pe-2": ("15", "16"),
    "pe-4": ("144", "12"),
    "pp-1": ("$30", "$10"),
    "pp-2": ("$59.80", "$59.50"),
    "pp-3": ("15%", "13%"),
    "pp-4": ("$69.12", "$70.40"),
    "oe-1": ("12", "26"),
    "oe-2": ("0.7", "25.2"),
    "oe-3": ("16", "9"),
    "te-1": ("5", "25/3"),
    "te-2": ("9", "7"),
    "te-3": ("20", "-4"),
    "te-4": ("8", "9"),
    "sl-1": ("3", "1/3"),
    "sl-2": ("-1/2", "2"),
    "le-1": ("-7", "7"),
    "le-4": ("$60", "$45"),
}


def test_demo_numeric_answers_match_answers_worked_out_by_hand(pack):
    # Templates are checked on their variants above; these are the fixed items.
    numeric = {item.id for _, item in pack.items() if isinstance(item, NumericItem) and not item.parameters}
    assert numeric == set(LEARNER_ANSWERS)
    for item_id, (right, wrong) in LEARNER_ANSWERS.items():
        item = pack.item(item_id)
        assert check_answer(item, right), (item_id, right)
        assert not check_answer(item, wrong), (item_id, wrong)


def test_the_demo_pack_has_spanish_for_every_student_facing_text(text, pack):
    document = json.loads(text)
    untranslated = []

    def check(where: str, entry: dict, fields: tuple[str, ...]) -> None:
        spanish = entry.get("translations", {}).get("es", {})
        for key in fields:
            english = entry.get(key)
            if isinstance(english, list):
                given = spanish.get(key, [])
                if english and (len(given) != len(english) or not all(t.strip() for t in given)):
                    untranslated.append(f"{where}.{key}")
            elif key == "choices":
                pass
            elif english and not (spanish.get(key) or "").strip():
                untranslated.append(f"{where}.{key}")

    check("course", document["course"], ("title", "description"))
    for i, skill in enumerate(document["skills"]):
        check(f"skills[{i}]", skill, ("name", "description"))
    for key in ("units", "goals"):
        for i, entry in enumerate(document[key]):
            check(f"{key}[{i}]", entry, ("title", "description"))
    for i, activity in enumerate(document["activities"]):
        check(f"activities[{i}]", activity, ("title", "modality", "instructions"))
        for j, item in enumerate(activity["items"]):
            check(f"activities[{i}].items[{j}]", item, ("prompt", "hints", "solution"))
            choices = item.get("translations", {}).get("es", {}).get("choices", {})
            untranslated += [f"activities[{i}].items[{j}].choices.{c['id']}" for c in item.get("choices", [])
                             if not choices.get(c["id"], "").strip()]
    assert untranslated == []
    assert missing_translations(pack, "es") == []
    # Translated, not copied: every skill name and prompt reads differently in Spanish.
    spanish = localize(pack, "es")
    assert all(s.name != e.name for s, e in zip(spanish.skills, pack.skills, strict=True))
    prompts = [(item.prompt, pack.item(item.id).prompt) for _, item in spanish.items()]
    assert all(es != en for es, en in prompts)


def test_the_demo_packs_spanish_word_answers_are_accepted(pack):
    spanish = localize(pack, "es")
    assert check_answer(spanish.item("sl-4"), "la velocidad") and check_answer(spanish.item("fm-4"), "menor")



def test_every_demo_skill_has_a_way_to_learn_it_besides_practice():
    # Issue 12 (teach, not only test): after two misses, and in the plan, each skill offers something to learn from.
    pack = load_pack(json.loads(DEMO.read_text(encoding="utf-8")))
    bare = [s.id for s in pack.skills if not [a for a in pack.activities_for(s.id) if a.kind != "practice"]]
    assert bare == []


def test_a_demo_solution_says_which_is_only_when_the_fraction_simplifies(pack):
    # "… = 34/45, which is 34/45": the worked solution wrote a fraction already in lowest terms as equal to itself.
    # Every variant of every demo template, in English and Spanish, now says "which is" only with a new value.
    said_again, simplified = [], 0
    for language_pack, which in ((pack, "which is"), (localize(pack, "es"), "que es")):
        for _, template in language_pack.items():
            if not template.parameters:
                continue
            names = [p.name for p in template.parameters]
            for values in itertools.product(*(p.choices() for p in template.parameters)):
                params = dict(zip(names, values, strict=True))
                if not allowed(template.constraints, params):
                    continue
                solution = instantiate(template, params).solution
                for before, after in re.findall(rf"(-?\d+(?:/\d+)?), {which} (-?\d+(?:/\d+)?)\.", solution):
                    simplified += 1
                    if before == after:
                        said_again.append((template.id, params, solution))
    assert said_again == []
    assert simplified > 100  # the fractions that do simplify still say what they simplify to
