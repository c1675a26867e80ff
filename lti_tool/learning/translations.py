"""Translations in a course pack: the author's student-facing texts in other languages, English being the base.

Every object a learner reads about (the course, skills, units, activities, goals, items) may carry
`translations`: an object keyed by ISO 639-1 language code ("es"), each holding that object's texts in the
language. A text left out falls back to English, one string at a time, so a half-translated pack still works.
Only texts are translated: ids, answers (numbers, choice ids), parameters and formulas are shared, so an answer
is checked the same way in every language. This module reads and writes the `translations` objects; localizing a
whole pack is `lti_tool.learning.localization`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lti_tool.learning.item_templates import pieces
from lti_tool.learning.messages import N_, Message

#: The language a pack's own fields are written in; translations are for other languages.
BASE_LANGUAGE = "en"

#: ISO 639-1 codes: a typo such as "sp" for Spanish is refused instead of never being shown.
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el "
    "en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it "
    "iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt "
    "my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl "
    "sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo "
    "za zh zu".split()
)

#: One language's texts for one object: field -> text, list of texts (hints, answers) or {choice id: text}.
Texts = Mapping[str, Any]
#: language code -> Texts.
Translations = Mapping[str, Texts]

#: How a translated field is written: "text"; "hints" (a list, one per English hint); "answers" (a list of
#: accepted answers in the language, added to the English ones); "choices" ({choice id: text}).
TEXT, HINTS, ANSWERS, CHOICES = "text", "hints", "answers", "choices"


def read_translations(
    value: object,
    where: str,
    english: Mapping[str, tuple[str, Any]],
    problem: Callable[[str, str], None],
    *,
    template: bool = False,
) -> dict[str, dict[str, Any]]:
    """Check an object's `translations` against its English texts and return them, reporting each problem.

    `english` maps each translatable field to (kind, the English value): text, hints (a tuple), answers (a
    tuple) or choices ({id: text}). For a template item every translated text must hold the same `{formula}`
    placeholders as the English text it translates, so each language shows the same numbers.
    """
    if not isinstance(value, dict):
        problem(where, Message(N_("should be an object keyed by language code, such as %(example)s"),
                                example='{"es": {…}}'))
        return {}
    result: dict[str, dict[str, Any]] = {}
    for language, texts in value.items():
        at = f"{where}.{language}"
        if language == BASE_LANGUAGE:
            problem(at, Message(N_("the pack's own fields are the English text; translations are for other languages")))
            continue
        if language not in ISO_639_1:
            problem(at, Message(N_("%(language)s is not a language code (two lowercase letters, ISO 639-1, such as "
                                   "\"es\")"), language=repr(language)))
            continue
        if not isinstance(texts, dict):
            problem(at, Message(N_("should be an object holding the translated texts")))
            continue
        read: dict[str, Any] = {}
        for key, given in texts.items():
            if key not in english:
                problem(at, Message(N_("unknown field %(field)s (translatable here: %(fields)s)"), field=repr(key),
                                    fields=", ".join(english)))
                continue
            kind, base = english[key]
            checked = _read_field(kind, base, given, f"{at}.{key}", problem, template)
            if checked is not None:
                read[key] = checked
        result[language] = read
    return result


def _read_field(kind: str, base: Any, given: object, at: str, problem: Callable[[str, str], None],
                template: bool) -> Any:
    if kind == TEXT:
        return _read_text(given, base, at, problem, template)
    if kind == CHOICES:
        if not isinstance(given, dict):
            problem(at, Message(N_("should be an object of choice id -> translated text")))
            return None
        texts = {}
        for choice_id, text in given.items():
            if choice_id not in base:
                problem(f"{at}.{choice_id}", Message(N_("%(choice)s is not the id of one of the item's choices"),
                                                       choice=repr(choice_id)))
                continue
            checked = _read_text(text, base[choice_id], f"{at}.{choice_id}", problem, template)
            if checked is not None:
                texts[choice_id] = checked
        return texts
    if not isinstance(given, list):
        problem(at, Message(N_("should be a list of text, not %(kind)s"), kind=type(given).__name__))
        return None
    if kind == HINTS and len(given) != len(base):
        # Hints are shown one by one and counted; a translation with another number of hints would change that.
        problem(at, Message(N_("has %(count)s hint but the English has %(english)s; translate each hint")
                            if len(given) == 1 else
                            N_("has %(count)s hints but the English has %(english)s; translate each hint"),
                            count=len(given), english=len(base)))
        return None
    texts_read = [
        _read_text(text, base[index] if kind == HINTS else None, f"{at}[{index}]", problem, template)
        for index, text in enumerate(given)
    ]
    return None if any(t is None for t in texts_read) else tuple(texts_read)


def _read_text(given: object, base: str | None, at: str, problem: Callable[[str, str], None],
               template: bool) -> str | None:
    if not isinstance(given, str) or not given.strip():
        problem(at, Message(N_("should be non-empty text (leave the field out to show the English)")))
        return None
    if template and base is not None and placeholders(given) != placeholders(base):
        problem(at, Message(N_("has the placeholders %(given)s but the English text has %(english)s; a "
                               "translation shows the same numbers"), given=_listed(given), english=_listed(base)))
        return None
    return given


def placeholders(text: str) -> list[str]:
    """Return a text's `{formula}` placeholders, spaces removed and sorted (word order differs by language).

    An `{if condition:…}` is one entry, "if condition:" with the placeholders of its text: a translation shows the
    same numbers under the same conditions, not only the same formulas somewhere ("que es {a/b}" said always).
    """
    return sorted(_squeezed(formulas[0]) if condition is None else
                  f"if {_squeezed(condition)}:" + "".join(sorted(f"{{{_squeezed(f)}}}" for f in formulas))
                  for condition, formulas in pieces(text))


def _squeezed(formula: str) -> str:
    return "".join(formula.split())


def _listed(text: str) -> str:
    found = placeholders(text)
    return ", ".join(f"{{{f}}}" for f in found) if found else Message(N_("none"))


def dump_translations(translations: Translations, fields: Sequence[str],
                      choice_order: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Return translations as JSON-ready objects: languages sorted, fields and choices in the English order."""
    out: dict[str, dict[str, Any]] = {}
    for language in sorted(translations):
        texts = translations[language]
        entry: dict[str, Any] = {}
        for key in fields:
            if key not in texts:
                continue
            value = texts[key]
            if isinstance(value, Mapping):
                entry[key] = {cid: value[cid] for cid in choice_order if cid in value}
            elif isinstance(value, tuple | list):
                entry[key] = list(value)
            else:
                entry[key] = value
        out[language] = entry
    return out


def translated(translations: Translations, language: str, key: str, english: str) -> str:
    """Return one text in the language, or the English when it has no translation there."""
    value = translations.get(language, {}).get(key)
    return value if isinstance(value, str) and value else english


ITEM_FIELDS = ("prompt", "choices", "answers", "hints", "solution")


def item_translations_that_fit(item: Mapping[str, Any], translations: object) -> dict[str, dict[str, Any]]:
    """Return the translations of an item document that still fit it after its English was edited.

    An editor that changes only the English (the course map) keeps what still matches: a hint list of another
    length, a removed choice or a template's changed placeholders are dropped, so the pack stays valid.
    """
    english: dict[str, tuple[str, Any]] = {
        "prompt": (TEXT, item.get("prompt", "")),
        "hints": (HINTS, tuple(item.get("hints", []))),
        "solution": (TEXT, item.get("solution", "")),
    }
    if item.get("type") == "multiple_choice":
        english["choices"] = (CHOICES, {c.get("id"): c.get("text", "") for c in item.get("choices", [])})
    if item.get("type") == "short_text":
        english["answers"] = (ANSWERS, tuple(item.get("answers", [])))
    kept = read_translations(translations, "", english, lambda _where, _message: None,
                             template=bool(item.get("parameters")))
    choice_order = [c.get("id") for c in item.get("choices", [])]
    return {language: texts for language, texts in dump_translations(kept, ITEM_FIELDS, choice_order).items()
            if texts}
