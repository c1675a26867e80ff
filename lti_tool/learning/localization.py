"""A course pack in one language: each student-facing text translated where the author gave it, else English.

`localize(pack, language)` returns a pack of the same shape whose texts are in the language, so everything that
shows a pack (plan, practice, feedback, review, placement check, goals) works unchanged. Ids, answers,
parameters and formulas stay as they are: a question is served and checked the same in every language; a
short-text item also accepts the answers written for the language.
"""

from __future__ import annotations

from dataclasses import replace

from lti_tool.learning.coursepack import (
    Activity,
    CoursePack,
    Goal,
    Item,
    MultipleChoiceItem,
    ShortTextItem,
    Unit,
)
from lti_tool.learning.skills import Skill
from lti_tool.learning.translations import BASE_LANGUAGE, Translations, translated


def languages(pack: CoursePack) -> set[str]:
    """Return every language the pack holds some translation for (English not included)."""
    objects = [pack.course, *pack.skills, *pack.units, *pack.activities, *pack.goals]
    objects += [item for _, item in pack.items()]
    return {language for obj in objects for language in obj.translations}


def skill_name(skill: Skill, language: str) -> str:
    """Return a skill's name in the language (English when the pack has no translation of it)."""
    return translated(skill.translations, language, "name", skill.name)


def localize(pack: CoursePack, language: str) -> CoursePack:
    """Return the pack with its student-facing texts in the language, English for any text not translated."""
    if language == BASE_LANGUAGE or language not in languages(pack):
        return pack
    course = pack.course
    return replace(
        pack,
        course=replace(course, title=translated(course.translations, language, "title", course.title),
                       description=translated(course.translations, language, "description", course.description)),
        skills=tuple(_skill(s, language) for s in pack.skills),
        units=tuple(_titled(u, language) for u in pack.units),
        activities=tuple(_activity(a, language) for a in pack.activities),
        goals=tuple(_titled(g, language) for g in pack.goals),
    )


def localize_item(item: Item, language: str) -> Item:
    """Return an item with its prompt, choices, hints and solution in the language (English where missing)."""
    texts = item.translations.get(language)
    if not texts:
        return item
    hints = texts.get("hints", item.hints)  # read_translations keeps only full lists, one per English hint
    changes: dict[str, object] = {
        "prompt": translated(item.translations, language, "prompt", item.prompt),
        "hints": tuple(hints),
        "solution": translated(item.translations, language, "solution", item.solution),
    }
    if isinstance(item, MultipleChoiceItem):
        choices = texts.get("choices", {})
        changes["choices"] = tuple(replace(c, text=choices.get(c.id, c.text)) for c in item.choices)
    if isinstance(item, ShortTextItem):
        # The language's own words first, and the English ones still count: an answer is never judged by language.
        changes["answers"] = (*texts.get("answers", ()), *item.answers)
    return replace(item, **changes)  # type: ignore[return-value]


def _skill(skill: Skill, language: str) -> Skill:
    return replace(skill, name=skill_name(skill, language),
                   description=translated(skill.translations, language, "description", skill.description))


def _titled(thing: Unit | Goal, language: str) -> Unit | Goal:
    return replace(thing, title=translated(thing.translations, language, "title", thing.title),
                   description=translated(thing.translations, language, "description", thing.description))


def _activity(activity: Activity, language: str) -> Activity:
    return replace(
        activity,
        title=translated(activity.translations, language, "title", activity.title),
        modality=translated(activity.translations, language, "modality", activity.modality),
        instructions=translated(activity.translations, language, "instructions", activity.instructions),
        items=tuple(localize_item(item, language) for item in activity.items),
    )


def missing_translations(pack: CoursePack, language: str) -> list[str]:
    """Return where a student-facing English text has no translation in the language ("skills[2].name" …)."""
    missing: list[str] = []

    def check(where: str, translations: Translations, fields: dict[str, str]) -> None:
        texts = translations.get(language, {})
        missing.extend(f"{where}.{key}" for key, english in fields.items() if english.strip() and key not in texts)

    check("course", pack.course.translations, {"title": pack.course.title, "description": pack.course.description})
    for i, s in enumerate(pack.skills):
        check(f"skills[{i}]", s.translations, {"name": s.name, "description": s.description})
    for i, u in enumerate(pack.units):
        check(f"units[{i}]", u.translations, {"title": u.title, "description": u.description})
    for i, g in enumerate(pack.goals):
        check(f"goals[{i}]", g.translations, {"title": g.title, "description": g.description})
    for i, a in enumerate(pack.activities):
        check(f"activities[{i}]", a.translations,
              {"title": a.title, "modality": a.modality, "instructions": a.instructions})
        for j, item in enumerate(a.items):
            at = f"activities[{i}].items[{j}]"
            check(at, item.translations, {"prompt": item.prompt, "solution": item.solution,
                                          "hints": " ".join(item.hints)})
            if isinstance(item, MultipleChoiceItem):
                choices = item.translations.get(language, {}).get("choices", {})
                missing.extend(f"{at}.choices.{c.id}" for c in item.choices if c.text.strip() and c.id not in choices)
    return missing
