"""Student agency in the learning plan: the student's pace against the course end date, a target date per skill.

Pacing counts a skill as done at Proficient or above (`learning.pacing.DONE_LEVEL`: what the units on the plan
count and the gradebook's default scheme grades), dated by the latest MasteryEvent that raised it from below
Proficient to Proficient or above (the same rule as the teacher's "behind pace" alert in services/classroom.py, so
student and teacher read the same verdict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..learning.local_days import local_date
from ..learning.mastery import Level
from ..learning.pacing import DONE_LEVEL, DONE_LEVELS, PaceStatus, plan_pace
from ..learning.translations import BASE_LANGUAGE
from ..models import Course, ItemResponse, MasteryEvent
from .content import course_content
from .errors import N_
from .mastery import require_pack, standing
from .time_zones import course_zone

#: Without a course end date Pathways suggests no dates, but the student's own goals keep theirs: say only the first.
NO_END_DATE = N_("Your teacher has not set an end date for this course yet, so Pathways suggests no target dates "
                 "for your skills. Dates you give your own goals still count.")
END_BEFORE_START = N_("The course end date is on or before the day the course started in Pathways, so Pathways "
                      "suggests no target dates for your skills. Ask your teacher to check it.")


@dataclass(frozen=True)
class PaceView:
    """The student's pace against the course end date, in words, with a target date for each skill left."""

    status: str | None
    explanation: str
    ends_on: date | None
    mastered: int
    total: int
    targets: tuple[tuple[str, str, date], ...] = ()  # (skill id, skill name, target date)
    #: The explanation as sentence templates and values, for pages in the learner's language.
    explanation_parts: tuple = ()
    #: Every skill's level, as the plan reads it (`Standing.levels`, the stored column): the goals page shows each
    #: goal's skills with it, from the one read of the levels the pace makes anyway.
    levels: Mapping[str, Level] = field(default_factory=dict)


@dataclass(frozen=True)
class SkillDate:
    """The one date a skill left is to be mastered by, and where it comes from: a goal (its title) or the pace."""

    skill_id: str
    name: str
    on: date
    goal: str = ""
    set_by: str = ""  # the goal's: "student" or "teacher"; "" for the pace's target date
    #: The goal names a skill built on this one (not this one): it has to be mastered by then too.
    builds_on: bool = False


def pace_for(course_id: int, person_id: int, *, now: datetime, language: str = BASE_LANGUAGE) -> PaceView:
    """Return the student's pace: target dates per skill from the course end date and their own pace."""
    pack = require_pack(course_id, language)
    order = list(pack.skill_graph.topological_order())
    names = {sid: pack.skill_graph[sid].name for sid in order}
    # The stored level column, as the plan reads it: decoding and explaining every skill's state was most of
    # this page's work, for levels alone.
    levels = standing(course_id, person_id, language).levels
    # One round trip, aggregated in SQL (a row per skill the student has a level change on, and one more for
    # their first answer), however long their history: each skill's latest rise to done (the latest event from
    # below Proficient to Proficient or above) and the first event, then the first answer.
    reached: dict[str, datetime] = {}
    first_answer = first_event = None
    for skill_id, mastered_at, first_at in db.session.execute(_PACE_QUERY, {"course_id": course_id,
                                                                            "person_id": person_id}):
        if skill_id is None:
            first_answer = first_at
            continue
        if mastered_at is not None:
            reached[skill_id] = mastered_at
        if first_at is not None and (first_event is None or first_at < first_event):
            first_event = first_at
    started = min((d for d in (first_answer, first_event) if d is not None), default=None)
    done = DONE_LEVEL.rank
    mastered = [sid for sid in order if levels.get(sid, Level.NOT_STARTED).rank >= done]
    remaining = [sid for sid in order if levels.get(sid, Level.NOT_STARTED).rank < done]
    content = course_content(course_id)
    ends_on = content.ends_on if content else None
    if ends_on is None:
        status = PaceStatus.NOT_STARTED.value if started is None else None
        return PaceView(status, NO_END_DATE, None, len(mastered), len(order), explanation_parts=((NO_END_DATE, {}),),
                        levels=levels)
    course = db.session.get(Course, course_id)
    # Days are the course's: a skill done at 20:00 in Chicago counts on that day, not the next (UTC's).
    zone = course_zone(course_id)
    today = local_date(now, zone)
    course_start = min(local_date(course.created_at, zone) if course else today, today)
    # A skill done with no recorded rise (data from before events were kept) counts from today.
    mastered_on = [local_date(reached[sid], zone) if sid in reached else today for sid in mastered]
    try:
        plan = plan_pace(remaining, mastered_on, course_start=course_start, course_end=ends_on, today=today,
                         started_on=local_date(started, zone) if started else None)
    except ValueError:
        return PaceView(None, END_BEFORE_START, ends_on, len(mastered), len(order),
                        explanation_parts=((END_BEFORE_START, {}),), levels=levels)
    targets = tuple((sid, names[sid], plan.targets[sid]) for sid in remaining if sid in plan.targets)
    return PaceView(plan.status.value, plan.explanation, ends_on, plan.mastered, plan.total, targets,
                    plan.explanation_parts, levels)


# Built once, like the plan's queries (services/mastery._ROWS_QUERY).
_PACE_QUERY = sa.union_all(
    sa.select(MasteryEvent.skill_id,
              sa.func.max(sa.case((sa.and_(MasteryEvent.new_level.in_(sorted(DONE_LEVELS)),
                                           MasteryEvent.old_level.not_in(sorted(DONE_LEVELS))), MasteryEvent.at))),
              sa.func.min(MasteryEvent.at))
    .where(MasteryEvent.course_id == sa.bindparam("course_id"), MasteryEvent.person_id == sa.bindparam("person_id"))
    .group_by(MasteryEvent.skill_id),
    sa.select(sa.null(), sa.null(), sa.func.min(ItemResponse.answered_at))
    .where(ItemResponse.course_id == sa.bindparam("course_id"), ItemResponse.person_id == sa.bindparam("person_id")),
)
