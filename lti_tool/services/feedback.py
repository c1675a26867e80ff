"""An answered question's feedback, read back from what its answer stored.

An answer's POST records it and redirects to a page that shows this (Post/Redirect/Get): going Back and Forward, or
reloading the feedback, shows it again instead of the browser's "Confirm Form Resubmission". Reading writes nothing.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..learning.coursepack import instantiate
from ..learning.item_templates import TemplateError
from ..learning.mastery import Level
from ..models import ItemResponse, MasteryEvent, ServedItem
from .errors import N_, NotFound
from .help import MISSES_BEFORE_HELP
from .mastery import AnswerResult, require_pack, standing

#: The level changes an answer makes are stored with these sources (a practice answer on a due skill is its review).
_ANSWER_SOURCES = ("practice", "review", "unit_check", "diagnostic")
NOT_YOURS = N_("That question was not given to you here. Here is a question that was.")


def _run_up_to_this() -> tuple[sa.ScalarSelect, ...]:
    """Return how the learner's practice answers on the question's skill were judged, newest first, up to and
    including this answer (MISSES_BEFORE_HELP of them; NULL past the first): the run of misses its page saw."""
    earlier = so.aliased(ServedItem)
    answered = (
        sa.select(earlier.correct)
        .where(earlier.course_id == ServedItem.course_id, earlier.person_id == ServedItem.person_id,
               earlier.skill_id == ServedItem.skill_id, earlier.source == "practice",
               earlier.answered_at.is_not(None), earlier.correct.is_not(None),
               sa.or_(earlier.answered_at < ServedItem.answered_at,
                      sa.and_(earlier.answered_at == ServedItem.answered_at, earlier.id <= ServedItem.id)))
        .order_by(earlier.answered_at.desc(), earlier.id.desc())
        .correlate(ServedItem)
    )
    return tuple(answered.offset(n).limit(1).scalar_subquery() for n in range(MISSES_BEFORE_HELP))


# Built once: the served row, its stored answer (the response shares its moment) and the run, in one statement.
_ANSWERED = (
    sa.select(ServedItem, ItemResponse.answer, ItemResponse.credited, *_run_up_to_this())
    .outerjoin(ItemResponse, sa.and_(ItemResponse.course_id == ServedItem.course_id,
                                     ItemResponse.person_id == ServedItem.person_id,
                                     ItemResponse.item_id == ServedItem.item_id,
                                     ItemResponse.answered_at == ServedItem.answered_at))
    .where(ServedItem.id == sa.bindparam("served_id"), ServedItem.course_id == sa.bindparam("course_id"),
           ServedItem.person_id == sa.bindparam("person_id"))
    .limit(1)
)


def answered_result(course_id: int, person_id: int, served_id: int, *, source: str, language: str,
                    repeated: bool = False) -> tuple[AnswerResult, str] | None:
    """Return (the feedback on a question this learner answered in this course, the skill it was served for).

    Refused with NotFound when the question was not served to this learner here or by another page than `source`;
    None when it is theirs but has no recorded answer (still open, or closed without one): its page shows the
    question instead. `repeated`: the page's post was a second answer to it, so the result is the first answer's and
    no level changed with that post. The levels shown are the learner's now.
    """
    found = db.session.execute(_ANSWERED, {"served_id": served_id, "course_id": course_id,
                                           "person_id": person_id}).one_or_none()
    if found is None or found[0].source != source:
        raise NotFound(NOT_YOURS)
    row, answer, credited, *run = found
    if row.answered_at is None or row.correct is None or answer is None:
        return None
    pack = require_pack(course_id, language)
    try:
        item = instantiate(pack.item(row.item_id), row.params or {})
    except (KeyError, TemplateError):
        return None  # the teacher replaced the pack since: the page serves what there is now
    changes: tuple[tuple[str, Level, Level], ...] = ()
    if not repeated:
        names = pack.skills_by_id
        events = db.session.execute(
            sa.select(MasteryEvent.skill_id, MasteryEvent.old_level, MasteryEvent.new_level)
            .where(MasteryEvent.course_id == course_id, MasteryEvent.person_id == person_id,
                   MasteryEvent.at == row.answered_at, MasteryEvent.skill_id.in_(list(item.skills)),
                   MasteryEvent.source.in_(_ANSWER_SOURCES))
            .order_by(MasteryEvent.id))
        changes = tuple((names[sid].name if sid in names else sid, Level.stored(old), Level.stored(new))
                        for sid, old, new in events)
    views = tuple(standing(course_id, person_id, language).views(only=item.skills))
    missed = itertools.takewhile(lambda correct: correct is not None and not correct, run)
    misses = min(MISSES_BEFORE_HELP, sum(1 for _ in missed))
    result = AnswerResult(correct=bool(row.correct), solution=item.solution, changes=changes, views=views,
                          repeated=repeated, credited=bool(credited) and not repeated, skill_ids=tuple(item.skills),
                          item=item, misses_in_a_row=misses if source == "practice" else 0,
                          answer="" if repeated else answer)
    return result, row.skill_id
