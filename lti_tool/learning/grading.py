"""From mastery levels to a gradebook score per placement, with AGS progress values and a comment naming skills.

Three schemes, chosen per course:

* due so far (default): the share of the placement's skills that are due by today (a goal's date has passed,
  with everything that goal builds on; for one student also a skill the teacher assigned them whose due date
  has passed) at Proficient or above. A learner is not marked down for what is not due yet. Until any of the
  placement's skills is due there is no grade: the score carries no scoreGiven and gradingProgress Pending
  (AGS 2.0 §3.4: scoreGiven is optional, and only a FullyGraded score is final), which gradebooks show as not
  graded yet rather than as a failing number for work that is not due.
* share of skills: the share of the placement's skills at Proficient or above, times scoreMaximum.
  Practising is never penalised; only reaching Proficient counts.
* standards average: a 4-point standards-based average, Attempted 1, Familiar 2, Proficient 3, Mastered 4, and
  Not started 0, divided by 4 and times scoreMaximum. Not started counts (as 0) rather than being left out,
  because the placement assigns all its skills: leaving them out would give a learner who mastered one skill
  of five a full score.

Scores are posted when they change, and they change only when a level does: see `score_changed` and
`levels_changed`. Field values follow LTI AGS 2.0 Score (https://www.imsglobal.org/spec/lti-ags/v2p0#score).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .mastery import Level
from .skills import SkillGraph

#: Skills at this level or above count as achieved.
ACHIEVED = Level.PROFICIENT

#: Points per level in the standards-based scheme.
STANDARDS_POINTS: Mapping[Level, int] = {
    Level.NOT_STARTED: 0,
    Level.ATTEMPTED: 1,
    Level.FAMILIAR: 2,
    Level.PROFICIENT: 3,
    Level.MASTERED: 4,
}


class GradingScheme(StrEnum):
    """How a placement turns levels into a score."""

    SHARE_PROFICIENT = "share-proficient"
    STANDARDS_AVERAGE = "standards-average"
    DUE_SO_FAR = "due-so-far"


def due_skills(
    graph: SkillGraph, goals: Iterable[tuple[Sequence[str], datetime.date | None]], today: datetime.date
) -> frozenset[str]:
    """Return the skills due by today: those of every goal whose date has passed, and all they build on."""
    due: set[str] = set()
    for skill_ids, by in goals:
        if by is None or by > today:
            continue
        for skill_id in skill_ids:
            if skill_id in graph:
                due.add(skill_id)
                due.update(graph.prerequisites_of(skill_id, transitive=True))
    return frozenset(due)


class ActivityProgress(StrEnum):
    """AGS activityProgress values Pathways uses."""

    INITIALIZED = "Initialized"
    STARTED = "Started"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"


class GradingProgress(StrEnum):
    """AGS gradingProgress values Pathways uses."""

    FULLY_GRADED = "FullyGraded"
    PENDING_MANUAL = "PendingManual"
    # No grade yet, none needed now: one is expected later (a due-so-far column before anything is due).
    PENDING = "Pending"


@dataclass(frozen=True)
class PlacementScore:
    """The score to post for one learner on one placement, in AGS terms; score_given None means "not graded yet"."""

    score_given: float | None
    score_maximum: float
    activity_progress: ActivityProgress
    grading_progress: GradingProgress
    comment: str


def _levels_of(levels: Mapping[str, Level], skill_ids: Sequence[str]) -> list[Level]:
    return [levels.get(skill_id, Level.NOT_STARTED) for skill_id in skill_ids]


def score_fraction(
    levels: Mapping[str, Level],
    skill_ids: Sequence[str],
    scheme: GradingScheme = GradingScheme.SHARE_PROFICIENT,
    due: Collection[str] = frozenset(),
) -> float | None:
    """Return the score as a fraction from 0 to 1 of the placement's skills, under the scheme.

    None under due so far while none of the placement's skills is due: there is nothing to grade yet, and any
    number (a 4-point average over skills weeks away, counting them 0) would read as failing work not yet due.
    """
    placed = _levels_of(levels, skill_ids)
    if not placed:
        return 0.0
    if scheme is GradingScheme.DUE_SO_FAR:
        due_now = [s for s in skill_ids if s in due]
        return score_fraction(levels, due_now, GradingScheme.SHARE_PROFICIENT) if due_now else None
    if scheme is GradingScheme.STANDARDS_AVERAGE:
        return sum(STANDARDS_POINTS[level] for level in placed) / (4 * len(placed))
    return sum(1 for level in placed if level.rank >= ACHIEVED.rank) / len(placed)


def grade_basis(scheme: GradingScheme, skill_ids: Sequence[str], due: Collection[str]) -> str:
    """Say what a due-so-far score is made of, so the teacher can explain it to a student or a family."""
    if scheme is not GradingScheme.DUE_SO_FAR:
        return ""
    count = sum(1 for s in skill_ids if s in due)
    if not count:
        return "Nothing is due yet: no grade until a goal date passes"
    return f"Graded on the {count} skill{'s' if count != 1 else ''} due so far"


def due_digest(scheme: GradingScheme, skill_ids: Sequence[str], due: Collection[str]) -> str | None:
    """Name the exact set of the placement's skills a due-so-far score is worked out on (None under other schemes).

    The basis names only how many: a skill the teacher assigned swapped for another reads the same there, so what
    looks for grades worked out on another due set compares this. A SHA-256 of the sorted ids: stable across
    processes and releases (unlike hash()), and one short column whatever the size of the pack.
    """
    if scheme is not GradingScheme.DUE_SO_FAR:
        return None
    return hashlib.sha256(json.dumps(sorted({s for s in skill_ids if s in due})).encode()).hexdigest()


def grading_progress(pending_evidence: bool, graded: bool = True) -> GradingProgress:
    """Return PendingManual while a teacher still has evidence to review (e.g. an explanation), else FullyGraded.

    A score with no grade yet (graded False) is Pending: final grades come later, with nothing for anyone to do.
    """
    if pending_evidence:
        return GradingProgress.PENDING_MANUAL
    return GradingProgress.FULLY_GRADED if graded else GradingProgress.PENDING


def activity_progress(levels: Sequence[Level]) -> ActivityProgress:
    """Return the AGS activityProgress for the levels of a placement's skills.

    Nothing attempted is Initialized; attempted but nothing Proficient yet is Started; some skills Proficient
    or above is InProgress; all of them Proficient or above is Completed.
    """
    if not levels or all(level is Level.NOT_STARTED for level in levels):
        return ActivityProgress.INITIALIZED
    achieved = sum(1 for level in levels if level.rank >= ACHIEVED.rank)
    if achieved == len(levels):
        return ActivityProgress.COMPLETED
    return ActivityProgress.IN_PROGRESS if achieved else ActivityProgress.STARTED


def skills_comment(levels: Mapping[str, Level], skill_ids: Sequence[str], skill_names: Mapping[str, str]) -> str:
    """Return a short comment naming the skills, e.g. "Proficient+: Fractions; still working on: Proportions"."""
    groups: dict[str, list[str]] = {"Proficient+": [], "still working on": [], "not started": []}
    for skill_id in skill_ids:
        level = levels.get(skill_id, Level.NOT_STARTED)
        name = skill_names.get(skill_id, skill_id)
        if level.rank >= ACHIEVED.rank:
            groups["Proficient+"].append(name)
        elif level is Level.NOT_STARTED:
            groups["not started"].append(name)
        else:
            groups["still working on"].append(name)
    return "; ".join(f"{label}: {', '.join(names)}" for label, names in groups.items() if names)


def placement_score(
    levels: Mapping[str, Level],
    skill_ids: Sequence[str],
    *,
    score_maximum: float = 100.0,
    scheme: GradingScheme = GradingScheme.SHARE_PROFICIENT,
    skill_names: Mapping[str, str] | None = None,
    pending_evidence: bool = False,
    due: Collection[str] = frozenset(),
) -> PlacementScore:
    """Return the score for one learner on one placement, scaled to the line item's scoreMaximum."""
    if score_maximum <= 0:
        raise ValueError("scoreMaximum must be greater than 0 (AGS).")
    # Two decimals: enough for any gradebook, and it keeps float noise from looking like a change worth posting.
    fraction = score_fraction(levels, skill_ids, scheme, due)
    given = None if fraction is None else round(fraction * score_maximum, 2)
    comment = skills_comment(levels, skill_ids, skill_names or {})
    basis = grade_basis(scheme, skill_ids, due)
    if basis:
        comment = f"{basis}. {comment}" if comment else basis
    if pending_evidence:
        comment = f"{comment} (waiting for teacher review)" if comment else "Waiting for teacher review"
    return PlacementScore(
        score_given=given,
        score_maximum=float(score_maximum),
        activity_progress=activity_progress(_levels_of(levels, skill_ids)),
        grading_progress=grading_progress(pending_evidence, graded=given is not None),
        comment=comment,
    )


def levels_changed(old: Mapping[str, Level], new: Mapping[str, Level], skill_ids: Sequence[str]) -> bool:
    """Return whether any of the placement's skills changed level (what makes a new score worth computing)."""
    return _levels_of(old, skill_ids) != _levels_of(new, skill_ids)


def score_changed(old: PlacementScore | None, new: PlacementScore) -> bool:
    """Return whether the new score differs from the last one posted in anything the gradebook shows."""
    if old is None:
        return True
    return (old.score_given, old.score_maximum, old.activity_progress, old.grading_progress, old.comment) != (
        new.score_given,
        new.score_maximum,
        new.activity_progress,
        new.grading_progress,
        new.comment,
    )
