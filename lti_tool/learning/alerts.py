""" "Needs help now": the learners a teacher should look at today, each with the reason in plain words.

Four signals, most urgent first: stuck on a skill (many tries without moving up: practice alone is not
working, a person should step in), a failed review (something mastered is slipping), behind pace, and
inactive for days. The input is a small per-learner summary the service layer builds; nothing here reads a
clock, so `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .mastery import Level
from .pacing import PacePlan, PaceStatus

#: Tries on one skill without its level rising before a learner counts as stuck.
STUCK_ATTEMPTS = 8

#: Days without activity before a learner counts as inactive.
INACTIVE_DAYS = 7

#: A failed review is news for this long; after that, the learner's plan has picked it up.
REVIEW_WINDOW = timedelta(days=7)


class AlertKind(StrEnum):
    """Why a learner needs help, most urgent first."""

    ASKED = "asked for help"
    STUCK = "stuck"
    FAILED_REVIEW = "failed review"
    BEHIND = "behind pace"
    INACTIVE = "inactive"


_URGENCY = {kind: index for index, kind in enumerate(AlertKind)}


@dataclass(frozen=True)
class SkillProgress:
    """A learner's current effort on one skill: its level and the tries since that level was reached."""

    skill_id: str
    skill_name: str
    level: Level
    attempts_since_level_rose: int


@dataclass(frozen=True)
class FailedReview:
    """A spaced review the learner did not pass, and the level the skill dropped to."""

    skill_id: str
    skill_name: str
    at: datetime
    level_now: Level = Level.PROFICIENT


@dataclass(frozen=True)
class StudentSummary:
    """What the alerts need to know about one learner; datetimes must be of the same kind (aware or not) as now."""

    student_id: str
    name: str
    last_active: datetime | None = None
    #: When the learner joined the course, so one who never opened Pathways can be flagged after a while.
    enrolled_at: datetime | None = None
    skills: tuple[SkillProgress, ...] = field(default_factory=tuple)
    failed_reviews: tuple[FailedReview, ...] = field(default_factory=tuple)
    #: The learner's pace plan from `pacing.plan_pace`, if the course has an end date.
    pace: PacePlan | None = None
    #: Skills the learner asked the teacher about ("ask my teacher"), with when, newest first.
    asked: tuple[tuple[str, str, datetime], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", tuple(self.skills))
        object.__setattr__(self, "failed_reviews", tuple(self.failed_reviews))


@dataclass(frozen=True)
class Alert:
    """One reason a learner needs help, in plain words."""

    kind: AlertKind
    reason: str
    skill_id: str | None = None


@dataclass(frozen=True)
class StudentAlerts:
    """A learner who needs help now, with every reason, most urgent first."""

    student_id: str
    name: str
    alerts: tuple[Alert, ...]


def _days(delta: timedelta) -> int:
    return delta.days


def alerts_for(
    summary: StudentSummary,
    now: datetime,
    *,
    stuck_attempts: int = STUCK_ATTEMPTS,
    inactive_days: int = INACTIVE_DAYS,
    review_window: timedelta = REVIEW_WINDOW,
) -> list[Alert]:
    """Return the reasons one learner needs help now, most urgent first (empty if none)."""
    found: list[Alert] = []
    for skill_id, skill_name, at in summary.asked:
        # The learner said so themselves: the most direct signal there is.
        ago = _days(now - at)
        when = "today" if ago == 0 else ("yesterday" if ago == 1 else f"{ago} days ago")
        found.append(Alert(AlertKind.ASKED, f"Asked for help with {skill_name} {when}.", skill_id))
    for skill in sorted(summary.skills, key=lambda s: (-s.attempts_since_level_rose, s.skill_id)):
        # Proficient and above is progress enough; a plateau there is consolidation, not being stuck.
        if skill.level.rank < Level.PROFICIENT.rank and skill.attempts_since_level_rose >= stuck_attempts:
            where = {
                Level.NOT_STARTED: "without a level yet",
                Level.ATTEMPTED: "without getting past Attempted",
            }.get(skill.level, f"while staying at {skill.level.value}")
            found.append(
                Alert(
                    AlertKind.STUCK,
                    f"Stuck on {skill.skill_name}: {skill.attempts_since_level_rose} tries {where}. "
                    "More of the same practice isn't working; a quick conversation or a worked example may help.",
                    skill.skill_id,
                )
            )
    for review in sorted(summary.failed_reviews, key=lambda r: (r.at, r.skill_id), reverse=True):
        if now - review.at <= review_window:
            ago = _days(now - review.at)
            when = "today" if ago == 0 else ("yesterday" if ago == 1 else f"{ago} days ago")
            found.append(
                Alert(
                    AlertKind.FAILED_REVIEW,
                    f"Didn't remember {review.skill_name} in a review {when}; it's back to {review.level_now.value}.",
                    review.skill_id,
                )
            )
    if summary.pace is not None and summary.pace.status is PaceStatus.BEHIND:
        found.append(Alert(AlertKind.BEHIND, _behind_reason(summary.pace)))
    if summary.last_active is not None:
        idle = _days(now - summary.last_active)
        if idle >= inactive_days:
            last = f"{summary.last_active.day} {summary.last_active:%B}"
            found.append(Alert(AlertKind.INACTIVE, f"Hasn't worked in Pathways for {idle} days (last on {last})."))
    elif summary.enrolled_at is not None and _days(now - summary.enrolled_at) >= inactive_days:
        idle = _days(now - summary.enrolled_at)
        found.append(Alert(AlertKind.INACTIVE, f"Hasn't opened Pathways yet, {idle} days after joining the course."))
    return found


def _behind_reason(pace: PacePlan) -> str:
    # The learner's own explanation says "you"; the teacher needs the same numbers about "them".
    weeks = round(pace.weeks_active)
    text = f"Behind pace: {pace.mastered} of {pace.total} skills mastered in {weeks} week{'s' if weeks != 1 else ''}"
    if pace.observed_per_week is not None:
        text += f" (about {round(pace.observed_per_week, 1):g} a week)"
    end = f"{pace.course_end.day} {pace.course_end:%B}"
    if pace.needed_per_week is None:
        return f"{text}; the course ended on {end}."
    return f"{text}; finishing by {end} needs about {round(pace.needed_per_week, 1):g} a week."


def needs_help_now(
    summaries: Iterable[StudentSummary],
    now: datetime,
    *,
    stuck_attempts: int = STUCK_ATTEMPTS,
    inactive_days: int = INACTIVE_DAYS,
    review_window: timedelta = REVIEW_WINDOW,
) -> list[StudentAlerts]:
    """Return the learners who need help now, most urgent first; each with every reason."""
    flagged = []
    for summary in summaries:
        alerts = alerts_for(
            summary, now, stuck_attempts=stuck_attempts, inactive_days=inactive_days, review_window=review_window
        )
        if alerts:
            flagged.append(StudentAlerts(summary.student_id, summary.name, tuple(alerts)))

    def urgency(entry: StudentAlerts) -> tuple[int, int, str, str]:
        # The most urgent reason decides; more reasons break ties; then name and id keep the list stable.
        return (min(_URGENCY[a.kind] for a in entry.alerts), -len(entry.alerts), entry.name, entry.student_id)

    return sorted(flagged, key=urgency)
