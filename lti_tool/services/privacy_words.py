"""The readable page of a person's data export: what its codes and ids mean, in the reader's language.

The JSON export (services/privacy.py) keeps codes, ids and English names, for machines and for completeness. Its
HTML page is for people: it names the skills in the reader's language, shows each question's text and the chosen
answer's, the gradebook column a grade went to, and plain words for the codes (`PLAIN_WORDS`). Nothing here
changes the JSON document; these are looked up beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..learning.coursepack import CoursePack, Item, MultipleChoiceItem, instantiate
from ..learning.diagnostic import STUDENT
from ..models import Course
from .content import course_pack
from .errors import N_
from .evidence import EVIDENCE_KINDS
from .grades import column_title
from .mastery import english_to_page_names, standing, stored_reason_parts

#: The words a person reads for each code the export keeps, by what the code is: the one place they are worded.
#: Pages translate them as they show them (the `localized` filter); a code not listed is shown as it is.
PLAIN_WORDS: Mapping[str, Mapping[str, str]] = {
    # LaunchSession.message_type
    "message_type": {
        "LtiResourceLinkRequest": N_("Opened Pathways from the course"),
        "LtiDeepLinkingRequest": N_("Chose Pathways content to add to the course"),
        "DataPrivacyLaunchRequest": N_("Opened the data privacy page from the LMS"),
        "LtiSubmissionReviewRequest": N_("Opened a submission's review from the gradebook"),
    },
    # Enrollment.role, and who viewed or changed the records (privacy._access_log, mastery history's "by")
    "who": {
        "student": N_("student"),
        "teacher": N_("teacher"),
        "administrator": N_("an administrator"),
        "self": N_("the person these records are about"),
        "former member": N_("a former member of the course"),
    },
    # ScoreOutbox.status
    "grade_status": {
        "pending": N_("waiting to be sent"),
        "synced": N_("sent to the gradebook"),
        "failed": N_("could not be sent"),
        "superseded": N_("replaced by a newer grade before it was sent"),
        "nothing_to_clear": N_("not sent: no grade yet, and none in the gradebook to change"),
    },
    # Evidence.status
    "evidence_status": {
        "pending": N_("waiting for the teacher"),
        "accepted": N_("accepted"),
        "returned": N_("returned for more work"),
    },
    # AuditEntry.action, on the person's records
    "action": {
        "view_student": N_("Opened the student's page"),
        "view_answers": N_("Looked at the answers on a skill"),
        "view_report": N_("Opened the family progress report"),
        "comment_report": N_("Wrote a comment on the family progress report"),
        "view_reflections": N_("Read the reflections"),
        "view_evidence_file": N_("Opened an evidence file"),
        "export": N_("Downloaded or viewed these records"),
        "export_course": N_("Downloaded the whole course's data"),
        "delete_student": N_("Deleted the student's data in the course"),
        "delete_course": N_("Deleted the course's data"),
        "purge_course": N_("Deleted the course's data after the retention period"),
    },
    # Evidence.kind: the evidence form's own words
    "evidence_kind": EVIDENCE_KINDS,
    # MasteryEvent.source and ItemResponse.source
    "source": {
        "practice": N_("practice"),
        "review": N_("review"),
        "unit_check": N_("unit check"),
        "diagnostic": N_("placement check"),
        "override": N_("set by a teacher"),
        "evidence": N_("evidence"),
    },
}


@dataclass(frozen=True)
class Answered:
    """One answer as a person reads it: the question's text ("" when the course no longer has it) and the answer's."""

    question: str
    answer: str


@dataclass(frozen=True)
class Reason:
    """Why a level is what it is: the English text kept, and its fragments when Pathways wrote it (for any language)."""

    reason: str
    reason_parts: tuple = ()


@dataclass(frozen=True)
class ReadableCourse:
    """What the page shows beside one course's records, in the record's order."""

    #: Skill id -> name in the reader's language.
    skills: dict[str, str] = field(default_factory=dict)
    #: Skill id -> the current level's reason (the page writes it in the reader's language).
    levels: dict[str, Reason] = field(default_factory=dict)
    #: One per change of `mastery_history`: its reason.
    history: list[Reason] = field(default_factory=list)
    #: One per answer of `responses`.
    answers: list[Answered] = field(default_factory=list)
    #: One per grade of `grades_for_lms`: the gradebook column's title.
    columns: list[str] = field(default_factory=list)
    #: One per question of `questions_served`: its text as shown ("" when the course no longer has it).
    served: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadableExport:
    """A person's export document and, per course (the document's order), what the page shows beside it."""

    document: dict[str, Any]
    courses: list[ReadableCourse]
    words: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: PLAIN_WORDS)
    #: Whether the reader is the person the data is about: a teacher's or administrator's copy must not say "your".
    own: bool = True
    #: One heading per course (the document's order), each different from the others (`course_headings`).
    headings: list[str] = field(default_factory=list)


def readable(document: dict[str, Any], courses: Sequence[Course], person_id: int, language: str, *,
             reader_id: int | None, columns: Sequence[Sequence[tuple[str, str]]]) -> ReadableExport:
    """Return the export with, per course, its texts in `language` (the pack's where it has them).

    `columns`: per course, each grade's (placement title, skill id), as the export read them with its grades.
    """
    found = [_course(record, course, person_id, language, grades)
             for record, course, grades in zip(document["courses"], courses, columns, strict=True)]
    return ReadableExport(document, found, own=reader_id == person_id,
                          headings=course_headings([record["course"] for record in document["courses"]]))


def course_headings(courses: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return a heading per course (its title, else its context id) that no other course in the list shares.

    Each course's section and tables are landmarks named by this heading: two courses with one title (a course
    taught again next year, two sections) would give a screen reader's landmark list the same names twice (axe
    landmark-unique). The LMS's short label tells such courses apart where it differs; a count ("(2)") otherwise.
    """
    bases = [str(course.get("title") or course.get("context_id") or "") for course in courses]
    labels: dict[str, set[str]] = {}
    for base, course in zip(bases, courses, strict=True):
        labels.setdefault(base, set()).add(str(course.get("label") or ""))
    # A label shared by the whole group tells nothing apart: only labels that differ are added.
    headings = [
        f"{base} ({course['label']})" if len(labels[base]) > 1 and course.get("label") else base
        for base, course in zip(bases, courses, strict=True)
    ]
    seen: dict[str, int] = {}
    numbered = []
    for heading in headings:
        if headings.count(heading) > 1:
            seen[heading] = seen.get(heading, 0) + 1
            heading = f"{heading} ({seen[heading]})"
        numbered.append(heading)
    return numbered


def _course(record: dict[str, Any], course: Course, person_id: int, language: str,
            grades: Sequence[tuple[str, str]]) -> ReadableCourse:
    pack = course_pack(course.id, language)
    columns = [column_title(course.id, title, skill_id) for title, skill_id in grades]
    if pack is None:
        return ReadableCourse(columns=columns)
    # Stored reasons name skills in English: the reader's names instead, where Pathways wrote the sentence.
    names = english_to_page_names(course.id, pack)
    levels = {view.skill_id: _reason(view.reason, "override" if view.overridden else "", names, view.reason_parts)
              for view in standing(course.id, person_id, language).views()}
    history = [_reason(e["reason"] or "", e["source"], names) for e in record["mastery_history"]]
    served = [item.prompt if (item := _shown(pack, s["item_id"], s["parameters"])) else ""
              for s in record["questions_served"]]
    return ReadableCourse({s.id: s.name for s in pack.skills}, levels, history, _answers(record, pack), columns,
                          served=served)


def _reason(text: str, source: str, names: Mapping[str, str], parts: tuple = ()) -> Reason:
    """Return a stored reason with its fragments, read back from the English Pathways wrote (() for other text)."""
    return Reason(text, parts or stored_reason_parts(text, source, STUDENT, names))


def _shown(pack: CoursePack, item_id: str, params: dict | None) -> Item | None:
    """Return the question as the student saw it (a template with their numbers), or None when that is not known."""
    try:
        item = pack.item(item_id)
    except KeyError:
        return None  # no longer in the course
    if item.parameters and not params:
        return None  # a template's numbers are not known
    return instantiate(item, params or {})


def _answers(record: dict[str, Any], pack: CoursePack) -> list[Answered]:
    # A template's numbers are kept with the question served: the answer that closed it has its item and time.
    params = {(s["item_id"], s["answered_at"]): s["parameters"] or {} for s in record["questions_served"]
              if s["answered_at"]}
    answers = []
    for response in record["responses"]:
        item = _shown(pack, response["item_id"], params.get((response["item_id"], response["answered_at"])))
        if item is None:
            answers.append(Answered("", response["answer"]))
            continue
        answer = response["answer"]
        if isinstance(item, MultipleChoiceItem):
            answer = next((c.text for c in item.choices if c.id == answer), answer)
        answers.append(Answered(item.prompt, answer))
    return answers
