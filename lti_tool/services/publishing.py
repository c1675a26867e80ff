"""Publish a student's mastery to the LMS gradebook: one outbox row per placement whose score changed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import Goal
from ..learning.grading import GradingScheme, due_digest, due_skills, grade_basis, placement_score
from ..learning.mastery import ALL_SKILLS, Level
from ..learning.skills import SkillGraph
from ..models import CourseContent, Evidence, Placement, ScoreOutbox, SkillAssignment, SkillMastery
from ..models.base import lock_database_for_writing
from .content import course_content, course_pack, forget_held_content, write_course_row
from .errors import ServiceError
from .grades import NewScore, new_score, queue_scores
from .permissions import Action, Actor, require
from .placements import course_placements
from .sent_scores import never_reached
from .time_zones import course_today

SCHEMES = {
    "due_so_far": GradingScheme.DUE_SO_FAR,
    "proficiency_share": GradingScheme.SHARE_PROFICIENT,
    "four_point": GradingScheme.STANDARDS_AVERAGE,
}
DEFAULT_SCHEME = "due_so_far"


def unit_skills(placement: Placement, all_skill_ids: Collection[str]) -> list[str]:
    """Return a unit placement's skills that the course's pack has ([] for a plan, or when none is left).

    Each once, in the unit's order: a pack may list a unit's skill twice, and a skill has one column. A copied
    link's skills (placements.UNIT_SKILLS_PARAM) may name skills this course's pack does not have.
    """
    if placement.kind != "unit":
        return []
    return [s for s in dict.fromkeys(placement.skill_ids or ()) if s in all_skill_ids]


def placement_skills(placement: Placement, all_skill_ids: list[str]) -> list[str]:
    """Return the skills a placement grades: the unit's skills for a unit, else (or with none left) the course's."""
    return unit_skills(placement, all_skill_ids) or all_skill_ids


def publish_mastery(course_id: int, person_id: int, *, now: datetime) -> int:
    """Queue the student's current score on every placement of the course (in the caller's transaction).

    Called when a level changes; scores that did not change are skipped, so calling it again with the same
    mastery is harmless. Returns the number of rows queued. A constant number of statements however many
    placements and skill columns the course has: the placements (once per transaction), the levels with the
    pending evidence, and queue_scores' three.
    """
    return _publish(course_id, now=now, person_id=person_id)


def _publish(course_id: int, *, now: datetime, person_id: int | None = None,
             person_ids: Collection[int] | None = None, written: list[NewScore] | None = None) -> int:
    """Queue the current scores of one student, or of everyone with mastery in the course (person_id None).

    person_ids narrows a class-wide publish to those students (the worker's pass for dates that passed); `written`
    gets the scores queued (queue_scores).
    """
    if person_id is None:
        lock_learners(course_id)
    # What the scores are made of (the scheme, the pack, the end date) is read under the learners' lock (the
    # caller holds the one student's), afresh: a scheme change committed after an earlier read (the answer's
    # launch) had its own resend wait for this one or finish before it, and the old scheme's scores, queued
    # after it and newer stamped, would be what the LMS keeps.
    forget_held_content(course_id)
    pack = course_pack(course_id)
    if pack is None:
        return 0
    placements = course_placements(course_id)
    if not placements:
        return 0
    content = course_content(course_id)
    scheme = _scheme(content)
    today = course_today(course_id, now)  # a goal due today is due from the course's midnight, not UTC's
    due = course_due(pack.skill_graph, pack.goals, today, content.ends_on if content else None)
    levels, pending, assigned = _levels_and_pending(course_id, person_id, today)
    if person_id is not None:
        levels.setdefault(person_id, {})  # a student with evidence but no practice yet is graded too
    elif person_ids is not None:
        # Every flagged student, levels or not: one graded on evidence alone (no practice yet) has no level rows, and
        # left out here the sweep would flag them on every pass and never resend their grade.
        levels = {person: levels.get(person, {}) for person in person_ids}
    names = {s.id: s.name for s in pack.skills}
    all_skill_ids = list(pack.skill_graph.topological_order())
    # What each placement grades is the same for every student without a dated assignment: worked out once.
    graded = [(placement, skill_ids, _basis(scheme, skill_ids, due))
              for placement in placements for skill_ids in [placement_skills(placement, all_skill_ids)]]
    per_skill = content is not None and bool(content.per_skill_grades)
    scores: list[NewScore] = []
    for person in sorted(levels):
        person_levels, person_pending = levels[person], pending.get(person, set())
        person_due = student_due(pack.skill_graph, due, assigned.get(person, ()), today)
        for placement, skill_ids, basis in graded:
            if person_due is not due:
                basis = _basis(scheme, skill_ids, person_due)
            scores.append(_placement_score(placement, person, skill_ids, person_levels, names, person_pending,
                                           scheme=scheme, due=person_due, basis=basis))
            if per_skill:
                scores.extend(_skill_score(placement, person, skill_id, person_levels, names, person_pending)
                              for skill_id in skill_ids)
    return queue_scores(scores, now=now, written=written)


class _Basis(NamedTuple):
    """What a placement's score is made of: the words of its comment, and the digest of its due set."""

    comment: str
    digest: str | None


def _basis(scheme: GradingScheme, skill_ids: list[str], due: frozenset[str]) -> _Basis:
    return _Basis(grade_basis(scheme, skill_ids, due), due_digest(scheme, skill_ids, due))


def _scheme(content: CourseContent | None) -> GradingScheme:
    return SCHEMES[content.grading_scheme if content and content.grading_scheme in SCHEMES else DEFAULT_SCHEME]


def course_due(graph: SkillGraph, goals: Sequence[Goal], today: date, ends_on: date | None = None) -> frozenset[str]:
    """Return the skills the course's goals make due by today (each goal's skills and all they build on).

    A goal dated after the course's end (`ends_on`) is due at the end, as students are shown it ("by <end>, when
    the course ends"): one date per goal on every page and in the gradebook.
    """
    return due_skills(graph, [(g.skills, _by(_date(g.due), ends_on)) for g in goals], today)


def _by(due: date | None, ends_on: date | None) -> date | None:
    return min(due, ends_on) if due is not None and ends_on is not None else due


def student_due(graph: SkillGraph, course: frozenset[str], assigned: Sequence[str], today: date) -> frozenset[str]:
    """Return what is due for one student: the course's due skills and the skills the teacher assigned them whose
    due date has passed (with all they build on, as for a goal). The course's own set when there are none.

    An assignment's date is the teacher's target for that student, so it counts like a course goal's. A student's
    own goal does not: grading them on a date they chose would punish aiming high.
    """
    if not assigned:
        return course
    return course | due_skills(graph, [(tuple(assigned), today)], today)


def lock_learners(course_id: int) -> None:
    """Lock every learner of the course (their "*" rows, in one order) before the whole class's levels are read.

    Every writer of a learner's mastery holds that learner's lock and queues their scores itself; a class-wide
    publish that read a level before such a writer committed, and queued it after, would send the older level
    with the newer timestamp, and the LMS would keep it. Locked, the read waits for the writers in flight and
    writers wait for the publish to commit. Learners without a "*" row have no levels yet to read stale.
    A whole-course deletion takes the same locks first (services/privacy.py).
    """
    if not lock_database_for_writing():
        db.session.execute(_LOCK_LEARNERS, {"course_id": course_id})


_LOCK_LEARNERS = (
    sa.select(SkillMastery.__table__.c.id)
    .where(SkillMastery.__table__.c.course_id == sa.bindparam("course_id"),
           SkillMastery.__table__.c.skill_id == ALL_SKILLS)
    .order_by(SkillMastery.__table__.c.person_id)  # one order for every class-wide locker: no deadlock
    .with_for_update()
)


def _levels_and_pending(course_id: int, person_id: int | None, today: date
                        ) -> tuple[dict[int, dict[str, Level]], dict[int, set[str]], dict[int, list[str]]]:
    """Return per student, in one statement: the levels, the skills with evidence waiting for the teacher, and the
    skills the teacher assigned them whose due date has passed by today."""
    levels: dict[int, dict[str, Level]] = {}
    pending: dict[int, set[str]] = {}
    assigned: dict[int, list[str]] = {}
    query, params = ((_CLASS_LEVELS_AND_PENDING, {"course_id": course_id, "today": today}) if person_id is None else
                     (_LEVELS_AND_PENDING, {"course_id": course_id, "person_id": person_id, "today": today}))
    for kind, person, skill_id, level in db.session.execute(query, params):
        if kind == "level":
            levels.setdefault(person, {})[skill_id] = Level(level)
        elif kind == "pending":
            pending.setdefault(person, set()).add(skill_id)
        else:
            assigned.setdefault(person, []).append(skill_id)
    return levels, pending, assigned


def _levels_and_pending_query(one_person: bool) -> sa.CompoundSelect:
    # Built once (below): building it cost more CPU than running it.
    course = sa.bindparam("course_id")
    # Not the learner-wide row: serving a first question creates it (to lock on), and a student who only opened
    # practice has no level to grade yet (nobody is sent a 0 for opening a page).
    levels = sa.select(sa.literal_column("'level'").label("kind"), SkillMastery.person_id, SkillMastery.skill_id,
                       SkillMastery.level).where(SkillMastery.course_id == course,
                                                 SkillMastery.skill_id != ALL_SKILLS)
    pending = sa.select(sa.literal_column("'pending'"), Evidence.person_id, Evidence.skill_id,
                        sa.literal_column("''")).where(Evidence.course_id == course, Evidence.status == "pending")
    assigned = _passed_assignments()
    if one_person:
        levels = levels.where(SkillMastery.person_id == sa.bindparam("person_id"))
        pending = pending.where(Evidence.person_id == sa.bindparam("person_id"))
        assigned = assigned.where(SkillAssignment.person_id == sa.bindparam("person_id"))
    return sa.union_all(levels, pending, assigned)


def _passed_assignments() -> sa.Select:
    """The course's assignments whose due date has passed by :today, as ('assigned', person, skill, '') rows."""
    return sa.select(sa.literal_column("'assigned'"), SkillAssignment.person_id, SkillAssignment.skill_id,
                     sa.literal_column("''")).where(SkillAssignment.course_id == sa.bindparam("course_id"),
                                                    SkillAssignment.due_on <= sa.bindparam("today", type_=sa.Date))


_LEVELS_AND_PENDING = _levels_and_pending_query(one_person=True)
_CLASS_LEVELS_AND_PENDING = _levels_and_pending_query(one_person=False)


def _placement_score(placement: Placement, person_id: int, skill_ids: list[str], levels: dict[str, Level],
                     names: dict[str, str], pending: set[str], *, scheme: GradingScheme, due: frozenset[str],
                     basis: _Basis) -> NewScore:
    """Return the student's score on the placement's own column (by the course's scheme)."""
    score = placement_score(
        levels,
        skill_ids,
        score_maximum=placement.score_maximum,
        scheme=scheme,
        skill_names=names,
        pending_evidence=not pending.isdisjoint(skill_ids),
        due=due,
    )
    return new_score(
        placement,
        person_id,
        score_given=score.score_given,
        score_maximum=score.score_maximum,
        skill_names=[names[s] for s in skill_ids if levels.get(s, Level.NOT_STARTED).rank >= Level.PROFICIENT.rank],
        pending_manual=score.grading_progress.value == "PendingManual",
        activity_progress=score.activity_progress.value,
        basis=basis.comment,
        due_digest=basis.digest,
    )


def _skill_score(placement: Placement, person_id: int, skill_id: str, levels: dict[str, Level],
                 names: dict[str, str], pending: set[str]) -> NewScore:
    """Return one skill's score for its own column (0-4 points: Attempted 1 … Mastered 4)."""
    score = placement_score(levels, [skill_id], score_maximum=4.0, scheme=GradingScheme.STANDARDS_AVERAGE,
                            skill_names=names, pending_evidence=skill_id in pending)
    return new_score(
        placement, person_id, score_given=score.score_given, score_maximum=4.0,
        skill_names=[names.get(skill_id, skill_id)], skill_id=skill_id,
        pending_manual=skill_id in pending, activity_progress=score.activity_progress.value,
    )


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class Resent(NamedTuple):
    """What a recalculation queued for the LMS: scores on their way, and scores without a grade that stay unsent.

    A score without a number (nothing is due yet) only clears a number of ours in the gradebook; where none may have
    reached it, the worker does not send it (sent_scores.nothing_to_clear), so the teacher is not told it is coming.
    """

    sending: int
    not_due: int


def set_grading(course_id: int, *, actor: Actor, scheme: str, per_skill: bool, now: datetime) -> Resent | None:
    """Choose how mastery becomes a grade, and whether each skill also gets its own gradebook column.

    When either changes, every student's grades are recalculated and resent (new per-skill columns are filled
    at once); returns what was queued then, or None when nothing changed.
    """
    require(actor, Action.CHANGE_GRADING)
    content = course_content(course_id)
    if content is None:
        raise ServiceError("Set up the course content first.")
    if scheme not in SCHEMES:
        raise ServiceError("Choose one of the grading schemes.")
    changed = (content.grading_scheme, bool(content.per_skill_grades)) != (scheme, per_skill)
    write_course_row(CourseContent, course_id, grading_scheme=scheme, per_skill_grades=per_skill)
    db.session.commit()
    return republish_course(course_id, actor=actor, now=now) if changed else None


def republish_course(course_id: int, *, actor: Actor, now: datetime) -> Resent:
    """Recalculate every student's grades in the course and queue the ones that differ from what was sent; commits.

    Used when the scheme changes ("recalculate and resend"), so the gradebook shows the new scheme at once. Counts
    the queued scores the worker will send apart from those it will not (see Resent), by the worker's own rule.
    """
    require(actor, Action.CHANGE_GRADING)
    written: list[NewScore] = []
    _publish(course_id, now=now, written=written)
    unsent = never_reached({score.target for score in written if score.score_given is None})
    db.session.commit()
    return Resent(sending=len(written) - len(unsent), not_due=len(unsent))


def queue_course(course_id: int, *, now: datetime) -> int:
    """Queue every student's current grades in the course where they differ from what was sent (no commit).

    Everyone with mastery in the course at once: the same few statements for 3 students or 300.
    """
    return _publish(course_id, now=now)


def grading_settings(course_id: int) -> tuple[str, bool] | None:
    """Return (scheme, per-skill columns on) for the course, or None when it has no content yet."""
    content = course_content(course_id)
    return (content.grading_scheme, content.per_skill_grades) if content else None


# --- Dates that pass: the worker's pass keeps due-so-far grades current without anyone doing anything ---

_DUE_SO_FAR = sa.or_(CourseContent.grading_scheme.is_(None),
                     CourseContent.grading_scheme.not_in([k for k in SCHEMES if k != "due_so_far"]))


def due_so_far_courses(*, after: int, limit: int) -> list[int]:
    """Return up to `limit` ids (above `after`, in order) of courses graded on what is due so far that have a
    gradebook column; ends the read transaction."""
    ids = list(db.session.scalars(
        sa.select(CourseContent.course_id)
        .where(CourseContent.course_id > after, _DUE_SO_FAR,
               sa.exists().where(Placement.course_id == CourseContent.course_id))
        .order_by(CourseContent.course_id)
        .limit(limit)
    ))
    db.session.commit()
    return ids


def requeue_if_due_changed(course_id: int, *, now: datetime) -> int:
    """Queue new grades for the course's students whose due-so-far grade was worked out on another due set; commits.

    A grade's row keeps the digest of the due set it was worked out on (learning.grading.due_digest), so a grade
    whose digest is not today's was worked out before a date passed, or before the teacher moved one or swapped a
    skill assigned to the student for another. A row from before the digest (migration 0026) is judged by its
    comment, which names how many skills it was made of ("Graded on the 4 skills due so far", "Nothing is due
    yet: …"): a grade whose comment does not start with what its column's comment would say today. Those students are
    recalculated through the class-wide publish (learners locked, newest rows compared): a second worker doing the
    same course waits for the first and then finds every score unchanged, so nothing is queued twice, and a run
    right after this one queues nothing. Returns the number of rows queued.
    """
    stale = _stale_students(course_id, course_today(course_id, now))
    db.session.commit()  # end the read: on SQLite the publish must begin its transaction with the write lock
    if not stale:
        return 0
    queued = _publish(course_id, now=now, person_ids=stale)
    db.session.commit()
    return queued


def _stale_students(course_id: int, today: date) -> set[int]:
    """Return the students whose newest grade on a column of the course was computed on another due set."""
    pack = course_pack(course_id)
    placements = course_placements(course_id)
    content = course_content(course_id)
    if pack is None or not placements or _scheme(content) is not GradingScheme.DUE_SO_FAR:
        return set()
    due = course_due(pack.skill_graph, pack.goals, today, content.ends_on if content else None)
    all_skill_ids = list(pack.skill_graph.topological_order())
    skills = {p.id: placement_skills(p, all_skill_ids) for p in placements}
    assigned: dict[int, list[str]] = {}
    for person, skill_id in db.session.execute(
        sa.select(SkillAssignment.person_id, SkillAssignment.skill_id)
        .where(SkillAssignment.course_id == course_id, SkillAssignment.due_on <= today)
    ):
        assigned.setdefault(person, []).append(skill_id)
    expected: dict[tuple[int, int | None], _Basis] = {}
    stale: set[int] = set()
    for placement_id, person, comment, digest in db.session.execute(_NEWEST_COMMENTS,
                                                                    {"placement_ids": list(skills)}):
        key = (placement_id, person if person in assigned else None)
        if key not in expected:
            person_due = student_due(pack.skill_graph, due, assigned.get(person, ()), today)
            expected[key] = _basis(GradingScheme.DUE_SO_FAR, skills[placement_id], person_due)
        basis = expected[key]
        # A row from before migration 0026 has no digest: its comment says how many skills it was made of.
        if (digest != basis.digest) if digest is not None else not _made_of(comment or "", basis.comment):
            stale.add(person)
    return stale


def _made_of(comment: str, basis: str) -> bool:
    return comment == basis or comment.startswith(basis + ". ")


def _newest_comments() -> sa.Select:
    # Built once. The newest row (any state) of each student on each column: what the gradebook has or will have.
    table = ScoreOutbox.__table__
    ranked = (
        sa.select(table.c.placement_id, table.c.person_id, table.c.comment, table.c.due_digest,
                  sa.func.row_number().over(partition_by=(table.c.placement_id, table.c.person_id),
                                            order_by=(table.c.score_timestamp.desc(), table.c.id.desc()))
                  .label("newest"))
        .where(table.c.placement_id.in_(sa.bindparam("placement_ids", expanding=True)), table.c.skill_id == "")
        .subquery()
    )
    return sa.select(ranked.c.placement_id, ranked.c.person_id, ranked.c.comment,
                     ranked.c.due_digest).where(ranked.c.newest == 1)


_NEWEST_COMMENTS = _newest_comments()
