"""Skills a teacher assigns to students: one student, a group, or the whole class, with an optional due date.

A class or group assignment becomes one row per student enrolled at that moment, so a student who joins later
is not assigned it and a teacher can remove it for one student. The plan shows assigned skills first
(learning/planner.py) until the student is Proficient or above on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa

from ..extensions import db
from ..learning.mastery import Level
from ..learning.translations import BASE_LANGUAGE
from ..models import SkillAssignment
from ..models.base import upsert
from .errors import N_, NotFound, ServiceError
from .mastery import lock_learner_row, require_pack
from .permissions import Action, Actor, require
from .plan import class_overview
from .time_zones import course_today

#: Everyone enrolled as a student now; the form's value for "the whole class".
WHOLE_CLASS = "class"


@dataclass(frozen=True)
class AssignmentView:
    """One current assignment as the teacher sees it."""

    id: int
    person_id: int
    student: str
    skill_id: str
    skill_name: str
    due_on: date | None
    level: Level

    @property
    def reached(self) -> bool:
        """The student is Proficient or above, so it has left the top of their plan."""
        return self.level.rank >= Level.PROFICIENT.rank


def assign_skills(course_id: int, platform_id: int, *, skill_ids: Sequence[str], person_ids: Sequence[int] | str,
                  due_on: date | None, actor: Actor, now: datetime) -> int:
    """Assign the skills to the students (or WHOLE_CLASS: everyone enrolled now); return how many students.

    Assigning a skill a student already has again only changes its due date.
    """
    require(actor, Action.ASSESS)
    pack = require_pack(course_id)
    known = {s.id for s in pack.skills}
    chosen = list(dict.fromkeys(s for s in skill_ids if s))
    if not chosen:
        raise ServiceError(N_("Choose at least one skill to assign."), form_field="skill_id")
    # The form's date picker starts at today, but a typed or scripted date was taken: a due date already passed
    # makes the skill count at once in a due-so-far grade, lowering it before the student could start.
    if due_on is not None and due_on < course_today(course_id, now):
        raise ServiceError(N_("Choose a due date from today on: that date has already passed."),
                           form_field="due_on")
    if any(s not in known for s in chosen):
        raise NotFound(N_("That skill is not part of this course."))
    enrolled = {row.person_id for row in class_overview(course_id, platform_id)[1]}
    if person_ids == WHOLE_CLASS:
        students = sorted(enrolled)
    else:
        students = sorted(set(person_ids))
        # Only students enrolled in this course: an id from another course is refused, never assigned.
        if any(pid not in enrolled for pid in students):
            raise NotFound(N_("There is no such student in this course."))
    if not students:
        raise ServiceError(N_("Choose who to assign it to."), form_field="person_id")
    # Each student's lock, in id order as every class-wide locker takes them: a teacher deleting a student's data
    # meanwhile either finishes first (the enrolment is then found gone, and nothing is assigned) or waits for
    # this to commit and deletes what it wrote, never leaving an assignment for a student whose data is gone.
    try:
        for person_id in students:
            lock_learner_row(course_id, person_id, now)
    except NotFound:
        db.session.rollback()
        raise NotFound(N_("There is no such student in this course.")) from None
    # One upsert: assigning again only moves the due date, and two teachers (or a double click) assigning the same
    # skill at once both succeed instead of the second failing on the row the first just made. In one order
    # (students, then skills), so two such upserts wait for each other instead of deadlocking.
    rows = [{"course_id": course_id, "person_id": person_id, "skill_id": skill_id, "due_on": due_on,
             "assigned_by": actor.person_id, "assigned_at": now}
            for person_id in students for skill_id in sorted(chosen)]
    upsert(SkillAssignment, rows, ("course_id", "person_id", "skill_id"), ("due_on", "assigned_by", "assigned_at"))
    db.session.commit()
    return len(students)


def remove_assignment(course_id: int, assignment_id: int, *, confirmed: bool, actor: Actor) -> None:
    """Remove one student's assignment of one skill (the form must be confirmed: its due date is lost)."""
    require(actor, Action.ASSESS)
    if not confirmed:
        raise ServiceError(N_("Tick the box to confirm that this assignment should be removed."))
    # One conditional DELETE, not a read then a delete: of two clicks at once, the second finds no row and is told so
    # (read first, both deleted the row, and the second's DELETE met nothing).
    removed = db.session.execute(
        sa.delete(SkillAssignment).where(SkillAssignment.id == assignment_id, SkillAssignment.course_id == course_id)
    ).rowcount
    if not removed:
        db.session.rollback()
        raise NotFound(N_("That assignment is not in this course (it may have been removed already)."))
    db.session.commit()


def current_assignments(course_id: int, platform_id: int, language: str = BASE_LANGUAGE) -> list[AssignmentView]:
    """Return the course's assignments for students enrolled now, soonest due first, skills named in `language`."""
    pack = require_pack(course_id, language)
    names = {s.id: s.name for s in pack.skills}
    rows = {row.person_id: row for row in class_overview(course_id, platform_id)[1]}
    views = [
        AssignmentView(a.id, a.person_id, rows[a.person_id].name, a.skill_id, names[a.skill_id], a.due_on,
                       rows[a.person_id].levels.get(a.skill_id, Level.NOT_STARTED))
        for a in db.session.scalars(sa.select(SkillAssignment).where(SkillAssignment.course_id == course_id))
        if a.person_id in rows and a.skill_id in names
    ]
    return sorted(views, key=lambda v: (v.due_on is None, v.due_on or date.min, v.skill_name, v.student.casefold()))


@cache
def _assigned_query(also: sa.Select | None) -> sa.Select | sa.CompoundSelect:
    # Built once per `also` (a query built once itself, so this holds one or two): the plan page asks on every view.
    # The table's columns, not the mapped class's attributes: a Core statement (with `also` one too), which the
    # session runs without the ORM's result set-up and loading; the same SQL.
    assigned = SkillAssignment.__table__.c
    query = sa.select(sa.literal(True).label("assigned"), assigned.skill_id, assigned.due_on).where(
        assigned.course_id == sa.bindparam("course_id"), assigned.person_id == sa.bindparam("person_id"))
    if also is None:
        return query
    column = also.selected_columns[0]
    return sa.union_all(query, also.with_only_columns(sa.literal(False), column, sa.null().label("due_on")))


def assigned_skills(course_id: int, person_id: int, *,
                    also: sa.Select | None = None) -> tuple[dict[str, date | None], set[str]]:
    """Return the skills assigned to the student in the course, with their due dates.

    `also` is another one-column query of skill ids for the same student that the caller needs on the same page
    (the plan's waiting unit-check questions), built once with the student as the bind parameters `course_id` and
    `person_id`: both come back from one round trip, its skills as the second value.
    """
    assigned: dict[str, date | None] = {}
    other: set[str] = set()
    found = db.session.execute(_assigned_query(also), {"course_id": course_id, "person_id": person_id})
    for is_assigned, skill_id, due_on in found:
        if is_assigned:
            assigned[skill_id] = due_on
        else:
            other.add(skill_id)
    return assigned, other
