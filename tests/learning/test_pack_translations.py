"""Translated course packs: checked like the rest of a pack, shown per language with English as the fallback."""

from __future__ import annotations

import json

import pytest

from lti_tool.learning.coursepack import CoursePackError, check_answer, dumps_pack, instantiate, load_pack, loads_pack
from lti_tool.learning.localization import languages, localize, missing_translations, skill_name


def _pack(**item_translations) -> dict:
    """A small pack: one skill, one practice activity with a choice item and a template, Spanish optional."""
    return {
        "format": "pathways-course-pack",
        "version": 1,
        "course": {"title": "Fractions"},
        "skills": [{"id": "add", "name": "Add fractions", "description": "Add with unlike denominators."}],
        "activities": [{
            "id": "practice-add", "title": "Practice: adding", "kind": "practice", "skills": ["add"],
            "items": [
                {"id": "q1", "type": "multiple_choice", "prompt": "Which is 1/2 + 1/4?",
                 "choices": [{"id": "a", "text": "3/4"}, {"id": "b", "text": "2/6"}], "answer": "a",
                 "hints": ["Use quarters.", "1/2 = 2/4."], "solution": "2/4 + 1/4 = 3/4.",
                 **({"translations": item_translations["q1"]} if "q1" in item_translations else {})},
                {"id": "t1", "type": "numeric", "prompt": "What is {a} + {b}?",
                 "parameters": {"a": {"min": 1, "max": 9}, "b": {"min": 1, "max": 9}}, "answer": "a + b",
                 "hints": ["Count on {b} from {a}."], "solution": "{a} + {b} = {a + b}.",
                 **({"translations": item_translations["t1"]} if "t1" in item_translations else {})},
                {"id": "w1", "type": "short_text", "prompt": "Is 1/3 greater or less than 1/2?",
                 "answers": ["less"],
                 **({"translations": item_translations["w1"]} if "w1" in item_translations else {})},
            ],
        }],
    }


SPANISH_Q1 = {"es": {"prompt": "¿Cuánto es 1/2 + 1/4?", "choices": {"b": "2/6 (mal)"},
                     "hints": ["Usa cuartos.", "1/2 = 2/4."], "solution": "2/4 + 1/4 = 3/4."}}
SPANISH_T1 = {"es": {"prompt": "¿Cuánto es {a} + {b}?", "hints": ["Cuenta {b} a partir de {a}."],
                     "solution": "{a} + {b} = {a + b}."}}


def _problems(data: dict) -> list[str]:
    with pytest.raises(CoursePackError) as error:
        load_pack(data)
    return error.value.problems


def test_a_translated_pack_round_trips_exactly_and_an_untranslated_one_keeps_its_form():
    data = _pack(q1=SPANISH_Q1, t1=SPANISH_T1)
    data["skills"][0]["translations"] = {"es": {"name": "Sumar fracciones"}}
    text = dumps_pack(load_pack(data))
    assert dumps_pack(loads_pack(text)) == text
    assert json.loads(text)["skills"][0]["translations"] == {"es": {"name": "Sumar fracciones"}}
    assert "translations" not in dumps_pack(load_pack(_pack()))


def test_spanish_texts_replace_english_one_string_at_a_time():
    data = _pack(q1=SPANISH_Q1, t1=SPANISH_T1)
    data["skills"][0]["translations"] = {"es": {"name": "Sumar fracciones"}}
    pack = load_pack(data)
    spanish = localize(pack, "es")
    assert spanish.skills[0].name == "Sumar fracciones" == skill_name(pack.skills[0], "es")
    assert spanish.skills[0].description == "Add with unlike denominators."  # not translated: English
    assert spanish.course.title == "Fractions"
    q1 = spanish.item("q1")
    assert q1.prompt == "¿Cuánto es 1/2 + 1/4?" and q1.hints == ("Usa cuartos.", "1/2 = 2/4.")
    # Choices are translated by id; the untranslated one stays English, and the right answer is still "a".
    assert [c.text for c in q1.choices] == ["3/4", "2/6 (mal)"]
    assert check_answer(q1, "a") and not check_answer(q1, "b")
    assert localize(pack, "en") is pack and localize(pack, "fr") is pack
    assert languages(pack) == {"es"}


def test_a_template_gives_the_same_numbers_and_answer_in_every_language():
    pack = load_pack(_pack(t1=SPANISH_T1))
    params = {"a": 3, "b": 4}
    english = instantiate(pack.item("t1"), params)
    spanish = instantiate(localize(pack, "es").item("t1"), params)
    assert spanish.prompt == "¿Cuánto es 3 + 4?" and spanish.hints == ("Cuenta 4 a partir de 3.",)
    assert spanish.solution == "3 + 4 = 7."
    assert spanish.answer == english.answer == 7
    assert check_answer(spanish, "7") and check_answer(english, "7")


def test_a_word_answer_may_be_given_in_the_students_language_or_in_english():
    pack = load_pack(_pack(w1={"es": {"prompt": "¿1/3 es mayor o menor que 1/2?", "answers": ["menor"]}}))
    spanish = localize(pack, "es").item("w1")
    assert check_answer(spanish, "Menor") and check_answer(spanish, "less")
    assert not check_answer(pack.item("w1"), "menor")  # English pages accept the English words only


@pytest.mark.parametrize(
    ("translations", "where", "says"),
    [
        ({"sp": {"prompt": "Hola"}}, "items[0].translations.sp", "not a language code"),
        ({"ES": {"prompt": "Hola"}}, "items[0].translations.ES", "not a language code"),
        ({"en": {"prompt": "Hello"}}, "items[0].translations.en", "English"),
        ({"es": {"promt": "Hola"}}, "items[0].translations.es", "unknown field 'promt'"),
        ({"es": {"hints": ["Usa cuartos."]}}, "items[0].translations.es.hints", "has 1 hint but the English has 2"),
        ({"es": {"choices": {"z": "Nada"}}}, "items[0].translations.es.choices.z", "not the id of one of"),
        ({"es": {"prompt": "  "}}, "items[0].translations.es.prompt", "non-empty text"),
        ({"es": "Hola"}, "items[0].translations.es", "should be an object"),
        (["es"], "items[0].translations", "keyed by language code"),
    ],
)
def test_translation_mistakes_are_reported_with_their_place(translations, where, says):
    problems = _problems(_pack(q1=translations))
    assert any(where in p and says in p for p in problems), problems


def test_a_translated_template_must_show_the_same_placeholders_as_the_english():
    problems = _problems(_pack(t1={"es": {"prompt": "¿Cuánto es {a} + {c}?", "solution": "{a} + {b} = {a + b}."}}))
    assert any("translations.es.prompt" in p and "{a}, {c}" in p and "{a}, {b}" in p for p in problems), problems
    # Same placeholders, other word order and spacing: fine.
    load_pack(_pack(t1={"es": {"prompt": "Suma {b} y {a}: ¿cuánto da?", "solution": "{ a } + {b} = {a+b}."}}))


def test_a_translated_answer_to_a_template_may_only_use_its_parameters():
    data = _pack()
    data["activities"][0]["items"][2].update(
        parameters={"n": {"min": 2, "max": 5}}, prompt="Write {n} as a word or a number.", answers=["{n}"],
        translations={"es": {"answers": ["{m}"]}})
    problems = _problems(data)
    assert any("translations.es.answers[0]" in p and "'m'" in p for p in problems), problems


def test_every_object_a_student_reads_about_takes_translations():
    data = _pack()
    data["course"]["translations"] = {"es": {"title": "Fracciones", "description": "Un curso."}}
    data["units"] = [{"id": "u", "title": "Unit", "skills": ["add"], "translations": {"es": {"title": "Unidad"}}}]
    data["goals"] = [{"id": "g", "title": "Goal", "skills": ["add"], "translations": {"es": {"title": "Meta"}}}]
    data["activities"].append({"id": "r", "title": "Video", "kind": "resource", "url": "https://example.org/v",
                               "modality": "video", "instructions": "Watch it.", "skills": ["add"],
                               "translations": {"es": {"title": "Vídeo", "instructions": "Míralo."}}})
    spanish = localize(load_pack(data), "es")
    assert (spanish.course.title, spanish.units[0].title, spanish.goals[0].title) == ("Fracciones", "Unidad", "Meta")
    assert (spanish.activities[1].title, spanish.activities[1].instructions) == ("Vídeo", "Míralo.")
    assert spanish.activities[1].modality == "video"  # not translated: English
    data["goals"][0]["translations"] = {"es": {"due": "2026-01-01"}}
    assert any("goals[0].translations.es" in p and "unknown field 'due'" in p for p in _problems(data))


def test_missing_translations_lists_each_student_facing_text_without_one():
    pack = load_pack(_pack(q1=SPANISH_Q1))
    missing = missing_translations(pack, "es")
    assert "skills[0].name" in missing and "course.title" in missing
    assert "activities[0].items[0].choices.a" in missing and "activities[0].items[0].choices.b" not in missing
    assert "activities[0].items[0].prompt" not in missing and "activities[0].items[1].prompt" in missing



def test_a_translated_template_must_keep_the_conditions_of_the_english():
    english = "{a} + {b} = {a + b}{if a == b:, which is 2 × {a}}."
    data = _pack(t1={"es": {"solution": "{a} + {b} = {a + b}{if a == b:, que es 2 × {a}}."}})
    data["activities"][0]["items"][1]["solution"] = english
    assert instantiate(localize(load_pack(data), "es").item("t1"), {"a": 3, "b": 3}).solution == "3 + 3 = 6, que es 2 × 3."
    data["activities"][0]["items"][1]["translations"]["es"]["solution"] = "{a} + {b} = {a + b}{if a != b:, no}."
    problems = _problems(data)
    assert any("translations.es.solution" in p and "a==b" in p for p in problems), problems


@pytest.mark.parametrize("spanish", [
    # "que es 2 × …" said always, its condition left with an empty text: the same formulas, not the same sentence
    "{a} + {b} = {a + b}, que es 2 × {a}{if a == b:}.",
    # the condition shown as a number (1 or 0) and a number taken as the condition
    "{a} + {b} = {a + b}{if a:, que es 2 × {a == b}}.",
])
def test_a_translation_keeps_each_number_under_the_same_condition(spanish):
    data = _pack(t1={"es": {"solution": spanish}})
    data["activities"][0]["items"][1]["solution"] = "{a} + {b} = {a + b}{if a == b:, which is 2 × {a}}."
    problems = _problems(data)
    assert any("translations.es.solution" in p and "{if a==b:{a}}" in p for p in problems), problems
