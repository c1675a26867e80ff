"""What a student actually answered: one student's answers on one skill, and a skill's most-missed questions.

Every query is scoped to the launch's course, and to students enrolled in it; reading needs VIEW_CLASS.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import CoursePack, Item, instantiate
from ..learning.diagnostic import TEACHER
from ..learning.item_templates import TemplateError
from ..learning.mastery import Level
from ..learning.translations import BASE_LANGUAGE
from ..models import AuditEntry, Enrollment, ItemResponse, MasteryEvent, Person, ServedItem, SkillMastery
from .classroom import require_student
from .errors import NotFound
from .mastery import english_to_page_names, require_pack, stored_reason_parts
from .permissions import Action, Actor, may, require

#: Beyond this gap the previous answer was another sitting, so the gap says nothing about this question.
SAME_SITTING = timedelta(minutes=30)
#: Wrong answers shown per most-missed question.
COMMON_WRONG = 3


@dataclass(frozen=True)
class AnswerEntry:
    """One answer as the teacher reads it."""

    at: datetime
    prompt: str
    answer: str
    correct: bool
    hints_used: int
    #: Seconds from showing the question to the answer (or since the previous answer in the same sitting).
    seconds: int | None
    source: str
    credited: bool


@dataclass(frozen=True)
class LevelChange:
    """A change of level between answers, with its reason."""

    at: datetime
    old_level: Level
    new_level: Level
    source: str
    reason: str
    note_to_student: str = ""
    #: The reason's fragments, for a page in another language (`reason_text`); () when written by a person.
    reason_parts: tuple = ()


@dataclass(frozen=True)
class AnswerHistory:
    """A student's answers on one skill in order, with the level changes between them."""

    person_id: int
    name: str
    skill_id: str
    skill_name: str
    level: Level
    #: AnswerEntry and LevelChange, oldest first.
    timeline: list[AnswerEntry | LevelChange]
    answered: int
    right: int
    may_override: bool



def _skill_name(pack: CoursePack, skill_id: str) -> str:
    name = next((s.name for s in pack.skills if s.id == skill_id), None)
    if name is None:
        raise NotFound("That skill is not part of this course.")
    return name


def _item(pack: CoursePack, item_id: str, params: dict | None) -> Item | None:
    try:
        return instantiate(pack.item(item_id), params or {})
    except (KeyError, TemplateError):
        return None  # the teacher replaced the pack since this question was answered


def _shown_answer(item: Item | None, answer: str) -> str:
    # A multiple-choice answer is stored as the choice's id; the teacher wants the words the student picked.
    if item is not None and item.type == "multiple_choice":
        text = next((c.text for c in item.choices if c.id == answer), None)
        if text is not None:
            return text
    return answer


def answer_history(course_id: int, platform_id: int, person_id: int, skill_id: str, *, actor: Actor,
                   now: datetime, language: str = BASE_LANGUAGE) -> AnswerHistory:
    """Return every answer a student gave on a skill, with the level changes between them; the view is audited.

    The skill and the questions are named in `language` (the pack's translations, English where it has none), as
    the student saw them.
    """
    require(actor, Action.VIEW_CLASS)
    pack = require_pack(course_id, language)
    skill_name = _skill_name(pack, skill_id)
    person = require_student(course_id, platform_id, person_id)
    responses = [
        r for r in db.session.scalars(
            sa.select(ItemResponse)
            .where(ItemResponse.course_id == course_id, ItemResponse.person_id == person.id)
            .order_by(ItemResponse.answered_at, ItemResponse.id)
        )
    ]
    # The served row holds the numbers a template showed and when it was shown; it shares the answer's moment.
    served = {
        (row.item_id, row.answered_at): row for row in db.session.scalars(
            sa.select(ServedItem).where(ServedItem.course_id == course_id, ServedItem.person_id == person.id,
                                        ServedItem.answered_at.is_not(None))
        )
    }
    timeline: list[AnswerEntry | LevelChange] = []
    previous: datetime | None = None
    for response in responses:
        gap = response.answered_at - previous if previous is not None else None
        previous = response.answered_at
        if skill_id not in (response.skill_ids or ()):
            continue
        shown = served.get((response.item_id, response.answered_at))
        item = _item(pack, response.item_id, shown.params if shown else None)
        if shown is not None and shown.served_at is not None:
            seconds = int((response.answered_at - shown.served_at).total_seconds())
        elif gap is not None and gap <= SAME_SITTING:
            seconds = int(gap.total_seconds())
        else:
            seconds = None
        timeline.append(AnswerEntry(
            at=response.answered_at,
            prompt=item.prompt if item is not None else "",  # the page says the question is gone
            answer=_shown_answer(item, response.answer), correct=response.correct,
            hints_used=response.hints_used or 0, seconds=seconds, source=response.source,
            credited=response.credited))
    events = db.session.scalars(
        sa.select(MasteryEvent)
        .where(MasteryEvent.course_id == course_id, MasteryEvent.person_id == person.id,
               MasteryEvent.skill_id == skill_id)
        .order_by(MasteryEvent.at, MasteryEvent.id)
    )
    names = english_to_page_names(course_id, pack) if language != BASE_LANGUAGE else None
    changes = [LevelChange(e.at, Level.stored(e.old_level), Level.stored(e.new_level), e.source, e.reason,
                           e.student_note or "", stored_reason_parts(e.reason or "", e.source, TEACHER, names))
               for e in events]
    # An answer that changes the level shares its moment with the change, and comes before it.
    timeline = sorted(timeline + changes, key=lambda entry: (entry.at, isinstance(entry, LevelChange)))
    level = db.session.scalar(
        sa.select(SkillMastery.level).where(SkillMastery.course_id == course_id, SkillMastery.person_id == person.id,
                                            SkillMastery.skill_id == skill_id))
    answers = [e for e in timeline if isinstance(e, AnswerEntry)]
    db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor.person_id,
                              subject_id=person.id, action="view_answers", at=now))
    db.session.commit()
    return AnswerHistory(person.id, person.name or "", skill_id, skill_name,
                         Level.stored(level), timeline, len(answers),
                         sum(1 for e in answers if e.correct), may(actor, Action.ASSESS))



@dataclass(frozen=True)
class MissedItem:
    """A question of the skill the class gets wrong, with the wrong answers given most often."""

    item_id: str
    prompt: str
    answered: int
    wrong: int
    students_wrong: int
    #: (answer as the student gave it, how many times), most common first.
    common_wrong: tuple[tuple[str, int], ...]

    @property
    def share_wrong(self) -> int:
        """Return the percentage of answers that were wrong."""
        return round(100 * self.wrong / self.answered) if self.answered else 0


@dataclass(frozen=True)
class TroubleSpots:
    """A skill's most-missed questions for the class."""

    skill_id: str
    skill_name: str
    items: list[MissedItem]
    students: int


def trouble_spots(course_id: int, platform_id: int, skill_id: str, *, actor: Actor, limit: int = 10,
                  language: str = BASE_LANGUAGE) -> TroubleSpots:
    """Return the skill's questions the class misses most, each with its most common wrong answers.

    The skill is named in `language` (the teacher's page's), the pack's translation where it has one.
    """
    require(actor, Action.VIEW_CLASS)
    pack = require_pack(course_id, language)
    skill_name = _skill_name(pack, skill_id)
    enrolled = (
        sa.select(Person.id).join(Enrollment, Enrollment.person_id == Person.id)
        .where(Enrollment.course_id == course_id, Enrollment.role == "student", Enrollment.active.is_(True),
               Person.platform_id == platform_id)
    )
    rows = db.session.execute(
        sa.select(ItemResponse.person_id, ItemResponse.item_id, ItemResponse.skill_ids, ItemResponse.answer,
                  ItemResponse.correct)
        .where(ItemResponse.course_id == course_id, ItemResponse.person_id.in_(enrolled))
    ).all()
    answered: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    who_wrong: dict[str, set[int]] = defaultdict(set)
    wrong_answers: dict[str, Counter[str]] = defaultdict(Counter)
    spelled: dict[str, str] = {}
    people: set[int] = set()
    for person_id, item_id, skill_ids, answer, correct in rows:
        if skill_id not in (skill_ids or ()):
            continue
        people.add(person_id)
        answered[item_id] += 1
        if not correct:
            wrong[item_id] += 1
            who_wrong[item_id].add(person_id)
            # "X" and " x" are the same mistake; the first spelling seen is the one shown.
            key = answer.strip().casefold()
            spelled.setdefault(key, answer.strip())
            wrong_answers[item_id][key] += 1
    items = []
    for item_id, count in wrong.most_common():
        try:
            item = pack.item(item_id)  # a template's prompt with its placeholders: each student saw other numbers
        except KeyError:
            continue
        # A template's answers are to different numbers, so its wrong answers only group when they coincide.
        common = tuple((_shown_answer(item, spelled[answer]), n) for answer, n in
                       sorted(wrong_answers[item_id].items(), key=lambda kv: (-kv[1], kv[0]))[:COMMON_WRONG])
        items.append(MissedItem(item_id, item.prompt, answered[item_id], count, len(who_wrong[item_id]), common))
    items.sort(key=lambda m: (-m.students_wrong, -m.wrong, -m.share_wrong, m.item_id))
    return TroubleSpots(skill_id, skill_name, items[:limit], len(people))
