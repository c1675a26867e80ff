"""An answered question's feedback, read back from what its answer stored.

An answer's POST records it and redirects to a page that shows this (Post/Redirect/Get): going Back and Forward, or
reloading the feedback, shows it again instead of the browser's "Confirm Form Resubmission". Reading writes nothing.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import instantiate
from ..learning.item_templates import TemplateError
from ..learning.mastery import Level
from ..models import ItemResponse, MasteryEvent, ServedItem
from .errors import N_, NotFound
from .help import MISSES_BEFORE_HELP
from .mastery import AnswerResult, require_pack, standing
from .serving import since_teachers_level

#: The level changes an answer makes are stored with these sources (a practice answer on a due skill is its review).
_ANSWER_SOURCES = ("practice", "review", "unit_check", "diagnostic")
NOT_YOURS = N_("That question was not given to you here. Here is a question that was.")


# The tables' columns, not the mapped classes' attributes: Core statements, which the session runs without the
# ORM's result set-up and loading (the feedback page reads a few values of one row and of the level changes).
_SERVED, _RESPONSE, _EVENTS = ServedItem.__table__.c, ItemResponse.__table__.c, MasteryEvent.__table__.c
#: The served row's columns the feedback reads (the row's other columns are not needed here).
_SERVED_READ = ("source", "answered_at", "correct", "item_id", "params", "skill_id")


def _run_up_to_this() -> tuple[sa.ScalarSelect, ...]:
    """Return how the learner's practice answers on the question's skill were judged, newest first, up to and
    including this answer (MISSES_BEFORE_HELP of them; NULL past the first): the run of misses its page saw."""
    earlier = ServedItem.__table__.alias().c
    answered = (
        sa.select(earlier.correct)
        .where(earlier.course_id == _SERVED.course_id, earlier.person_id == _SERVED.person_id,
               earlier.skill_id == _SERVED.skill_id, earlier.source == "practice",
               earlier.answered_at.is_not(None), earlier.correct.is_not(None),
               sa.or_(earlier.answered_at < _SERVED.answered_at,
                      sa.and_(earlier.answered_at == _SERVED.answered_at, earlier.id <= _SERVED.id)),
               # Only the answers since the teacher last set the level before this one, as the plan counts them.
               since_teachers_level(earlier, _SERVED.course_id, _SERVED.person_id, _SERVED.skill_id,
                                    until=_SERVED.answered_at))
        .order_by(earlier.answered_at.desc(), earlier.id.desc())
        .correlate(ServedItem.__table__)
    )
    return tuple(answered.offset(n).limit(1).scalar_subquery() for n in range(MISSES_BEFORE_HELP))


# Built once: the served row, its stored answer (the response shares its moment) and the run, in one statement.
_ANSWERED = (
    sa.select(*(_SERVED[name] for name in _SERVED_READ), _RESPONSE.answer, _RESPONSE.credited, *_run_up_to_this())
    .outerjoin(ItemResponse.__table__, sa.and_(_RESPONSE.course_id == _SERVED.course_id,
                                               _RESPONSE.person_id == _SERVED.person_id,
                                               _RESPONSE.item_id == _SERVED.item_id,
                                               _RESPONSE.answered_at == _SERVED.answered_at))
    .where(_SERVED.id == sa.bindparam("served_id"), _SERVED.course_id == sa.bindparam("course_id"),
           _SERVED.person_id == sa.bindparam("person_id"))
    .limit(1)
)
# Built once too (it was built afresh for each feedback page): the level changes the answer made.
_CHANGES = (
    sa.select(_EVENTS.skill_id, _EVENTS.old_level, _EVENTS.new_level)
    .where(_EVENTS.course_id == sa.bindparam("course_id"), _EVENTS.person_id == sa.bindparam("person_id"),
           _EVENTS.at == sa.bindparam("at", type_=_EVENTS.at.type),
           _EVENTS.skill_id.in_(sa.bindparam("skill_ids", expanding=True)),
           _EVENTS.source.in_(_ANSWER_SOURCES))
    .order_by(_EVENTS.id)
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
    if found is None or found.source != source:
        raise NotFound(NOT_YOURS)
    row = found  # its served columns by name (_SERVED_READ), then the answer, its credit and the run
    answer, credited, *run = found[len(_SERVED_READ):]
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
        events = db.session.execute(_CHANGES, {"course_id": course_id, "person_id": person_id,
                                                "at": row.answered_at, "skill_ids": list(item.skills)})
        changes = tuple((names[sid].name if sid in names else sid, Level.stored(old), Level.stored(new))
                        for sid, old, new in events)
    views = tuple(standing(course_id, person_id, language).views(only=item.skills, needs=True))
    missed = itertools.takewhile(lambda correct: correct is not None and not correct, run)
    misses = min(MISSES_BEFORE_HELP, sum(1 for _ in missed))
    result = AnswerResult(correct=bool(row.correct), solution=item.solution, changes=changes, views=views,
                          repeated=repeated, credited=bool(credited) and not repeated, skill_ids=tuple(item.skills),
                          item=item, misses_in_a_row=misses if source == "practice" else 0,
                          answer="" if repeated else answer)
    return result, row.skill_id
