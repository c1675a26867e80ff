"""The teacher's class activity table: when each student was last active, how much they answered, time on task."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Enrollment, ItemResponse, Person, ServedItem

#: "This week" is the last seven days up to now, not the calendar week: Monday mornings still show a week.
WEEK = timedelta(days=7)
#: One question counts for at most this long: a tab left open over lunch is not five hours of work.
QUESTION_CAP = timedelta(minutes=5)

#: Columns the table sorts by, with the direction a first click on the header gives (most useful first).
SORT_COLUMNS: dict[str, str] = {
    "name": "asc",
    "last_active": "desc",
    "week": "desc",
    "total": "desc",
    "time": "desc",
    "skills": "desc",
}


@dataclass(frozen=True)
class StudentActivity:
    """One student's row in the activity table."""

    person_id: int
    name: str
    #: The later of their last launch and their last answer in this course; None if never seen.
    last_active: datetime | None
    answered_week: int
    answered_total: int
    time_week: timedelta
    #: Skills they answered a question on in the last seven days.
    skills_week: int


@dataclass(frozen=True)
class ClassActivity:
    """The activity table, sorted as asked."""

    rows: list[StudentActivity]
    sort: str
    direction: str
    #: The moment the table was read ("3 days ago" counts from it) and the start of its week.
    now: datetime
    since: datetime
    question_cap: timedelta = QUESTION_CAP


def class_activity(course_id: int, platform_id: int, *, now: datetime, sort: str = "name",
                   direction: str = "") -> ClassActivity:
    """Return every active student's activity in the course, sorted; two statements whatever the class size."""
    sort = sort if sort in SORT_COLUMNS else "name"
    direction = direction if direction in ("asc", "desc") else SORT_COLUMNS[sort]
    since = now - WEEK
    answers = (
        sa.select(
            ItemResponse.person_id.label("person_id"),
            sa.func.count().label("total"),
            sa.func.sum(sa.case((ItemResponse.answered_at >= since, 1), else_=0)).label("week"),
            sa.func.max(ItemResponse.answered_at).label("last_answer"),
        )
        .where(ItemResponse.course_id == course_id)
        .group_by(ItemResponse.person_id)
        .subquery()
    )
    students = db.session.execute(
        sa.select(Person.id, Person.name, Enrollment.last_launch_at, answers.c.total, answers.c.week,
                  answers.c.last_answer)
        .join(Enrollment, Enrollment.person_id == Person.id)
        .outerjoin(answers, answers.c.person_id == Person.id)
        .where(Enrollment.course_id == course_id, Enrollment.role == "student", Enrollment.active.is_(True),
               Person.platform_id == platform_id)
    ).all()
    # Durations differ per database (julianday vs epoch), so the week's served questions are summed here; there are
    # at most a week of one class's answers.
    time_on_task: dict[int, timedelta] = defaultdict(timedelta)
    skills: dict[int, set[str]] = defaultdict(set)
    for person_id, skill_id, served_at, answered_at in db.session.execute(
        sa.select(ServedItem.person_id, ServedItem.skill_id, ServedItem.served_at, ServedItem.answered_at)
        .where(ServedItem.course_id == course_id, ServedItem.answered_at.is_not(None),
               ServedItem.answered_at >= since)
    ):
        time_on_task[person_id] += min(max(answered_at - served_at, timedelta()), QUESTION_CAP)
        skills[person_id].add(skill_id)
    rows = [
        StudentActivity(
            person_id=person_id, name=name or "", last_active=_later(launched, last_answer),
            answered_week=int(week or 0), answered_total=int(total or 0),
            time_week=time_on_task.get(person_id, timedelta()), skills_week=len(skills.get(person_id, ())),
        )
        for person_id, name, launched, total, week, last_answer in students
    ]
    return ClassActivity(_sorted(rows, sort, direction), sort, direction, now, since)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


def _sorted(rows: list[StudentActivity], sort: str, direction: str) -> list[StudentActivity]:
    by_name = sorted(rows, key=lambda r: (r.name.casefold(), r.person_id))
    if sort == "name":
        return by_name[::-1] if direction == "desc" else by_name
    value = {
        "last_active": lambda r: r.last_active,
        "week": lambda r: r.answered_week,
        "total": lambda r: r.answered_total,
        "time": lambda r: r.time_week,
        "skills": lambda r: r.skills_week,
    }[sort]
    # Students never seen stay at the bottom either way: "no date" is not earlier or later than a date.
    seen = [r for r in by_name if value(r) is not None]
    never = [r for r in by_name if value(r) is None]
    return sorted(seen, key=value, reverse=direction == "desc") + never
