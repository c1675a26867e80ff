"""The course pack: a versioned JSON file holding a course's skills, units, activities, items and goals.

`load_pack` checks a decoded JSON document and reports every problem at once; `dump_pack` writes every field
explicitly in a fixed order, so a pack written by `dump_pack` (the canonical form) loads and dumps back to
exactly the same document. The format is described for authors in lti_tool/demo/COURSEPACK.md.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from lti_tool import bounded_json
from lti_tool.bounded_json import MAX_JSON_DEPTH, JSONTooDeep
from lti_tool.kept_map import KeptMap
from lti_tool.learning.item_templates import (
    DIVIDES_BY_ZERO,
    Parameter,
    Params,
    TemplateError,
    evaluate,
    formulas_in,
    instantiate_fields,
    names_in,
    sample,
    template_text_problem,
    variant_count,
)
from lti_tool.learning.mastery import MasteryThresholds
from lti_tool.learning.messages import N_, Message, Problem
from lti_tool.learning.skills import Skill, SkillGraph, SkillGraphError
from lti_tool.learning.translations import (
    ANSWERS,
    CHOICES,
    HINTS,
    ITEM_FIELDS,
    TEXT,
    Translations,
    dump_translations,
    read_translations,
)

FORMAT = "pathways-course-pack"
VERSION = 1

ACTIVITY_KINDS = ("practice", "resource", "project", "discussion", "offline")
ITEM_TYPES = ("multiple_choice", "numeric", "short_text")
DIFFICULTY_LABELS = ("easy", "medium", "hard")
LEVELS = ("familiar", "proficient", "mastered")
# The shown estimate is a calibrated P(right) on a typical item, so a learner who knows a skill but slips one
# time in ten sits near 0.9: Mastered must stay below that (bench/simulate.py measures the shape).
DEFAULT_THRESHOLDS: Mapping[str, float] = {"familiar": 0.6, "proficient": 0.77, "mastered": 0.82}
#: Evidence a level needs beyond the estimate (see `MasteryThresholds`), settable in the pack's `mastery.evidence`.
EVIDENCE_RULES: Mapping[str, int | float] = {
    key: value for key, value in MasteryThresholds().to_dict().items() if key not in LEVELS
}
#: FSRS's desired retention: the chance of still remembering a mastered skill when its review comes due.
DEFAULT_RETENTION = 0.9
#: Fewer distinct questions than this for a skill and learners soon meet repeats, which earn no credit.
FEW_ITEMS = 10

Number = int | float
Difficulty = str | int | float


class CoursePackError(ValueError):
    """A course pack that cannot be used; `problems` lists every problem found, each with its location."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"The course pack has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([heading, *(f"- {p}" for p in self.problems)]))


@dataclass(frozen=True)
class Course:
    """What the course is: shown to teachers when they pick a pack."""

    title: str
    subject: str = ""
    grade_level: str = ""
    description: str = ""
    #: Texts in other languages (see learning/translations.py); a text left out shows in English.
    translations: Translations = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Unit:
    """A group of skills a teacher can place in the LMS as one link."""

    id: str
    title: str
    description: str = ""
    skills: tuple[str, ...] = ()
    translations: Translations = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Choice:
    """One option of a multiple-choice item."""

    id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class MultipleChoiceItem:
    """A question answered by picking one choice; `answer` is the id of the right choice."""

    id: str
    prompt: str
    skills: tuple[str, ...] = ()
    difficulty: Difficulty = "medium"
    choices: tuple[Choice, ...]
    answer: str
    hints: tuple[str, ...] = ()
    solution: str = ""
    parameters: tuple[Parameter, ...] = ()
    constraints: tuple[str, ...] = ()
    translations: Translations = field(default_factory=dict, hash=False)
    type: str = field(default="multiple_choice", init=False)


@dataclass(frozen=True, kw_only=True)
class NumericItem:
    """A question answered with a number, right when within `tolerance` (absolute) of `answer`.

    In a template (an item with `parameters`) the answer may be a formula over the parameters.
    """

    id: str
    prompt: str
    skills: tuple[str, ...] = ()
    difficulty: Difficulty = "medium"
    answer: Number | Fraction | str
    tolerance: Number = 0
    unit: str | None = None
    hints: tuple[str, ...] = ()
    solution: str = ""
    parameters: tuple[Parameter, ...] = ()
    constraints: tuple[str, ...] = ()
    translations: Translations = field(default_factory=dict, hash=False)
    type: str = field(default="numeric", init=False)


@dataclass(frozen=True, kw_only=True)
class ShortTextItem:
    """A question answered with a word or expression, right when it matches one of `answers`."""

    id: str
    prompt: str
    skills: tuple[str, ...] = ()
    difficulty: Difficulty = "medium"
    answers: tuple[str, ...]
    hints: tuple[str, ...] = ()
    solution: str = ""
    parameters: tuple[Parameter, ...] = ()
    constraints: tuple[str, ...] = ()
    translations: Translations = field(default_factory=dict, hash=False)
    type: str = field(default="short_text", init=False)


Item = MultipleChoiceItem | NumericItem | ShortTextItem


def instantiate(item: Item, params: Params) -> Item:
    """Return the variant of an item for these parameter values (the item itself when it is not a template)."""
    if not item.parameters:
        return item
    # Every question shown or answered fills its template again (a dozen formulas): keep the variants made from
    # this process's items (a cached pack's, immutable). The entry holds the item, so its id names only it.
    key = (id(item), tuple(sorted(params.items())))
    found = _VARIANTS.get(key)
    if found is not None and found[0] is item:
        return found[1]
    variant = instantiate_fields(item, params)
    _VARIANTS.put(key, (item, variant))
    return variant  # type: ignore[return-value]


_MAX_VARIANTS = 4096
_VARIANTS: KeptMap[tuple[int, tuple], tuple[Item, Item]] = KeptMap(_MAX_VARIANTS)


def distinct_items(item: Item) -> int:
    """Return how many different questions an item gives: 1, or its template's number of variants."""
    return variant_count(item.parameters, item.constraints)


@dataclass(frozen=True)
class Activity:
    """Something a learner does: practice items, a resource to read or watch, a project, a discussion."""

    id: str
    title: str
    kind: str
    #: Descriptive only ("text", "video", "hands-on" …): it helps teachers plan variety, it never decides who
    #: gets what, because matching content to "learning styles" does not improve learning.
    modality: str = ""
    skills: tuple[str, ...] = ()
    url: str | None = None
    instructions: str = ""
    items: tuple[Item, ...] = ()
    translations: Translations = field(default_factory=dict, hash=False)

    @property
    def modality_note(self) -> str:
        """Return the modality to show beside the title, or "" when the title already begins with it.

        "Hands-on: a folded paper strip (hands-on)" says the same thing twice.
        """
        def plain(text: str) -> str:
            return " ".join(text.replace("-", " ").casefold().split())

        return "" if plain(self.title).startswith(plain(self.modality)) else self.modality


@dataclass(frozen=True)
class Goal:
    """A course goal: skills to reach by an optional due date (ISO 8601, YYYY-MM-DD)."""

    id: str
    title: str
    description: str = ""
    skills: tuple[str, ...] = ()
    due: str | None = None
    translations: Translations = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class MasterySettings:
    """Probability of mastery needed for each level, and whether mastered skills come back for review."""

    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    review_spacing: bool = True
    #: Evidence rules by name (distinct items, sittings, hold margin); missing ones take `EVIDENCE_RULES`.
    evidence: Mapping[str, int | float] = field(default_factory=lambda: dict(EVIDENCE_RULES))
    desired_retention: float = DEFAULT_RETENTION

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.thresholds.items())), self.review_spacing,
                     tuple(sorted(self.evidence.items())), self.desired_retention))

    def level_rules(self) -> MasteryThresholds:
        """Return the thresholds and evidence rules levels are decided by."""
        return MasteryThresholds.from_dict({**EVIDENCE_RULES, **self.evidence, **self.thresholds})


@dataclass(frozen=True)
class CoursePack:
    """A whole course as authored: build one with `load_pack`, which checks it."""

    course: Course
    skills: tuple[Skill, ...] = ()
    units: tuple[Unit, ...] = ()
    activities: tuple[Activity, ...] = ()
    goals: tuple[Goal, ...] = ()
    mastery: MasterySettings = field(default_factory=MasterySettings)

    @cached_property
    def skill_graph(self) -> SkillGraph:
        """Return the skills as a prerequisite graph."""
        return SkillGraph(self.skills)

    def items(self) -> Iterator[tuple[Activity, Item]]:
        """Yield every practice item with the activity it belongs to."""
        for activity in self.activities:
            for item in activity.items:
                yield activity, item

    def item(self, item_id: str) -> Item:
        """Return the item with this id."""
        try:
            return self._items_by_id[item_id]
        except KeyError:
            raise KeyError(item_id) from None

    @cached_property
    def _items_by_id(self) -> Mapping[str, Item]:
        # Every question shown or answered looks its item up: a 400-skill pack has thousands to scan otherwise.
        index: dict[str, Item] = {}
        for _, item in self.items():
            index.setdefault(item.id, item)  # the first of a repeated id, as the scan found
        return MappingProxyType(index)

    def activities_for(self, skill_id: str) -> tuple[Activity, ...]:
        """Return the activities that work on a skill, in the pack's order."""
        return self._activities_by_skill.get(skill_id, ())

    @cached_property
    def _activities_by_skill(self) -> Mapping[str, tuple[Activity, ...]]:
        # An answer after two misses offers the skill's other activities: a big pack has hundreds to scan.
        index: dict[str, list[Activity]] = {}
        for activity in self.activities:
            for skill_id in dict.fromkeys(activity.skills):
                index.setdefault(skill_id, []).append(activity)
        return MappingProxyType({skill_id: tuple(found) for skill_id, found in index.items()})

    @cached_property
    def skills_by_id(self) -> Mapping[str, Skill]:
        """Return the skills by id (built once per pack: answers and pages look names up in big maps)."""
        return MappingProxyType({skill.id: skill for skill in self.skills})

    def warnings(self) -> list[str]:
        """Return advice for the author that does not stop the pack from working: skills with few questions."""
        notes = []
        for skill in self.skills:
            count = sum(distinct_items(item) for _, item in self.items() if skill.id in item.skills)
            if 0 < count < FEW_ITEMS:
                notes.append(Message(
                    N_("The skill %(skill)s has %(count)s distinct question; with fewer than %(few)s, learners soon "
                       "meet repeats, which earn no credit. An item template (parameters and an answer formula) "
                       "gives many variants.") if count == 1 else
                    N_("The skill %(skill)s has %(count)s distinct questions; with fewer than %(few)s, learners "
                       "soon meet repeats, which earn no credit. An item template (parameters and an answer "
                       "formula) gives many variants."),
                    skill=f"“{skill.name}” ({skill.id!r})", count=count, few=FEW_ITEMS))
        return notes


@dataclass(frozen=True)
class ImportedSkills:
    """Skills and units read from another format (Moodle CSV, CASE), with notes on what was left out."""

    title: str
    description: str = ""
    skills: tuple[Skill, ...] = ()
    units: tuple[Unit, ...] = ()
    notes: tuple[str, ...] = ()

    def to_pack(self, *, subject: str = "", grade_level: str = "") -> CoursePack:
        """Return a checked course pack holding these skills and units, ready for activities to be added."""
        return load_pack(
            {
                "format": FORMAT,
                "version": VERSION,
                "course": {
                    "title": self.title,
                    "subject": subject,
                    "grade_level": grade_level,
                    "description": self.description,
                },
                "skills": [_dump_skill(s) for s in self.skills],
                "units": [_dump_unit(u) for u in self.units],
            }
        )


# ---------------------------------------------------------------------------------------------------------------
# Loading


#: "The <what> id 'x' is already used at …", a whole sentence per kind of id so each language words it its own way.
_ALREADY_USED = {
    "skill": N_("the skill id %(id)s is already used at %(place)s"),
    "unit": N_("the unit id %(id)s is already used at %(place)s"),
    "activity": N_("the activity id %(id)s is already used at %(place)s"),
    "goal": N_("the goal id %(id)s is already used at %(place)s"),
    "item": N_("the item id %(id)s is already used at %(place)s"),
    "choice": N_("the choice id %(id)s is already used at %(place)s"),
}


class _Reader:
    """Collects problems while reading, so an author sees them all in one go instead of one per upload."""

    def __init__(self, *, sample_templates: bool = True) -> None:
        self.problems: list[str] = []
        self.sample_templates = sample_templates

    def problem(self, where: str, message: str) -> None:
        # Kept apart (Problem), so the course-map editor names the place in the teacher's words and language.
        self.problems.append(Problem(where, message))

    def record(self, value: object, where: str, required: Sequence[str], optional: Sequence[str]) -> dict[str, Any]:
        """Return the value as a dict if it is a JSON object, reporting missing and unknown fields."""
        if not isinstance(value, dict):
            self.problem(where, Message(N_("should be an object, not %(value)s"), value=_type_name(value)))
            return {}
        for key in required:
            if key not in value:
                self.problem(where, Message(N_("missing the required field %(field)s"), field=repr(key)))
        known = (*required, *optional)
        for key in value:
            if key not in known:
                # Unknown fields would be dropped silently on export, so a typo ("prerequisite") is refused.
                self.problem(where, Message(N_("unknown field %(field)s (expected one of: %(fields)s)"),
                                            field=repr(key), fields=", ".join(known)))
        return value

    def text(self, data: Mapping[str, Any], key: str, where: str, default: str = "", nonempty: bool = False) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            self.problem(f"{where}.{key}", Message(N_("should be text, not %(value)s"), value=_type_name(value)))
            return default
        if nonempty and not value.strip():
            self.problem(f"{where}.{key}", Message(N_("should not be empty")))
        return value

    def optional_text(self, data: Mapping[str, Any], key: str, where: str) -> str | None:
        value = data.get(key)
        if value is None or isinstance(value, str):
            return value
        self.problem(f"{where}.{key}", Message(N_("should be text or null, not %(value)s"), value=_type_name(value)))
        return None

    def texts(self, data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(f"{where}.{key}", Message(N_("should be a list of text, not %(value)s"),
                                                  value=_type_name(value)))
            return ()
        good = []
        for index, entry in enumerate(value):
            if isinstance(entry, str):
                good.append(entry)
            else:
                self.problem(f"{where}.{key}[{index}]", Message(N_("should be text, not %(value)s"),
                                                                   value=_type_name(entry)))
        return tuple(good)

    def number(self, data: Mapping[str, Any], key: str, where: str, default: Number = 0) -> Number:
        value = data.get(key, default)
        if not _is_number(value):
            self.problem(f"{where}.{key}", Message(N_("should be a number, not %(value)s"), value=_type_name(value)))
            return default
        return value

    def objects(self, data: Mapping[str, Any], key: str, where: str) -> list[tuple[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(f"{where}.{key}" if where else key,
                         Message(N_("should be a list, not %(value)s"), value=_type_name(value)))
            return []
        prefix = f"{where}.{key}" if where else key
        return [(f"{prefix}[{index}]", entry) for index, entry in enumerate(value)]

    def translations(self, data: Mapping[str, Any], where: str, english: Mapping[str, tuple[str, Any]],
                     template: bool = False) -> dict[str, dict[str, Any]]:
        """Return an object's checked `translations` ({} when it has none)."""
        if "translations" not in data:
            return {}
        return read_translations(data["translations"], f"{where}.translations", english, self.problem,
                                 template=template)

    def unique(self, ids: Sequence[tuple[str, str]], what: str) -> None:
        seen: dict[str, str] = {}
        for where, identifier in ids:
            if identifier in seen:
                self.problem(where, Message(_ALREADY_USED[what], id=repr(identifier), place=seen[identifier]))
            else:
                seen[identifier] = where


def load_pack(data: Mapping[str, Any], *, sample_templates: bool = True) -> CoursePack:
    """Check a decoded course-pack document and return the pack, or raise CoursePackError listing every problem.

    `sample_templates=False` skips trying a few hundred variants of every item template: for a pack read back
    from the database, which was sampled when it was imported (the try-out dominates loading a big pack, and
    every server process loads each course's pack once per version).
    """
    r = _Reader(sample_templates=sample_templates)
    top = r.record(
        data,
        "",
        required=("format", "version", "course"),
        optional=("mastery", "skills", "units", "activities", "goals"),
    )
    if "format" in top and top["format"] != FORMAT:
        r.problem("format", Message(N_("should be %(format)s, not %(given)s; is this a Pathways course pack?"),
                                     format=repr(FORMAT), given=repr(top["format"])))
    if "version" in top and (top["version"] != VERSION or isinstance(top["version"], bool)):
        r.problem("version", Message(N_("version %(given)s is not supported; this Pathways reads version %(version)s"),
                                      given=repr(top["version"]), version=VERSION))
    if r.problems:
        # With the wrong format or version the rest would only produce noise.
        raise CoursePackError(r.problems)

    # A missing course is already reported above; reading an empty one would report its title twice.
    course = _load_course(r, top["course"]) if "course" in top else Course(title="")
    mastery = _load_mastery(r, top.get("mastery", {}))
    skills = [(where, _load_skill(r, entry, where)) for where, entry in r.objects(top, "skills", "")]
    units = [(where, _load_unit(r, entry, where)) for where, entry in r.objects(top, "units", "")]
    activities = [(where, _load_activity(r, entry, where)) for where, entry in r.objects(top, "activities", "")]
    goals = [(where, _load_goal(r, entry, where)) for where, entry in r.objects(top, "goals", "")]

    r.unique([(w, s.id) for w, s in skills], "skill")
    r.unique([(w, u.id) for w, u in units], "unit")
    r.unique([(w, a.id) for w, a in activities], "activity")
    r.unique([(w, g.id) for w, g in goals], "goal")
    # Item ids are unique across the whole pack because responses and mastery evidence name items alone.
    r.unique([(f"{w}.items[{i}]", item.id) for w, a in activities for i, item in enumerate(a.items)], "item")

    known = {s.id for _, s in skills}

    def check_refs(where: str, ids: Sequence[str]) -> None:
        for index, skill_id in enumerate(ids):
            if skill_id not in known:
                r.problem(f"{where}[{index}]",
                          Message(N_("names the skill %(skill)s, which is not in this pack's skills"),
                                  skill=repr(skill_id)))

    for where, skill in skills:
        check_refs(f"{where}.prerequisites", skill.prerequisites)
    for where, unit in units:
        check_refs(f"{where}.skills", unit.skills)
    for where, goal in goals:
        check_refs(f"{where}.skills", goal.skills)
    for where, activity in activities:
        check_refs(f"{where}.skills", activity.skills)
        for index, item in enumerate(activity.items):
            check_refs(f"{where}.items[{index}].skills", item.skills)
            for skill_index, skill_id in enumerate(item.skills):
                if skill_id in known and skill_id not in activity.skills:
                    r.problem(
                        f"{where}.items[{index}].skills[{skill_index}]",
                        Message(N_("the skill %(skill)s is not among the skills of its activity %(activity)s"),
                                skill=repr(skill_id), activity=repr(activity.id)),
                    )

    if not r.problems:
        try:
            SkillGraph(s for _, s in skills)
        except SkillGraphError as error:
            r.problem("skills", error.args[0])
    if r.problems:
        raise CoursePackError(r.problems)
    return CoursePack(
        course=course,
        skills=tuple(s for _, s in skills),
        units=tuple(u for _, u in units),
        activities=tuple(a for _, a in activities),
        goals=tuple(g for _, g in goals),
        mastery=mastery,
    )


def loads_pack(text: str) -> CoursePack:
    """Decode course-pack JSON text and return the checked pack."""
    try:
        data = decode_json(text)
    except json.JSONDecodeError as error:
        raise CoursePackError([invalid_json(error)]) from None
    return load_pack(data)


def invalid_json(error: json.JSONDecodeError) -> Message:
    """Say where and how a document is not JSON: "line 1, column 2: not valid JSON (…)", as a Message."""
    return Message(N_("line %(line)d, column %(column)d: not valid JSON (%(error)s)"), line=error.lineno,
                   column=error.colno, error=json_error(error))


#: What json.JSONDecodeError.msg starts with (Python's English, 3.11 to 3.13), and the same in a Message.
_JSON_ERRORS = (
    ("Expecting value", N_("a value was expected")),
    ("Expecting property name", N_("a field name in double quotes was expected")),
    ("Expecting ':'", N_("a colon (:) was expected")),
    ("Expecting ','", N_("a comma (,) was expected")),
    ("Unterminated string", N_("a text in quotes starts here and is never closed")),
    ("Invalid control character", N_("a text in quotes holds a control character such as a line break")),
    ("Invalid \\", N_("a backslash starts an escape that JSON does not have")),
    ("Illegal trailing comma", N_("a comma comes before the end of a list or object")),
    ("Extra data", N_("more follows the end of the JSON document")),
)


def json_error(error: json.JSONDecodeError) -> Message:
    """Say what is wrong in invalid JSON as a Message (the decoder's own words are English only).

    Where it is (error.lineno, error.colno) is for the caller's sentence.
    """
    for start, template in _JSON_ERRORS:
        if error.msg.startswith(start):
            return Message(template)
    return Message(N_("the JSON is not written correctly here"))


def decode_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode an uploaded JSON document, refusing one nested deeper than max_depth (CoursePackError).

    Invalid JSON raises json.JSONDecodeError as json.loads does.
    """
    try:
        return bounded_json.decode_json(text, max_depth)
    except JSONTooDeep:
        raise CoursePackError([Message(N_("The file is nested more than %(depth)s levels deep (lists or objects "
                                          "inside each other); a course pack or CASE package needs far fewer. "
                                          "Check the file."), depth=max_depth)]) from None


def _load_course(r: _Reader, value: object) -> Course:
    data = r.record(value, "course", required=("title",),
                    optional=("subject", "grade_level", "description", "translations"))
    title = r.text(data, "title", "course", nonempty="title" in data)
    description = r.text(data, "description", "course")
    return Course(
        title=title,
        subject=r.text(data, "subject", "course"),
        grade_level=r.text(data, "grade_level", "course"),
        description=description,
        translations=r.translations(data, "course", {"title": (TEXT, title), "description": (TEXT, description)}),
    )


def _load_mastery(r: _Reader, value: object) -> MasterySettings:
    data = r.record(value, "mastery", required=(), optional=("thresholds", "review_spacing", "evidence",
                                                               "desired_retention"))
    raw = data.get("thresholds", dict(DEFAULT_THRESHOLDS))
    thresholds = dict(DEFAULT_THRESHOLDS)
    levels = r.record(raw, "mastery.thresholds", required=(), optional=LEVELS)
    for level in LEVELS:
        if level not in levels:
            continue
        value_ = levels[level]
        if not _is_number(value_) or not 0 < value_ < 1:
            r.problem(f"mastery.thresholds.{level}",
                      Message(N_("should be a probability between 0 and 1, not %(value)s"), value=repr(value_)))
        else:
            thresholds[level] = value_
    if not thresholds["familiar"] <= thresholds["proficient"] <= thresholds["mastered"]:
        r.problem("mastery.thresholds", Message(N_("levels should rise: familiar <= proficient <= mastered")))
    review = data.get("review_spacing", True)
    if not isinstance(review, bool):
        r.problem("mastery.review_spacing", Message(N_("should be true or false, not %(value)s"),
                                                     value=_type_name(review)))
        review = True
    evidence = dict(EVIDENCE_RULES)
    rules = r.record(data.get("evidence", {}), "mastery.evidence", required=(), optional=tuple(EVIDENCE_RULES))
    for key, default in EVIDENCE_RULES.items():
        if key not in rules:
            continue
        given = rules[key]
        if isinstance(default, int) and (isinstance(given, bool) or not isinstance(given, int) or given < 0):
            r.problem(f"mastery.evidence.{key}", Message(N_("should be a whole number, 0 or more, not %(value)s"),
                                                          value=repr(given)))
        elif not _is_number(given) or given < 0:
            r.problem(f"mastery.evidence.{key}", Message(N_("should be a number, 0 or more, not %(value)s"),
                                                          value=repr(given)))
        else:
            evidence[key] = given
    retention = data.get("desired_retention", DEFAULT_RETENTION)
    if not _is_number(retention) or not 0.7 <= retention <= 0.97:
        r.problem("mastery.desired_retention",
                  Message(N_("should be a probability between 0.7 and 0.97, not %(value)s"), value=repr(retention)))
        retention = DEFAULT_RETENTION
    return MasterySettings(thresholds=thresholds, review_spacing=review, evidence=evidence,
                           desired_retention=float(retention))


def _dump_mastery(mastery: MasterySettings) -> dict[str, Any]:
    out: dict[str, Any] = {
        "thresholds": {level: mastery.thresholds[level] for level in LEVELS},
        "review_spacing": mastery.review_spacing,
    }
    # Only settings an author changed are written, so a pack round-trips to exactly what was imported.
    evidence = {k: v for k, v in mastery.evidence.items() if v != EVIDENCE_RULES.get(k)}
    if evidence:
        out["evidence"] = evidence
    if mastery.desired_retention != DEFAULT_RETENTION:
        out["desired_retention"] = mastery.desired_retention
    return out


def _load_skill(r: _Reader, value: object, where: str) -> Skill:
    data = r.record(value, where, required=("id", "name"), optional=("description", "prerequisites", "translations"))
    name, description = r.text(data, "name", where, nonempty="name" in data), r.text(data, "description", where)
    return Skill(
        id=_identifier(r, data, where),
        name=name,
        description=description,
        prerequisites=r.texts(data, "prerequisites", where),
        translations=r.translations(data, where, {"name": (TEXT, name), "description": (TEXT, description)}),
    )


def _load_unit(r: _Reader, value: object, where: str) -> Unit:
    data = r.record(value, where, required=("id", "title", "skills"), optional=("description", "translations"))
    title, description = r.text(data, "title", where, nonempty="title" in data), r.text(data, "description", where)
    return Unit(
        id=_identifier(r, data, where),
        title=title,
        description=description,
        # Each skill once: a unit's counts ("n of N skills") and its placement's per-skill columns count skills.
        skills=tuple(dict.fromkeys(r.texts(data, "skills", where))),
        translations=r.translations(data, where, {"title": (TEXT, title), "description": (TEXT, description)}),
    )


def _load_goal(r: _Reader, value: object, where: str) -> Goal:
    data = r.record(value, where, required=("id", "title", "skills"), optional=("description", "due", "translations"))
    due = r.optional_text(data, "due", where)
    if due is not None and not _is_iso_date(due):
        r.problem(f"{where}.due", Message(N_("should be a date written YYYY-MM-DD, not %(value)s"), value=repr(due)))
    title, description = r.text(data, "title", where, nonempty="title" in data), r.text(data, "description", where)
    return Goal(
        id=_identifier(r, data, where),
        title=title,
        description=description,
        skills=r.texts(data, "skills", where),
        due=due,
        translations=r.translations(data, where, {"title": (TEXT, title), "description": (TEXT, description)}),
    )


NOT_A_WEB_ADDRESS = N_("should be a web address starting with http:// or https://, not %(value)s")


def is_web_address(url: str) -> bool:
    """Tell whether a link is an http(s) address with a host, and nothing a browser would run or resolve here."""
    try:
        parts = urlsplit(url)
        safe = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False
    return safe and not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)


LINK_REMOVED = "The link of this resource was removed: it was not a web address (http:// or https://)."


def drop_unsafe_links(data: Mapping[str, Any]) -> None:
    """Clear, in a stored pack document, the activity links its reading drops (stored before links were checked).

    Students never see them (see _web_address); cleared before an edit or an export is checked, they block
    neither. A resource left with nothing says why (a resource needs a link or a text), in the pack's own words.
    """
    activities = data.get("activities")
    for activity in activities if isinstance(activities, list) else ():
        cleared = _without_unsafe_link(activity)
        if cleared is not None:
            activity.update(cleared)


def without_unsafe_links(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the stored pack document as `drop_unsafe_links` would leave it, without changing it.

    The document itself when it has no such link (nearly always); otherwise a copy that shares everything but the
    activities whose link goes, so a reader (an export) needs no deep copy of the whole pack.
    """
    activities = data.get("activities")
    if not isinstance(activities, list):
        return data
    cleared = [_without_unsafe_link(activity) for activity in activities]
    if all(c is None for c in cleared):
        return data
    return {**data, "activities": [a if c is None else c for a, c in zip(activities, cleared, strict=True)]}


def _without_unsafe_link(activity: object) -> dict[str, Any] | None:
    """Return a copy of a stored activity without the link its reading drops, or None when it has none to drop."""
    url = activity.get("url") if isinstance(activity, dict) else None
    if not (isinstance(url, str) and url and not is_web_address(url)):
        return None
    cleared = {**activity, "url": None}
    instructions = activity.get("instructions")
    if activity.get("kind") == "resource" and not (isinstance(instructions, str) and instructions.strip()):
        cleared["instructions"] = LINK_REMOVED
    return cleared


def _web_address(r: _Reader, url: str | None, where: str) -> str | None:
    """Read an activity's url: an http(s) address, since students open it from a link on their plan.

    Anything else (javascript:, data:, a relative path) is refused in a pack being imported or edited. A pack read
    back from the database (not sampled: see load_pack) may predate this check; its link is dropped, not the
    course: the student sees the title and the instructions.
    """
    if not url or is_web_address(url):
        return url
    if not r.sample_templates:
        return None
    r.problem(f"{where}.url", Message(NOT_A_WEB_ADDRESS, value=repr(url)))
    return url  # the pack is refused: the problem above is all the author needs to read about this url


def _load_activity(r: _Reader, value: object, where: str) -> Activity:
    data = r.record(
        value,
        where,
        required=("id", "title", "kind", "skills"),
        optional=("modality", "url", "instructions", "items", "translations"),
    )
    kind = r.text(data, "kind", where)
    if "kind" in data and kind not in ACTIVITY_KINDS:
        r.problem(f"{where}.kind", Message(N_("should be one of %(kinds)s, not %(value)s"),
                                            kinds=", ".join(ACTIVITY_KINDS), value=repr(kind)))
    given_url = r.optional_text(data, "url", where)
    url = _web_address(r, given_url, where)
    instructions = r.text(data, "instructions", where)
    skills = r.texts(data, "skills", where)
    items = tuple(_load_item(r, entry, item_where, skills) for item_where, entry in r.objects(data, "items", where))
    if kind == "resource" and not given_url and not instructions.strip():
        # A worked example or a short reading can be the text itself: then there is nothing to link to.
        r.problem(f"{where}.url", Message(N_("a resource needs the address (url) of what to read or watch, or its "
                                             "text in instructions")))
    if kind in ("project", "discussion", "offline") and not instructions.strip():
        r.problem(f"{where}.instructions", Message(N_("a %(kind)s activity needs instructions for the learners"),
                                                    kind=kind))
    if kind == "practice" and not items and "items" in data:
        r.problem(f"{where}.items", Message(N_("a practice activity needs at least one item")))
    elif kind == "practice" and "items" not in data:
        r.problem(where, Message(N_("a practice activity needs its items")))
    if kind in ACTIVITY_KINDS and kind != "practice" and items:
        r.problem(f"{where}.items", Message(N_("only practice activities hold items, and this one is a %(kind)s"),
                                             kind=kind))
    title, modality = r.text(data, "title", where, nonempty="title" in data), r.text(data, "modality", where)
    return Activity(
        id=_identifier(r, data, where),
        title=title,
        kind=kind,
        modality=modality,
        skills=skills,
        url=url,
        instructions=instructions,
        items=items,
        translations=r.translations(data, where, {"title": (TEXT, title), "modality": (TEXT, modality),
                                                  "instructions": (TEXT, instructions)}),
    )


_TEMPLATE_FIELDS = ("parameters", "constraints", "translations")  # translations: any item may have them
_ITEM_FIELDS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "multiple_choice": (
        ("id", "type", "prompt", "choices", "answer"),
        ("skills", "difficulty", "hints", "solution", *_TEMPLATE_FIELDS),
    ),
    "numeric": (
        ("id", "type", "prompt", "answer"),
        ("skills", "difficulty", "tolerance", "unit", "hints", "solution", *_TEMPLATE_FIELDS),
    ),
    "short_text": (
        ("id", "type", "prompt", "answers"),
        ("skills", "difficulty", "hints", "solution", *_TEMPLATE_FIELDS),
    ),
}


def _load_item(r: _Reader, value: object, where: str, activity_skills: tuple[str, ...]) -> Item:
    item_type = value.get("type") if isinstance(value, dict) else None
    if isinstance(value, dict) and item_type not in ITEM_TYPES:
        r.problem(f"{where}.type", Message(N_("should be one of %(kinds)s, not %(value)s"),
                                            kinds=", ".join(ITEM_TYPES), value=repr(item_type)))
        item_type = None
    required, optional = _ITEM_FIELDS.get(item_type or "", (("id", "type", "prompt"), ()))
    if item_type is None:
        # Without a known type the other fields cannot be judged; accept them to avoid a flood of noise.
        optional = tuple(sorted({f for spec in _ITEM_FIELDS.values() for group in spec for f in group} - set(required)))
    data = r.record(value, where, required=required, optional=optional)
    if "skills" in data and data["skills"] == []:
        r.problem(f"{where}.skills",
                  Message(N_("should name at least one skill, or be left out to use the activity's skills")))
    common: dict[str, Any] = {
        "id": _identifier(r, data, where),
        "prompt": r.text(data, "prompt", where, nonempty="prompt" in data),
        # An item without its own skills practises those of its activity; an empty list would give no evidence.
        "skills": r.texts(data, "skills", where) if "skills" in data else activity_skills,
        "difficulty": _load_difficulty(r, data, where),
        "hints": r.texts(data, "hints", where),
        "solution": r.text(data, "solution", where),
    }
    parameters = _load_parameters(r, data, where)
    constraints = r.texts(data, "constraints", where)
    common["parameters"], common["constraints"] = parameters, constraints
    if "constraints" in data and not parameters:
        r.problem(f"{where}.constraints", Message(N_("only an item with parameters (a template) has constraints")))
    english: dict[str, tuple[str, Any]] = {
        "prompt": (TEXT, common["prompt"]), "hints": (HINTS, common["hints"]), "solution": (TEXT, common["solution"]),
    }
    if item_type == "multiple_choice":
        choices = []
        for choice_where, entry in r.objects(data, "choices", where):
            choice = r.record(entry, choice_where, required=("id", "text"), optional=())
            choices.append(
                (
                    choice_where,
                    Choice(id=_identifier(r, choice, choice_where), text=r.text(choice, "text", choice_where)),
                )
            )
        r.unique([(w, c.id) for w, c in choices], "choice")
        if "choices" in data and len(choices) < 2:
            r.problem(f"{where}.choices", Message(N_("a multiple-choice item needs at least two choices")))
        answer = r.text(data, "answer", where)
        if "answer" in data and isinstance(data["answer"], str) and answer not in {c.id for _, c in choices}:
            r.problem(f"{where}.answer", Message(N_("%(choice)s is not the id of one of the item's choices"),
                                              choice=repr(answer)))
        english["choices"] = (CHOICES, {c.id: c.text for _, c in choices})
        item: Item = MultipleChoiceItem(choices=tuple(c for _, c in choices), answer=answer, **common)
    elif item_type == "numeric":
        tolerance = r.number(data, "tolerance", where)
        if tolerance < 0:
            r.problem(f"{where}.tolerance", Message(N_("should be zero or more, not %(value)s"), value=repr(tolerance)))
        if parameters and isinstance(data.get("answer"), str):
            answer_value: Number | str = data["answer"]  # a formula, checked with the template below
        else:
            answer_value = r.number(data, "answer", where)
        item = NumericItem(
            answer=answer_value,
            tolerance=tolerance,
            unit=r.optional_text(data, "unit", where),
            **common,
        )
    elif item_type == "short_text":
        answers = r.texts(data, "answers", where)
        if "answers" in data and not any(_normalise_text(a) for a in answers):
            r.problem(f"{where}.answers", Message(N_("a short-text item needs at least one accepted answer")))
        english["answers"] = (ANSWERS, answers)
        item = ShortTextItem(answers=answers, **common)
    else:
        item = ShortTextItem(answers=(), **common)
    translations = r.translations(data, where, english, template=bool(parameters))
    if translations:
        item = replace(item, translations=translations)
    if parameters:
        _check_template(r, item, where)
    return item


def _load_parameters(r: _Reader, data: Mapping[str, Any], where: str) -> tuple[Parameter, ...]:
    if "parameters" not in data:
        return ()
    value = data["parameters"]
    if not isinstance(value, dict) or not value:
        r.problem(f"{where}.parameters",
                  Message(N_("should be an object naming at least one parameter, or be left out")))
        return ()
    parameters = []
    for name, spec in value.items():
        at = f"{where}.parameters.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in ("abs", "min", "max", "gcd"):
            r.problem(at, Message(N_("a parameter's name is a letter or a word (letters, digits, _), not a "
                                       "function's name")))
            continue
        spec = r.record(spec, at, required=(), optional=("min", "max", "step", "values"))
        if "values" in spec:
            values = spec["values"]
            if set(spec) != {"values"} or not isinstance(values, list) or not values or not all(
                _is_number(v) for v in values
            ):
                r.problem(at, Message(N_("give either a non-empty list of numbers as values, or min and max (and a "
                                           "step)")))
                continue
            parameters.append(Parameter(name, values=tuple(values)))
            continue
        bounds = [spec.get(k, 1 if k == "step" else None) for k in ("min", "max", "step")]
        if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) or bounds[2] < 1 or (
            bounds[0] > bounds[1]
        ):
            r.problem(at, Message(N_("min and max should be whole numbers with min ≤ max, and step a whole number of 1 "
                                       "or more")))
            continue
        if (bounds[1] - bounds[0]) // bounds[2] > 10_000:
            r.problem(at, Message(N_("gives more than 10,000 values; choose a smaller range or a larger step")))
            continue
        parameters.append(Parameter(name, low=bounds[0], high=bounds[1], step=bounds[2]))
    return tuple(parameters)


def _item_texts(item: Item) -> list[tuple[str, str]]:
    texts = [("prompt", item.prompt), ("solution", item.solution)]
    texts += [(f"hints[{i}]", h) for i, h in enumerate(item.hints)]
    if isinstance(item, MultipleChoiceItem):
        texts += [(f"choices[{i}].text", c.text) for i, c in enumerate(item.choices)]
    if isinstance(item, ShortTextItem):
        texts += [(f"answers[{i}]", a) for i, a in enumerate(item.answers)]
    # Translated texts hold formulas too: each must name the template's parameters.
    for language, texts_in in item.translations.items():
        for key, value in texts_in.items():
            at = f"translations.{language}.{key}"
            if isinstance(value, str):
                texts.append((at, value))
            elif isinstance(value, Mapping):
                texts += [(f"{at}.{cid}", text) for cid, text in value.items()]
            else:
                texts += [(f"{at}[{i}]", text) for i, text in enumerate(value)]
    return texts


def _check_template(r: _Reader, item: Item, where: str) -> None:
    """Report formulas that name unknown parameters or fail for some values, so learners never meet a broken one."""
    names = {p.name for p in item.parameters}
    texts = _item_texts(item)
    formulas = [(f"{where}.constraints[{i}]", c) for i, c in enumerate(item.constraints)]
    formulas += [(f"{where}.{field_name}", f) for field_name, text in texts for f in formulas_in(text)]
    problems_before = len(r.problems)
    # Braces that are no {formula} or {if …} (one left open) are refused in a pack being imported or edited; a
    # stored pack may predate the check, and shows them as they stand, as it did.
    for field_name, text in texts if r.sample_templates else ():
        wrong = template_text_problem(text)
        if wrong is not None:
            r.problem(f"{where}.{field_name}", Message(wrong))
    if isinstance(item, NumericItem) and isinstance(item.answer, str):
        formulas.append((f"{where}.answer", item.answer))
    for at, formula in formulas:
        unknown = names_in(formula) - names
        if unknown:
            r.problem(at, Message(N_("%(formula)s uses %(names)s, which is not one of the parameters"),
                                   formula=repr(formula), names=", ".join(sorted(unknown))))
            continue
        try:
            evaluate(formula, {p.name: p.choices()[0] for p in item.parameters})
        except TemplateError as error:
            if error.message.template != DIVIDES_BY_ZERO:  # other values may not: the sampling below checks
                r.problem(at, error.message)
    if len(r.problems) > problems_before:
        return
    if not r.sample_templates:
        return
    if variant_count(item.parameters, item.constraints) == 0:
        r.problem(f"{where}.constraints", Message(N_("no values of the parameters meet every constraint")))
        return
    # Try variants learners may meet (a few hundred) so a division by zero is caught when authoring, not in class.
    rng = random.Random(0)  # noqa: S311 - variety, not secrecy; seeded so a check is repeatable
    for _ in range(200):
        params = sample(item.parameters, item.constraints, rng, lambda _p: False)
        try:
            instantiate(item, params)
        except TemplateError as error:
            r.problem(where, Message(N_("with %(values)s the template fails: %(error)s"), values=str(params),
                                      error=error.message))
            return


def _load_difficulty(r: _Reader, data: Mapping[str, Any], where: str) -> Difficulty:
    value = data.get("difficulty", "medium")
    if value in DIFFICULTY_LABELS or _is_number(value):
        return value
    r.problem(f"{where}.difficulty", Message(N_("should be easy, medium, hard or a number, not %(value)s"),
                                              value=repr(value)))
    return "medium"


def _identifier(r: _Reader, data: Mapping[str, Any], where: str) -> str:
    if "id" not in data:
        return ""
    value = data["id"]
    if not isinstance(value, str) or not value.strip():
        r.problem(f"{where}.id", Message(N_("should be non-empty text, not %(value)s"), value=repr(value)))
        return str(value)
    if value != value.strip():
        r.problem(f"{where}.id", Message(N_("should not start or end with spaces: %(value)s"), value=repr(value)))
    return value


# ---------------------------------------------------------------------------------------------------------------
# Dumping: every field, always in this order, so canonical packs round-trip exactly.


def dump_pack(pack: CoursePack) -> dict[str, Any]:
    """Return the pack as a JSON-ready dict in canonical form (every field, fixed order)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "course": _with_translations({
            "title": pack.course.title,
            "subject": pack.course.subject,
            "grade_level": pack.course.grade_level,
            "description": pack.course.description,
        }, pack.course.translations, ("title", "description")),
        "mastery": _dump_mastery(pack.mastery),
        "skills": [_dump_skill(s) for s in pack.skills],
        "units": [_dump_unit(u) for u in pack.units],
        "activities": [_dump_activity(a) for a in pack.activities],
        "goals": [
            _with_translations({"id": g.id, "title": g.title, "description": g.description, "skills": list(g.skills),
                                "due": g.due}, g.translations, ("title", "description"))
            for g in pack.goals
        ],
    }


def dumps_pack(pack: CoursePack) -> str:
    """Return the pack as canonical JSON text: two-space indents, UTF-8 characters kept, final newline."""
    return json.dumps(dump_pack(pack), indent=2, ensure_ascii=False) + "\n"


def _with_translations(data: dict[str, Any], translations: Translations, fields: Sequence[str],
                       choice_order: Sequence[str] = ()) -> dict[str, Any]:
    # Written only when there are some, so packs without translations keep exactly the form they always had.
    if translations:
        data["translations"] = dump_translations(translations, fields, choice_order)
    return data


def _dump_skill(skill: Skill) -> dict[str, Any]:
    return _with_translations({
        "id": skill.id,
        "name": skill.name,
        "description": skill.description,
        "prerequisites": list(skill.prerequisites),
    }, skill.translations, ("name", "description"))


def _dump_unit(unit: Unit) -> dict[str, Any]:
    return _with_translations({"id": unit.id, "title": unit.title, "description": unit.description,
                               "skills": list(unit.skills)}, unit.translations, ("title", "description"))


def _dump_activity(activity: Activity) -> dict[str, Any]:
    return _with_translations({
        "id": activity.id,
        "title": activity.title,
        "kind": activity.kind,
        "modality": activity.modality,
        "skills": list(activity.skills),
        "url": activity.url,
        "instructions": activity.instructions,
        "items": [_dump_item(i) for i in activity.items],
    }, activity.translations, ("title", "modality", "instructions"))


def _dump_item(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "prompt": item.prompt,
        "skills": list(item.skills),
        "difficulty": item.difficulty,
    }
    if item.parameters:
        # Written only for templates, so packs without them keep exactly the form they always had.
        data["parameters"] = {p.name: _dump_parameter(p) for p in item.parameters}
        data["constraints"] = list(item.constraints)
    if isinstance(item, MultipleChoiceItem):
        data["choices"] = [{"id": c.id, "text": c.text} for c in item.choices]
        data["answer"] = item.answer
    elif isinstance(item, NumericItem):
        data["answer"] = item.answer
        data["tolerance"] = item.tolerance
        data["unit"] = item.unit
    else:
        data["answers"] = list(item.answers)
    data["hints"] = list(item.hints)
    data["solution"] = item.solution
    choice_order = [c.id for c in item.choices] if isinstance(item, MultipleChoiceItem) else []
    return _with_translations(data, item.translations, ITEM_FIELDS, choice_order)


def _dump_parameter(parameter: Parameter) -> dict[str, Any]:
    if parameter.values:
        return {"values": list(parameter.values)}
    return {"min": parameter.low, "max": parameter.high, "step": parameter.step}


# ---------------------------------------------------------------------------------------------------------------
# Checking answers

# Whole numbers with optional thousands grouping ("1,250"), decimals (".75", "0.75"), fractions ("3/4") and
# mixed numbers ("1 3/4"), each with an optional sign. Decimal commas ("0,75") are not read: "1,250" would be
# ambiguous, and a wrong reading is worse than asking the learner to retype.
_DECIMAL = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+"
_NUMBER_PATTERNS = (
    re.compile(rf"(?P<sign>[+-]?)(?P<decimal>{_DECIMAL})"),
    re.compile(r"(?P<sign>[+-]?)(?P<num>\d+)/(?P<den>\d+)"),
    re.compile(r"(?P<sign>[+-]?)(?P<whole>\d+)\s+(?P<num>\d+)/(?P<den>\d+)"),
)


def parse_number(text: str) -> Fraction | None:
    """Return the exact value of a typed number ("0.75", "3/4", "1 3/4", "-2", "1,250"), or None if unreadable."""
    text = unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()
    for pattern in _NUMBER_PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        groups = match.groupdict()
        if groups.get("decimal") is not None:
            value = Fraction(groups["decimal"].replace(",", ""))
        else:
            if int(groups["den"]) == 0:
                return None
            value = Fraction(int(groups["num"]), int(groups["den"])) + int(groups.get("whole") or 0)
        return -value if groups["sign"] == "-" else value
    return None


def check_answer(item: Item, response: str) -> bool:
    """Return whether a learner's typed or chosen response answers the item correctly."""
    if isinstance(item, MultipleChoiceItem):
        return response.strip() == item.answer
    if isinstance(item, ShortTextItem):
        given = _normalise_text(response)
        return bool(given) and any(given == _normalise_text(a) for a in item.answers)
    value = _read_numeric_response(response, item.unit)
    if value is None:
        return False
    # Exact rational arithmetic: 0.1 + 0.2 style float error must not turn a right answer wrong.
    return abs(value - _exact(item.answer)) <= _exact(item.tolerance)


def _read_numeric_response(response: str, unit: str | None) -> Fraction | None:
    text = unicodedata.normalize("NFKC", response).strip()
    if unit:
        # The item's own unit may be typed before ("$4.50") or after ("12 cm", "75%") the number.
        folded, unit_folded = text.casefold(), unicodedata.normalize("NFKC", unit).casefold().strip()
        if unit_folded and folded.endswith(unit_folded):
            return parse_number(text[: len(text) - len(unit_folded)])
        if unit_folded and folded.startswith(unit_folded):
            return parse_number(text[len(unit_folded) :])
    if text.endswith("%"):
        # With no "%" unit on the item, "75%" means seventy-five hundredths, the same as 0.75.
        value = parse_number(text[:-1])
        return None if value is None else value / 100
    return parse_number(text)


def _normalise_text(text: str) -> str:
    # Case and all whitespace are ignored, so "Y = 2x", "y=2x" and " y = 2 x " are the same answer.
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _exact(value: Number) -> Fraction:
    # str() gives the shortest decimal that round-trips, i.e. the number the author wrote (0.1, not 0.1000…0055).
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


# ---------------------------------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    # bool is an int in Python but true/false in JSON is never meant as a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _is_iso_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _type_name(value: object) -> str:
    if value is None:
        return "null"  # JSON's own word, the same in every language
    if isinstance(value, bool):
        return Message(N_("true/false"))
    if isinstance(value, int | float):
        return Message(N_("the number %(value)s"), value=repr(value))
    if isinstance(value, str):
        return Message(N_("the text %(value)s"), value=repr(value))
    if isinstance(value, list):
        return Message(N_("a list"))
    if isinstance(value, dict):
        return Message(N_("an object"))
    return type(value).__name__
