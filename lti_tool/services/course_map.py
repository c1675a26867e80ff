"""The teacher's course-map editor, skill imports (Moodle CSV, CASE) and exports.

Every change loads the course's pack document, applies the change, checks the whole pack again with
`load_pack` and only then saves it through `import_pack`: a change that would leave a prerequisite circle, an
unknown skill or a multiple-choice item without its answer is refused with every problem listed, and nothing
is saved. Ids of skills and items never change once given (students' responses and mastery name them), and an
id that student records still use is never handed out again.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..learning.case import CasePackageError, read_case_package
from ..learning.competency_csv import CompetencyCsvError, read_competency_csv, write_competency_csv
from ..learning.coursepack import (
    ACTIVITY_KINDS,
    DIFFICULTY_LABELS,
    FORMAT,
    ITEM_TYPES,
    NOT_A_WEB_ADDRESS,
    VERSION,
    CoursePack,
    CoursePackError,
    ImportedSkills,
    MultipleChoiceItem,
    NumericItem,
    decode_json,
    drop_unsafe_links,
    dump_pack,
    dumps_pack,
    json_error,
    load_pack,
    without_unsafe_links,
)
from ..learning.messages import Message
from ..learning.translations import item_translations_that_fit
from ..lti.toolconf import place_options
from ..models import Course, CourseContent, Deployment, ItemResponse, Platform, SkillMastery
from .content import course_content, course_pack, import_pack, locked_content
from .errors import N_, NotFound, ServiceError

Values = Mapping[str, Any]
KINDS = ("course", "skill", "unit", "activity", "item", "goal")
#: What the editor offers, in words: activity kinds and question types of the course-pack format.
#: The words are catalogued (N_): pages show them through the `localized` filter.
ACTIVITY_KIND_NAMES = dict(zip(ACTIVITY_KINDS, (N_("Practice set"), N_("Resource (video, reading …)"), N_("Project"),
                                                N_("Discussion or group work"), N_("Offline task")), strict=True))
ITEM_TYPE_NAMES = dict(zip(ITEM_TYPES, (N_("Multiple choice"), N_("Number (with tolerance)"), N_("Short text")),
                           strict=True))


class MapError(ServiceError):
    """A change that was not saved; `problems` lists every reason in words a teacher can act on.

    Each problem is English text; most are Messages (learning/messages.py), which pages show in the teacher's
    language.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        first = self.problems[0] if count == 1 else Message(N_("The change was not saved: %(count)s problems."),
                                                             count=count)
        if isinstance(first, Message):
            super().__init__(first.template, **first.values)
        else:
            super().__init__(first)


class FieldProblem(Message):
    """A problem with one field of the form being saved; `field` is the form field's name, so the editor marks
    that field and links the problem to it."""

    field: str

    def __new__(cls, field: str, template: str, /, **values: object) -> FieldProblem:
        problem = super().__new__(cls, template, **values)
        problem.field = field
        return problem

    def __reduce__(self) -> tuple:  # copies keep the field, as Message's keep template and values
        return _field_problem, (self.field, self.template, dict(self.values))


def _field_problem(field: str, template: str, values: Mapping[str, object]) -> FieldProblem:
    return FieldProblem(field, template, **values)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the course's pack afterwards, what kind of file it read, and the reader's notes."""

    pack: CoursePack
    source: str
    merged: bool
    skills_added: int
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------------------------
# Reading


def form_values(pack: CoursePack | None, kind: str, record_id: str | None = None,
                activity_id: str | None = None) -> dict[str, Any]:
    """Return the editor form's fields for one record (empty fields for a new one), as the teacher sees them."""
    if kind not in KINDS:
        raise NotFound(N_("There is no such part of the course map."))
    if pack is None and kind != "course":
        raise NotFound(N_("This course has no content yet."))
    if kind == "course":
        if pack is None:
            return {"title": "", "subject": "", "grade_level": "", "description": ""}
        course = pack.course
        return {"title": course.title, "subject": course.subject, "grade_level": course.grade_level,
                "description": course.description}
    if kind == "item":
        if record_id is None:
            return {"type": "multiple_choice", "prompt": "", "skills": [], "difficulty": "medium", "choices": "",
                    "answer": "", "numeric_answer": "", "tolerance": "0", "unit": "", "answers": "", "hints": "",
                    "solution": ""}
        activity = _find(pack.activities, activity_id, "activity")
        item = _find(activity.items, record_id, "question")
        values: dict[str, Any] = {
            "type": item.type, "prompt": item.prompt,
            # Items that practise all their activity's skills show no ticks: they follow the activity's skills.
            "skills": [] if set(item.skills) == set(activity.skills) else list(item.skills),
            "difficulty": str(item.difficulty), "choices": "", "answer": "", "numeric_answer": "", "tolerance": "0",
            "unit": "", "answers": "", "hints": "\n".join(item.hints), "solution": item.solution,
        }
        if isinstance(item, MultipleChoiceItem):
            values["choices"] = "\n".join(f"{c.id}: {c.text}" for c in item.choices)
            values["answer"] = item.answer
        elif isinstance(item, NumericItem):
            values.update(numeric_answer=_number_text(item.answer), tolerance=_number_text(item.tolerance),
                          unit=item.unit or "")
        else:
            values["answers"] = "\n".join(item.answers)
        return values
    if record_id is None:
        # A new practice activity brings its first question, so its form holds the question's fields too.
        return {"name": "", "title": "", "description": "", "prerequisites": [], "skills": [], "due": "",
                "kind": "practice", "modality": "", "url": "", "instructions": "",
                **form_values(pack, "item", None, None) | {"skills": []}}
    if kind == "skill":
        skill = _find(pack.skills, record_id, "skill")
        return {"name": skill.name, "description": skill.description, "prerequisites": list(skill.prerequisites)}
    if kind == "unit":
        unit = _find(pack.units, record_id, "unit")
        return {"title": unit.title, "description": unit.description, "skills": list(unit.skills)}
    if kind == "goal":
        goal = _find(pack.goals, record_id, "goal")
        return {"title": goal.title, "description": goal.description, "skills": list(goal.skills),
                "due": goal.due or ""}
    activity = _find(pack.activities, record_id, "activity")
    return {"title": activity.title, "kind": activity.kind, "modality": activity.modality,
            "skills": list(activity.skills), "url": activity.url or "", "instructions": activity.instructions}


def skills_in_map_order(pack: CoursePack) -> list[Any]:
    """Return the pack's skills in map order: every skill after its prerequisites."""
    by_id = {skill.id: skill for skill in pack.skills}
    return [by_id[skill_id] for skill_id in pack.skill_graph.topological_order()]


def export_text(course_id: int, fmt: str = "json") -> str:
    """Return the course's content as canonical course-pack JSON, or its skills as a Moodle competency CSV."""
    content = course_content(course_id)
    if content is None:
        raise NotFound(N_("This course has no content yet."))
    # A link stored before links were checked is left out (as students see the pack), not a failed export, and a
    # resource that was only its link says so, so the export imports again. Its templates are not sampled again:
    # the stored document passed that check (seeded, so repeatable) when it was imported or edited, and a template
    # a later Pathways would refuse should not stop the teacher taking the course out (its import lists why).
    data = without_unsafe_links(content.pack)
    pack = course_pack(course_id) if data is content.pack else None
    if pack is None:
        pack = load_pack(data, sample_templates=False)
    if fmt == "csv":
        return write_competency_csv(pack.skills, framework_id=_slug(pack.course.title, "pathways-skills"),
                                    framework_name=pack.course.title, description=pack.course.description)
    return dumps_pack(pack)


def find_course(context_id: str, *, issuer: str | None = None, client_id: str | None = None,
                deployment_id: str | None = None) -> Course:
    """Return the one course with this LTI context id (narrowed by platform and deployment), or explain why not."""
    query = (
        sa.select(Course)
        .join(Platform, Course.platform_id == Platform.id)
        .join(Deployment, Course.deployment_id == Deployment.id)
        .where(Course.context_id == context_id)
        .order_by(Course.id)
    )
    if issuer:
        query = query.where(Platform.issuer == issuer)
    if client_id:
        query = query.where(Platform.client_id == client_id)
    if deployment_id:
        query = query.where(Deployment.deployment_id == deployment_id)
    courses = list(db.session.scalars(query))
    if not courses:
        raise NotFound(
            f"No course with the context id {context_id!r} is known"
            + (" on that platform" if issuer or client_id or deployment_id else "")
            + ". Pathways learns about a course when someone first launches it from the LMS: ask a teacher to "
            "open Pathways in that course once, then run this again."
        )
    if len(courses) > 1:
        places = "; ".join(
            place_options(db.session.get(Platform, c.platform_id).issuer,
                          db.session.get(Platform, c.platform_id).client_id,
                          db.session.get(Deployment, c.deployment_id).deployment_id)
            for c in courses
        )
        raise ServiceError(f"{len(courses)} courses have the context id {context_id!r}; say which one with: {places}")
    return courses[0]


# ---------------------------------------------------------------------------------------------------------------
# Changing


def start_course(course_id: int, title: str, *, now: datetime) -> CoursePack:
    """Give a course without content an empty pack with just a title, ready to be built in the editor."""
    if course_content(course_id) is not None:
        raise ServiceError(N_("This course already has content; edit it in the course map."))
    data = {"format": FORMAT, "version": VERSION, "course": {"title": title.strip()}}
    return _save(course_id, data, now)


def save_course_details(course_id: int, values: Values, *, now: datetime) -> str:
    """Change the course's title, subject, grade level and description."""
    def apply(data: dict[str, Any]) -> str:
        data["course"] = {key: _text(values, key) for key in ("title", "subject", "grade_level", "description")}
        return data["course"]["title"]

    return _change(course_id, apply, now, edits="course")


def save_skill(course_id: int, skill_id: str | None, values: Values, *, now: datetime) -> str:
    """Add a skill (skill_id None) or change one's name, description and prerequisites; return its id."""
    def apply(data: dict[str, Any]) -> str:
        record = {"name": _text(values, "name"), "description": _text(values, "description"),
                  "prerequisites": _ids(values, "prerequisites")}
        return _upsert(data, "skills", skill_id, record, record["name"], "skill",
                       reserved=_used_skill_ids(course_id))

    return _change(course_id, apply, now, edits="skills")


DELETE_UNCONFIRMED = N_("Tick the box to confirm the deletion: it cannot be undone.")


def _require_confirmed(confirmed: bool) -> None:
    # A deletion cannot be undone, so the form asks for a tick first (WCAG 3.3.4); a request without it changes
    # nothing, whatever sent it.
    if not confirmed:
        raise MapError([Message(DELETE_UNCONFIRMED)])


def delete_skill(course_id: int, skill_id: str, *, confirmed: bool, now: datetime) -> str:
    """Remove a skill nothing else uses; refuse, naming them, when skills, units, activities or goals use it."""
    _require_confirmed(confirmed)
    def apply(data: dict[str, Any]) -> str:
        skill = _record(data, "skills", skill_id, "skill")
        users = []
        for kind, sentence, key in (("skills", N_("the skills %(names)s need it first"), "prerequisites"),
                                    ("units", N_("the units %(names)s use it"), "skills"),
                                    ("activities", N_("the activities %(names)s use it"), "skills"),
                                    ("goals", N_("the goals %(names)s use it"), "skills")):
            # Items practise a subset of their activity's skills, so checking activities covers questions too.
            names = [_label(r) for r in data.get(kind, []) if skill_id in r.get(key, [])]
            if names:
                users.append(Message(sentence, names=_and(names)))
        if users:
            raise MapError([Message(N_("%(skill)s cannot be deleted: %(users)s. Take it out of them first."),
                                    skill=_label(skill, "name"), users=_joined(users))])
        data["skills"].remove(skill)
        return skill["name"]

    return _change(course_id, apply, now)


def save_unit(course_id: int, unit_id: str | None, values: Values, *, now: datetime) -> str:
    """Add or change a unit: a titled group of skills; return its id."""
    def apply(data: dict[str, Any]) -> str:
        record = {"title": _text(values, "title"), "description": _text(values, "description"),
                  "skills": _ids(values, "skills")}
        return _upsert(data, "units", unit_id, record, record["title"], "unit")

    return _change(course_id, apply, now, edits="units")


def save_goal(course_id: int, goal_id: str | None, values: Values, *, now: datetime) -> str:
    """Add or change a course goal: skills to reach, by an optional date; return its id."""
    def apply(data: dict[str, Any]) -> str:
        record = {"title": _text(values, "title"), "description": _text(values, "description"),
                  "skills": _ids(values, "skills"), "due": _text(values, "due").strip() or None}
        return _upsert(data, "goals", goal_id, record, record["title"], "goal")

    return _change(course_id, apply, now, edits="goals")


def save_activity(course_id: int, activity_id: str | None, values: Values, *, now: datetime) -> str:
    """Add or change an activity; a new practice activity comes with its first question. Return its id."""
    problems: list[str] = []

    def apply(data: dict[str, Any]) -> str:
        kind = _text(values, "kind")
        # The pack's reader refuses a link that is not a web address; _on_form says so next to the field.
        url = _text(values, "url").strip() or None
        record: dict[str, Any] = {
            "title": _text(values, "title"), "kind": kind, "modality": _text(values, "modality").strip(),
            "skills": _ids(values, "skills"), "url": url, "instructions": _text(values, "instructions"),
        }
        if activity_id is not None:
            existing = _record(data, "activities", activity_id, "activity")
            record["items"] = [_follow(item, existing.get("skills", []), record["skills"])
                               for item in existing.get("items", [])]
        saved_id = _upsert(data, "activities", activity_id, record, record["title"], "activity")
        if activity_id is None:
            items = []
            if kind == "practice":
                item, item_problems = _item_record(values, saved_id, _item_ids(data, course_id), default_skills=True)
                problems.extend(item_problems)
                items.append(item)
            _record(data, "activities", saved_id, "activity")["items"] = items
        return saved_id

    return _change(course_id, apply, now, problems, edits="activities")


def save_item(course_id: int, activity_id: str, item_id: str | None, values: Values, *, now: datetime) -> str:
    """Add or change a question of a practice activity; return its id."""
    problems: list[str] = []

    def apply(data: dict[str, Any]) -> str:
        activity = _record(data, "activities", activity_id, "activity")
        if activity["kind"] != "practice":
            raise MapError([Message(N_("Only practice activities hold questions, and %(title)s is a %(kind)s."),
                                    title=_label(activity, "title"), kind=activity["kind"])])
        items = activity.setdefault("items", [])
        existing = _record({"items": items}, "items", item_id, "question") if item_id is not None else None
        prefix = activity_id if item_id is None else None
        record, item_problems = _item_record(values, prefix, _item_ids(data, course_id))
        problems.extend(item_problems)
        if existing is None:
            items.append(record)
        else:
            record["id"] = existing["id"]
            # The form edits the English only: the translations that still fit the edited question stay.
            kept = item_translations_that_fit(record, existing.get("translations", {}))
            if kept:
                record["translations"] = kept
            items[items.index(existing)] = record
        return record["id"]

    return _change(course_id, apply, now, problems, edits="items")


def delete_item(course_id: int, activity_id: str, item_id: str, *, confirmed: bool, now: datetime) -> str:
    """Remove a question; students' earlier answers to it stay in their records."""
    _require_confirmed(confirmed)
    def apply(data: dict[str, Any]) -> str:
        activity = _record(data, "activities", activity_id, "activity")
        item = _record({"items": activity.get("items", [])}, "items", item_id, "question")
        activity["items"].remove(item)
        return item["prompt"]

    return _change(course_id, apply, now)


def delete_record(course_id: int, kind: str, record_id: str, *, confirmed: bool, now: datetime) -> str:
    """Remove a unit, an activity (with its questions) or a goal; return its title."""
    _require_confirmed(confirmed)
    plural = {"unit": "units", "activity": "activities", "goal": "goals"}.get(kind)
    if plural is None:
        raise NotFound(N_("There is no such part of the course map."))

    def apply(data: dict[str, Any]) -> str:
        record = _record(data, plural, record_id, kind)
        data[plural].remove(record)
        return record["title"]

    return _change(course_id, apply, now)


def import_file(course_id: int, filename: str, raw: bytes, *, now: datetime) -> ImportResult:
    """Import a course pack (replaces the content), or merge a Moodle competency CSV or CASE package's skills."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MapError([Message(N_("The file is not UTF-8 text; save it as UTF-8 and upload it again."))]) from None
    if not text.strip():
        raise MapError([Message(N_("The file is empty."))])
    first_line = text.lstrip().split("\n", 1)[0]
    if filename.lower().endswith(".csv") or ("ID number" in first_line and "Short name" in first_line):
        try:
            imported = read_competency_csv(text)
        except CompetencyCsvError as exc:
            raise MapError(exc.problems) from exc
        return _merge_skills(course_id, imported, N_("Moodle competency CSV"), now)
    try:
        document = decode_json(text)
    except json.JSONDecodeError as exc:
        raise MapError([Message(N_("The file is neither JSON (a course pack or a CASE package) nor a Moodle "
                                   "competency CSV: line %(line)s, column %(column)s: %(error)s."),
                                line=exc.lineno, column=exc.colno, error=json_error(exc))]) from None
    except CoursePackError as exc:
        raise MapError(exc.problems) from None
    if isinstance(document, dict) and {"CFPackage", "CFDocument", "CFItems"} & set(document):
        try:
            imported = read_case_package(document)
        except CasePackageError as exc:
            raise MapError(exc.problems) from exc
        return _merge_skills(course_id, imported, N_("CASE package"), now)
    if not isinstance(document, dict):
        raise MapError([Message(N_("A course pack is a JSON object; this file is not."))])
    pack = _save(course_id, document, now)
    return ImportResult(pack=pack, source=N_("course pack"), merged=False, skills_added=len(pack.skills))


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _change(course_id: int, apply: Callable[[dict[str, Any]], str], now: datetime,
            problems: Sequence[str] = (), edits: str | None = None) -> str:
    """Apply a change to a copy of the pack and save it; `problems` (filled by apply) are reported with the pack's.

    `edits` says what the form edits ("skills", "items", "course" …): the pack's problems with the record apply
    returns the id of are about the form's own fields, and are told as such (FieldProblem).

    The pack is read under its row's lock (`locked_content`) and written back in the same transaction: a teacher
    saving while another's save is under way waits for it and changes the pack it saved, so neither change is lost.
    """
    with locked_content(course_id) as content:
        if content is None:
            raise NotFound(N_("This course has no content yet: start an empty course or import a course pack "
                              "first."))
        # A deep copy: the stored document must stay untouched when the change is refused.
        data = copy.deepcopy(content.pack)
        drop_unsafe_links(data)  # as students see it: an old unsafe link must not block every edit
        result = apply(data)
        _save(course_id, data, now, problems, _edited(data, edits, result))
    return result


def _save(course_id: int, data: dict[str, Any], now: datetime, problems: Sequence[str] = (),
          edited: Mapping[str, str] | None = None) -> CoursePack:
    found = list(problems)
    try:
        load_pack(data)
    except CoursePackError as exc:
        found += [_plain(problem, data, edited or {}) for problem in exc.problems]
    if found:
        # The teacher sees the form's own problems and the pack's together, so one correction round suffices.
        raise MapError(found)
    return import_pack(course_id, data, now=now)


def _merge_skills(course_id: int, imported: ImportedSkills, source: str, now: datetime) -> ImportResult:
    # Read under the content's lock, as `_change`: skills merged while a teacher edits the map keep the edit.
    with locked_content(course_id) as content:
        return _merge_into(content, course_id, imported, source, now)


def _merge_into(content: CourseContent | None, course_id: int, imported: ImportedSkills, source: str,
                now: datetime) -> ImportResult:
    if content is None:
        title = imported.title or (db.session.get(Course, course_id).title or "Course")
        data = dump_pack(ImportedSkills(title, imported.description, imported.skills, imported.units).to_pack())
        merged = False
    else:
        data = copy.deepcopy(content.pack)
        clashes = []
        for plural, records in (("skills", imported.skills), ("units", imported.units)):
            have = {r["id"] for r in data.get(plural, [])}
            sentence = N_("skill %(id)s") if plural == "skills" else N_("unit %(id)s")
            clashes += [Message(sentence, id=repr(r.id)) for r in records if r.id in have]
        if clashes:
            raise MapError([Message(N_("Nothing was imported: the course already has %(clashes)s with the same id. "
                                       "Delete or rename those in the file (or in the course map) and import "
                                       "again."), clashes=_and(clashes))])
        data.setdefault("skills", []).extend(
            {"id": s.id, "name": s.name, "description": s.description, "prerequisites": list(s.prerequisites)}
            for s in imported.skills
        )
        data.setdefault("units", []).extend(
            {"id": u.id, "title": u.title, "description": u.description, "skills": list(u.skills)}
            for u in imported.units
        )
        merged = True
    pack = _save(course_id, data, now)
    return ImportResult(pack=pack, source=source, merged=merged, skills_added=len(imported.skills),
                        notes=imported.notes)


def _follow(item: dict[str, Any], old_skills: list[str], new_skills: list[str]) -> dict[str, Any]:
    """Keep a question's skills within its activity's after the activity's skills change."""
    skills = item.get("skills", [])
    if not new_skills or set(skills) == set(old_skills):
        # Questions that practised all the activity's skills go on doing so.
        return {**item, "skills": list(new_skills)} if new_skills else item
    kept = [skill for skill in skills if skill in new_skills]
    return {**item, "skills": kept or list(new_skills)}


def _item_record(values: Values, id_prefix: str | None, taken: set[str],
                 default_skills: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Build an item document from the form; id_prefix None keeps the caller's id."""
    problems: list[str] = []
    item_type = _text(values, "type")
    if item_type not in ITEM_TYPES:
        problems.append(Message(N_("Choose the kind of question: multiple choice, number or short text.")))
    record: dict[str, Any] = {"id": "", "type": item_type, "prompt": _text(values, "prompt")}
    if id_prefix is not None:
        record["id"] = _unique(f"{id_prefix}-q", taken, always_number=True)
    skills = [] if default_skills else _ids(values, "skills")
    if skills:
        record["skills"] = skills
    difficulty = _text(values, "difficulty").strip() or "medium"
    if difficulty in DIFFICULTY_LABELS:
        record["difficulty"] = difficulty
    else:
        number = _number(difficulty)
        if number is None:
            problems.append(Message(N_("Difficulty should be easy, medium or hard.")))
        record["difficulty"] = number if number is not None else "medium"
    if item_type == "multiple_choice":
        choices, answer, choice_problems = _choices(_text(values, "choices"), _text(values, "answer"))
        problems += choice_problems
        record.update(choices=choices, answer=answer)
    elif item_type == "numeric":
        answer, tolerance = _number(_text(values, "numeric_answer")), _number(_text(values, "tolerance") or "0")
        if answer is None:
            problems.append(FieldProblem("numeric_answer", N_("The answer should be a number, such as 12, 0.75 or "
                                                              "-3.5.")))
        if tolerance is None or tolerance < 0:
            problems.append(FieldProblem("tolerance", N_("The tolerance should be zero or a positive number (how "
                                                         "far off an answer may be).")))
        record.update(answer=answer if answer is not None else 0, tolerance=tolerance if tolerance else 0,
                      unit=_text(values, "unit").strip() or None)
    elif item_type == "short_text":
        record["answers"] = _lines(_text(values, "answers"))
    record["hints"] = _lines(_text(values, "hints"))
    record["solution"] = _text(values, "solution").strip()
    return record, problems


_CHOICE = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,7}):\s+(.+)")


def _choices(text: str, answer: str) -> tuple[list[dict[str, str]], str, list[str]]:
    """Read one choice per line ("b: 3/4" keeps the id b; "*" marks the right one) and find the right choice."""
    parsed: list[tuple[str | None, str, bool]] = []
    for line in _lines(text):
        marked = line.startswith("*")
        line = line.removeprefix("*").strip()
        match = _CHOICE.fullmatch(line)
        parsed.append((match.group(1), match.group(2).strip(), marked) if match else (None, line, marked))
    used = {identifier for identifier, _, _ in parsed if identifier}
    letters = (chr(code) for code in range(ord("a"), ord("z") + 1))
    choices = []
    for identifier, choice_text, _ in parsed:
        if identifier is None:
            identifier = next((letter for letter in letters if letter not in used), None) or _unique("c", used, True)
            used.add(identifier)
        choices.append({"id": identifier, "text": choice_text})
    ids = [c["id"] for c in choices]
    marked_ids = [c["id"] for c, (_, _, marked) in zip(choices, parsed, strict=True) if marked]
    answer = answer.strip()
    if marked_ids:
        right = marked_ids[0]
    elif answer in ids:
        right = answer
    elif answer.isdecimal() and len(answer) <= 4 and 1 <= int(answer) <= len(ids):  # not isdigit(): "²" passes it
        right = ids[int(answer) - 1]
    else:
        right = next((c["id"] for c in choices if c["text"].casefold() == answer.casefold() and answer), "")
    problems = []
    if len(choices) >= 2 and not right:
        problems.append(FieldProblem("answer", N_("Say which choice is right: write its letter (a, b …) or its "
                                                  "number in “Right choice”, or start its line with *.")))
        # A stand-in, so the pack check does not report the same missing answer a second time.
        right = ids[0]
    return choices, right, problems


def _upsert(data: dict[str, Any], plural: str, record_id: str | None, record: dict[str, Any], title: str,
            what: str, reserved: Iterable[str] = ()) -> str:
    records = data.setdefault(plural, [])
    if record_id is None:
        # A double click (or a reload of the form's answer) adds the same record twice; the second save, made
        # under the pack's lock, finds the first one's instead of adding a copy the map cannot tell apart.
        base = _slug(title, what)
        same = next((r for r in records if re.fullmatch(re.escape(base) + r"(-[0-9]+)?", str(r.get("id")))
                     and all((r.get(k) or None) == (v or None) for k, v in record.items())), None)
        if same is not None:
            return same["id"]
        taken = {r["id"] for r in records} | set(reserved)
        new = {"id": _unique(base, taken), **record}
        records.append(new)
        return new["id"]
    existing = _record(data, plural, record_id, what)
    existing.update(record)
    return record_id


#: "This course has no <what> with the id …", a whole sentence per kind so each language words it its own way.
_MISSING = {
    "skill": N_("This course has no skill with the id %(id)s; it may have been deleted."),
    "unit": N_("This course has no unit with the id %(id)s; it may have been deleted."),
    "activity": N_("This course has no activity with the id %(id)s; it may have been deleted."),
    "goal": N_("This course has no goal with the id %(id)s; it may have been deleted."),
    "question": N_("This course has no question with the id %(id)s; it may have been deleted."),
}


def _record(data: Mapping[str, Any], plural: str, record_id: str | None, what: str) -> dict[str, Any]:
    found = next((r for r in data.get(plural, []) if r.get("id") == record_id), None)
    if found is None:
        raise NotFound(_MISSING[what], id=repr(record_id))
    return found


def _find(records: Iterable[Any], record_id: str | None, what: str) -> Any:
    found = next((r for r in records if r.id == record_id), None)
    if found is None:
        raise NotFound(_MISSING[what], id=repr(record_id))
    return found


def _used_skill_ids(course_id: int) -> set[str]:
    # A new skill must not take over a deleted skill's id, or it would inherit that skill's mastery records.
    return set(db.session.scalars(sa.select(SkillMastery.skill_id).where(SkillMastery.course_id == course_id)
                                  .distinct()))


def _item_ids(data: Mapping[str, Any], course_id: int) -> set[str]:
    answered = db.session.scalars(sa.select(ItemResponse.item_id).where(ItemResponse.course_id == course_id)
                                  .distinct())
    return {i["id"] for a in data.get("activities", []) for i in a.get("items", [])} | set(answered)


def _slug(text: str, fallback: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:40].strip("-") or fallback


def _unique(base: str, taken: set[str], always_number: bool = False) -> str:
    number = 1 if always_number else 2
    candidate = f"{base}-{number}" if always_number else base
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _text(values: Values, key: str) -> str:
    value = values.get(key, "")
    return value if isinstance(value, str) else ""


def _ids(values: Values, key: str) -> list[str]:
    value = values.get(key, [])
    entries = [value] if isinstance(value, str) else list(value or [])
    return list(dict.fromkeys(v for v in entries if isinstance(v, str) and v))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _number(text: str) -> int | float | None:
    text = text.strip().replace("\u2212", "-")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) and abs(value) < 1e15 else str(value)


def _label(record: Mapping[str, Any], key: str | None = None) -> str:
    """Return a record's name in quotes (its title, else its id), as the teacher sees it in the map."""
    if key is not None:
        return f"“{record[key]}”"
    return f"“{record.get('name') or record.get('title') or record.get('id')}”"


def _and(names: Sequence[str]) -> str:
    """Return "A, B and C": a Message, so each language writes its own "and" (the i18n pages' "%(rest)s and
    %(last)s")."""
    if len(names) == 1:
        return names[0]
    return Message(N_("%(rest)s and %(last)s"), rest=_listed(names[:-1]), last=names[-1])


def _listed(names: Sequence[str]) -> str:
    # Names joined by commas; a name that is a Message ("skill 'x'") is kept one, to be translated on the page.
    if len(names) == 1:
        return names[0]
    return Message(N_("%(first)s, %(rest)s"), first=names[0], rest=_listed(names[1:]))


def _joined(parts: Sequence[str]) -> str:
    """Return the parts joined by semicolons, each still a Message."""
    if len(parts) == 1:
        return parts[0]
    return Message(N_("%(first)s; %(rest)s"), first=parts[0], rest=_joined(parts[1:]))


_LOCATION = re.compile(r"(skills|units|activities|goals)\[(\d+)\](?:\.items\[(\d+)\])?([^:\s]*)", re.S)
_CIRCLE = "Skills cannot depend on each other in a circle: "
#: A place in the map, in the teacher's words: the kind of record and its name.
_PLACES = {"skills": N_("Skill %(name)s"), "units": N_("Unit %(name)s"), "activities": N_("Activity %(name)s"),
           "goals": N_("Goal %(name)s")}
#: Course-pack fields a problem names, in the teacher's words (a path such as "translations.es.name" stays as is).
_FIELDS = {
    "id": N_("id"), "name": N_("name"), "title": N_("title"), "description": N_("description"),
    "subject": N_("subject"), "grade_level": N_("grade level"), "prerequisites": N_("prerequisites"),
    "skills": N_("skills"), "kind": N_("kind"), "modality": N_("modality"), "url": N_("url"),
    "instructions": N_("instructions"), "items": N_("items"), "due": N_("due"), "type": N_("type"),
    "prompt": N_("prompt"), "choices": N_("choices"), "answer": N_("answer"), "answers": N_("answers"),
    "tolerance": N_("tolerance"), "unit": N_("unit"), "hints": N_("hints"), "solution": N_("solution"),
    "difficulty": N_("difficulty"), "parameters": N_("parameters"), "constraints": N_("constraints"),
}


def _field(path: str) -> str:
    return Message(_FIELDS[path]) if path in _FIELDS else path.replace("_", " ")


#: Fields of the pack the editor's forms show as text fields of the same name (id f-<name>): a problem with one of
#: them in the record being edited is tied to the field.
_FORM_FIELDS = frozenset({"name", "title", "description", "subject", "grade_level", "modality", "url",
                          "instructions", "due", "prompt", "choices", "answers", "hints", "solution", "tolerance",
                          "unit"})
#: An empty required field, in a sentence that says what to do (the pack's own "should not be empty" names ids).
_EMPTY = {("skills", "name"): N_("Give the skill a name."), ("units", "title"): N_("Give the unit a title."),
          ("activities", "title"): N_("Give the activity a title."), ("goals", "title"): N_("Give the goal a title."),
          ("course", "title"): N_("Give the course a title."), ("items", "prompt"): N_("Write the question.")}
_EMPTY_TEMPLATE = "should not be empty"


def _edited(data: Mapping[str, Any], edits: str | None, record_id: str) -> dict[str, str]:
    """Return the pack locations of the record a form edits ("skills[3]"), each with what it is ("skills")."""
    if edits == "course":
        return {"course": "course"}
    located: dict[str, str] = {}
    if edits == "items":
        for a, activity in enumerate(data.get("activities", [])):
            for i, item in enumerate(activity.get("items", [])):
                if item.get("id") == record_id:
                    located[f"activities[{a}].items[{i}]"] = "items"
        return located
    for index, record in enumerate(data.get(edits or "", [])):
        if record.get("id") == record_id:
            located[f"{edits}[{index}]"] = edits
            # A new practice activity's form holds its first question too.
            if edits == "activities" and len(record.get("items", [])) == 1:
                located[f"{edits}[{index}].items[0]"] = "items"
    return located


def _on_form(where: str, message: str, edited: Mapping[str, str]) -> FieldProblem | None:
    """Return the problem as one with a field of the form, when it is about one; else None."""
    for prefix, kind in edited.items():
        field = where.removeprefix(prefix + ".") if where.startswith(prefix + ".") else None
        if field in _FORM_FIELDS:
            if getattr(message, "template", None) == _EMPTY_TEMPLATE and (kind, field) in _EMPTY:
                return FieldProblem(field, _EMPTY[(kind, field)])
            if getattr(message, "template", None) == NOT_A_WEB_ADDRESS:  # the form shows the value already
                return FieldProblem(field, N_("The link should be a web address starting with http:// or https://."))
            return FieldProblem(field, N_("Field “%(field)s”: %(problem)s"), field=_field(field),
                                problem=message)
    return None


def _plain(problem: str, data: Mapping[str, Any], edited: Mapping[str, str] | None = None) -> str:
    """Turn a pack location ("activities[2].items[0].answer: …") into names a teacher knows.

    The result is a Message the editor shows in the teacher's language; a problem from a reader that keeps no
    location (plain text) is returned as it is. A problem with a field of the record being edited (`edited`, see
    `_edited`) is a FieldProblem that names only the field: the teacher is looking at the record.
    """
    where, message = getattr(problem, "where", None), getattr(problem, "message", problem)
    if where is None:
        return problem
    on_form = _on_form(where, message, edited or {})
    if on_form is not None:
        return on_form
    if where == "skills":
        if message.startswith(_CIRCLE):
            names = {s.get("id"): s.get("name") or s.get("id") for s in data.get("skills", []) if isinstance(s, dict)}
            loop = message.split(_CIRCLE, 1)[1].split(" → ")
            return Message(N_("Skills cannot depend on each other in a circle: %(circle)s"),
                           circle=" → ".join(f"“{names.get(skill_id, skill_id)}”" for skill_id in loop))
        return message
    if where.startswith("course."):
        return Message(N_("Course (%(field)s): %(problem)s"), field=_field(where.removeprefix("course.")),
                       problem=message)
    match = _LOCATION.fullmatch(where)
    if match is None:
        return problem
    plural, index, item_index, rest = match.groups()
    records = data.get(plural, [])
    record = records[int(index)] if isinstance(records, list) and int(index) < len(records) else {}
    place = Message(_PLACES[plural], name=_label(record) if isinstance(record, dict) else index)
    if item_index is not None:
        place = Message(N_("%(place)s, question %(number)s"), place=place, number=int(item_index) + 1)
    field = re.sub(r"\[\d+\]", "", rest).strip(".")
    if field:
        place = Message(N_("%(place)s (%(field)s)"), place=place, field=_field(field))
    return Message(N_("%(place)s: %(problem)s"), place=place, problem=message)
