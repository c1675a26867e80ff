"""Skills to and from Moodle competency-framework CSV (the format of Moodle's tool_lpimportcsv).

Moodle reads the columns by position and its export writes them in this order with these English headers.
Mapping (also in lti_tool/demo/COURSEPACK.md):

- "ID number" is the skill id, "Short name" its name, "Description" its description (HTML descriptions,
  "Description format" 1, are turned into plain text; Pathways writes format 2, plain text).
- "Parent ID number" is Moodle's hierarchy, which groups competencies; it is not an order of learning. A
  competency with children becomes a unit of its leaf children, and only leaves become skills.
- "Cross-referenced competency ID numbers" holds a skill's prerequisites: it is Moodle's only column that links
  one competency to another. Moodle keeps cross-references in both directions, so a pair that lists each other
  says nothing about which comes first and is not read as a prerequisite (the import notes it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from html.parser import HTMLParser

from lti_tool.learning.coursepack import ImportedSkills, Unit
from lti_tool.learning.messages import N_, Message, Problem
from lti_tool.learning.skills import Skill, SkillGraph, SkillGraphError

MOODLE_HEADERS = (
    "Parent ID number",
    "ID number",
    "Short name",
    "Description",
    "Description format",
    "Scale values",
    "Scale configuration",
    "Rule type (optional)",
    "Rule outcome (optional)",
    "Rule config (optional)",
    "Cross-referenced competency ID numbers",
    "Exported ID (optional)",
    "Is framework",
    "Taxonomy",
)
(
    _PARENT,
    _ID,
    _NAME,
    _DESCRIPTION,
    _FORMAT,
    _SCALE,
    _SCALE_CONFIG,
    _RULE_TYPE,
    _RULE_OUTCOME,
    _RULE_CONFIG,
    _RELATED,
    _EXPORT_ID,
    _IS_FRAMEWORK,
    _TAXONOMY,
) = range(len(MOODLE_HEADERS))

# Moodle's text formats (FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN).
_FORMAT_HTML = "1"
_FORMAT_PLAIN = "2"
# A framework needs a scale for Moodle to import it; this is Moodle's own default two-step scale, with
# "Competent" (item 2) as both the default and the proficient value.
_DEFAULT_SCALE = "Not yet competent,Competent"
_DEFAULT_SCALE_CONFIG = '[{"scaleid":"2"},{"id":2,"scaledefault":1,"proficient":1}]'


class CompetencyCsvError(ValueError):
    """A competency CSV that cannot be read; `problems` lists every problem, each with its row."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("The competency CSV cannot be imported:\n" + "\n".join(f"- {p}" for p in problems))


def write_competency_csv(
    skills: Iterable[Skill], *, framework_id: str, framework_name: str, description: str = ""
) -> str:
    """Return the skills as a Moodle competency framework CSV, prerequisites as cross-references.

    Cells are written as they are, formula-like ones (=, +, -, @) too, unlike the class export's
    (services/classroom.py class_csv): this file is for Moodle's importer, which keeps every character, so a quote
    put before "- add and subtract" would become part of the competency's name, and one before an ID number would
    no longer match the cross-references naming it. It holds only the course's content, written by its teachers or
    imported by them, and no one's personal data; Moodle's own competency export hands its writer the
    cells as they are too.
    """
    out = io.StringIO()
    # Moodle's own export (PHP fputcsv) ends lines with "\n" and quotes only where needed.
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MOODLE_HEADERS)
    framework = [""] * len(MOODLE_HEADERS)
    framework[_ID] = framework_id
    framework[_NAME] = framework_name
    framework[_DESCRIPTION] = description
    framework[_FORMAT] = _FORMAT_PLAIN
    framework[_SCALE] = _DEFAULT_SCALE
    framework[_SCALE_CONFIG] = _DEFAULT_SCALE_CONFIG
    framework[_IS_FRAMEWORK] = "1"
    framework[_TAXONOMY] = "competency"
    writer.writerow(framework)
    for skill in skills:
        row = [""] * len(MOODLE_HEADERS)
        row[_ID] = skill.id
        row[_NAME] = skill.name
        row[_DESCRIPTION] = skill.description
        row[_FORMAT] = _FORMAT_PLAIN
        row[_RULE_OUTCOME] = "0"
        row[_RULE_CONFIG] = "null"
        # Moodle escapes commas inside an id number as %2C in this comma-separated column.
        row[_RELATED] = ",".join(p.replace(",", "%2C") for p in skill.prerequisites)
        writer.writerow(row)
    return out.getvalue()


def read_competency_csv(text: str) -> ImportedSkills:
    """Read a Moodle competency framework CSV into skills and units, or raise CompetencyCsvError."""
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    if not rows:
        raise CompetencyCsvError([Message(N_("the file is empty"))])
    problems: list[str] = []
    notes: list[str] = []
    title = description = ""
    found_framework = False
    # id -> (row label, parent id, name, description, raw cross-references), in file order.
    competencies: dict[str, tuple[str, str, str, str, str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = Message(N_("row %(number)s"), number=number)
        cells = row + [""] * (len(MOODLE_HEADERS) - len(row))
        if cells[_IS_FRAMEWORK].strip().lower() in ("1", "true", "yes"):
            if found_framework:
                problems.append(Problem(where, Message(N_("a second framework row; one file holds one framework"))))
            found_framework = True
            title = cells[_NAME].strip() or cells[_ID].strip()
            description = _description(cells[_DESCRIPTION], cells[_FORMAT])
            continue
        identifier, name = cells[_ID].strip(), cells[_NAME].strip()
        if not identifier:
            problems.append(Problem(where, Message(N_("the competency has no ID number"))))
            continue
        if not name:
            problems.append(Problem(where, Message(N_("the competency %(id)s has no short name"), id=repr(identifier))))
        if identifier in competencies:
            problems.append(Problem(where, Message(N_("the ID number %(id)s is already used in %(place)s"),
                                                    id=repr(identifier), place=competencies[identifier][0])))
            continue
        competencies[identifier] = (
            where,
            cells[_PARENT].strip(),
            name,
            _description(cells[_DESCRIPTION], cells[_FORMAT]),
            cells[_RELATED],
        )
    if not found_framework:
        problems.append(Message(N_(
            "no row has 'Is framework' set to 1; export the whole framework from Moodle "
            "(Site administration > Competencies > Export competency framework)"
        )))

    children: dict[str, list[str]] = {}
    for identifier, (where, parent, *_rest) in competencies.items():
        if parent and parent not in competencies:
            notes.append(Problem(where, Message(N_("parent %(parent)s of %(id)s is not in the file; read it as "
                                                     "top-level"), parent=repr(parent), id=repr(identifier))))
        elif parent:
            children.setdefault(parent, []).append(identifier)
    leaves = [c for c in competencies if c not in children]

    related = {c: _split_related(competencies[c][4]) for c in competencies}
    skills = []
    for identifier in leaves:
        where, _parent, name, text, _raw = competencies[identifier]
        prerequisites = []
        for other in related[identifier]:
            if other == identifier:
                continue
            if other not in competencies:
                notes.append(Problem(where, Message(N_("%(id)s cross-references %(other)s, which is not in the file"),
                                                     id=repr(identifier), other=repr(other))))
            elif other in children:
                notes.append(Problem(where, Message(N_("%(id)s cross-references the group %(other)s, not a skill; left "
                                                        "out"), id=repr(identifier), other=repr(other))))
            elif identifier in related[other]:
                if identifier < other:
                    notes.append(Message(
                        N_("%(id)s and %(other)s cross-reference each other, so neither is taken as a "
                           "prerequisite of the other"), id=repr(identifier), other=repr(other)))
            elif other not in prerequisites:
                prerequisites.append(other)
        skills.append(Skill(identifier, name, text, tuple(prerequisites)))

    units = tuple(
        Unit(
            id=parent,
            title=competencies[parent][2],
            description=competencies[parent][3],
            skills=tuple(c for c in kids if c not in children),
        )
        for parent, kids in children.items()
        if any(c not in children for c in kids)
    )
    if not problems:
        try:
            SkillGraph(skills)
        except SkillGraphError as error:
            problems.append(error.args[0])  # a Message: pages translate it
    if problems:
        raise CompetencyCsvError(problems)
    return ImportedSkills(title=title, description=description, skills=tuple(skills), units=units, notes=tuple(notes))


def _split_related(raw: str) -> list[str]:
    return [part.strip().replace("%2C", ",") for part in raw.split(",") if part.strip()]


def _description(text: str, text_format: str) -> str:
    if text_format.strip() == _FORMAT_HTML:
        return _html_to_text(text)
    return text


class _TextCollector(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        # Line breaks in the HTML source are only the editor wrapping a paragraph: they are spaces.
        self.parts.append(re.sub(r"\s+", " ", data))


def _html_to_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = [re.sub(r" +", " ", line).strip() for line in "".join(collector.parts).split("\n")]
    return "\n".join(line for line in lines if line)
