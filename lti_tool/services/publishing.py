"""Publish a student's mastery to the LMS gradebook: one outbox row per placement whose score changed."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..learning.grading import GradingScheme, due_skills, grade_basis, placement_score
from ..learning.mastery import Level
from ..models import Evidence, Placement, SkillMastery
from .content import course_content, course_pack
from .errors import ServiceError
from .grades import queue_score
from .permissions import Action, Actor, require

SCHEMES = {
    "due_so_far": GradingScheme.DUE_SO_FAR,
    "proficiency_share": GradingScheme.SHARE_PROFICIENT,
    "four_point": GradingScheme.STANDARDS_AVERAGE,
}
DEFAULT_SCHEME = "due_so_far"


def placement_skills(placement: Placement, all_skill_ids: list[str]) -> list[str]:
    """Return the skills a placement grades: the whole course for a plan, the unit's skills for a unit."""
    if placement.kind == "unit" and placement.skill_ids:
        return [s for s in placement.skill_ids if s in all_skill_ids]
    return all_skill_ids


def publish_mastery(course_id: int, person_id: int, *, now: datetime) -> int:
    """Queue the student's current score on every placement of the course (in the caller's transaction).

    Called when a level changes; queue_score skips placements whose score did not change, so calling it
    again with the same mastery is harmless. Returns the number of rows queued.
    """
    pack = course_pack(course_id)
    if pack is None:
        return 0
    placements = list(db.session.scalars(sa.select(Placement).where(Placement.course_id == course_id)))
    if not placements:
        return 0
    content = course_content(course_id)
    scheme = SCHEMES[content.grading_scheme if content and content.grading_scheme in SCHEMES else DEFAULT_SCHEME]
    due = due_skills(pack.skill_graph, [(g.skills, _date(g.due)) for g in pack.goals], now.date())
    levels = {
        skill_id: Level(level)
        for skill_id, level in db.session.execute(
            sa.select(SkillMastery.skill_id, SkillMastery.level).where(
                SkillMastery.course_id == course_id, SkillMastery.person_id == person_id
            )
        )
    }
    pending = set(
        db.session.scalars(
            sa.select(Evidence.skill_id).where(
                Evidence.course_id == course_id, Evidence.person_id == person_id, Evidence.status == "pending"
            )
        )
    )
    names = {s.id: s.name for s in pack.skills}
    all_skill_ids = list(pack.skill_graph.topological_order())
    queued = 0
    for placement in placements:
        skill_ids = placement_skills(placement, all_skill_ids)
        score = placement_score(
            levels,
            skill_ids,
            score_maximum=placement.score_maximum,
            scheme=scheme,
            skill_names=names,
            pending_evidence=bool(pending & set(skill_ids)),
            due=due,
        )
        row = queue_score(
            placement.id,
            person_id,
            score_given=score.score_given,
            score_maximum=score.score_maximum,
            now=now,
            skill_names=[names[s] for s in skill_ids if levels.get(s, Level.NOT_STARTED).rank >= Level.PROFICIENT.rank],
            pending_manual=score.grading_progress.value == "PendingManual",
            completed=score.activity_progress.value == "Completed",
            basis=grade_basis(scheme, skill_ids, due),
        )
        queued += row is not None
        if content is not None and content.per_skill_grades:
            queued += _publish_per_skill(placement, person_id, skill_ids, levels, names, pending, now)
    return queued


def _publish_per_skill(placement: Placement, person_id: int, skill_ids: list[str], levels: dict[str, Level],
                       names: dict[str, str], pending: set[str], now: datetime) -> int:
    """Queue one score per skill (0-4 points: Attempted 1 … Mastered 4) to the skill's own column."""
    queued = 0
    for skill_id in skill_ids:
        score = placement_score(levels, [skill_id], score_maximum=4.0, scheme=GradingScheme.STANDARDS_AVERAGE,
                                skill_names=names, pending_evidence=skill_id in pending)
        row = queue_score(
            placement.id, person_id, score_given=score.score_given, score_maximum=4.0, now=now,
            skill_names=[names.get(skill_id, skill_id)], skill_id=skill_id,
            pending_manual=skill_id in pending, completed=score.activity_progress.value == "Completed",
        )
        queued += row is not None
    return queued


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def set_grading(course_id: int, *, actor: Actor, scheme: str, per_skill: bool, now: datetime) -> int | None:
    """Choose how mastery becomes a grade, and whether each skill also gets its own gradebook column.

    When either changes, every student's grades are recalculated and resent (new per-skill columns are filled
    at once); returns the number of scores queued then, or None when nothing changed.
    """
    require(actor, Action.CHANGE_GRADING)
    content = course_content(course_id)
    if content is None:
        raise ServiceError("Set up the course content first.")
    if scheme not in SCHEMES:
        raise ServiceError("Choose one of the grading schemes.")
    changed = (content.grading_scheme, bool(content.per_skill_grades)) != (scheme, per_skill)
    content.grading_scheme = scheme
    content.per_skill_grades = per_skill
    db.session.commit()
    return republish_course(course_id, actor=actor, now=now) if changed else None


def republish_course(course_id: int, *, actor: Actor, now: datetime) -> int:
    """Recalculate every student's grades in the course and queue the ones that differ from what was sent; commits.

    Used when the scheme changes ("recalculate and resend"), so the gradebook shows the new scheme at once.
    """
    require(actor, Action.CHANGE_GRADING)
    queued = queue_course(course_id, now=now)
    db.session.commit()
    return queued


def queue_course(course_id: int, *, now: datetime) -> int:
    """Queue every student's current grades in the course where they differ from what was sent (no commit)."""
    people = db.session.scalars(
        sa.select(SkillMastery.person_id).where(SkillMastery.course_id == course_id).distinct()
    ).all()
    return sum(publish_mastery(course_id, person_id, now=now) for person_id in sorted(people))


def grading_settings(course_id: int) -> tuple[str, bool] | None:
    """Return (scheme, per-skill columns on) for the course, or None when it has no content yet."""
    content = course_content(course_id)
    return (content.grading_scheme, content.per_skill_grades) if content else None
