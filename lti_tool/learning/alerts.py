""" "Needs help now": the learners a teacher should look at today, each with the reason in plain words.

Four signals, most urgent first: stuck on a skill (many tries without moving up: practice alone is not
working, a person should step in), a failed review (something mastered is slipping), behind pace, and
inactive for days. The input is a small per-learner summary the service layer builds; nothing here reads a
clock, so `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

from .local_days import days_between, local_date
from .mastery import Level
from .messages import N_
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
    #: The reason as catalogued sentence fragments with their values, so a page can show it in its own language.
    reason_parts: tuple[tuple[str, dict[str, object]], ...] = ()


def _alert(kind: AlertKind, parts: tuple[tuple[str, dict[str, object]], ...], skill_id: str | None = None) -> Alert:
    """Build an alert whose English reason is its fragments filled in."""
    return Alert(kind, "".join(template % _english(values) for template, values in parts), skill_id, parts)


def _english(values: dict[str, object]) -> dict[str, object]:
    return {key: f"{value.day} {value:%B}" if isinstance(value, date) else value for key, value in values.items()}


def _ago(days: int, today: str, yesterday: str, earlier: str) -> str:
    return today if days == 0 else (yesterday if days == 1 else earlier)


@dataclass(frozen=True)
class StudentAlerts:
    """A learner who needs help now, with every reason, most urgent first."""

    student_id: str
    name: str
    alerts: tuple[Alert, ...]


def alerts_for(
    summary: StudentSummary,
    now: datetime,
    *,
    stuck_attempts: int = STUCK_ATTEMPTS,
    inactive_days: int = INACTIVE_DAYS,
    review_window: timedelta = REVIEW_WINDOW,
    zone: tzinfo = UTC,
) -> list[Alert]:
    """Return the reasons one learner needs help now, most urgent first (empty if none).

    "Today", "yesterday" and "N days ago" count calendar days in `zone`, the course's time zone: a request made at
    20:00 in Chicago is "today" there until midnight, not until 20:00 the next day.
    """
    found: list[Alert] = []
    for skill_id, skill_name, at in summary.asked:
        # The learner said so themselves: the most direct signal there is.
        ago = days_between(at, now, zone)
        template = _ago(ago, N_("Asked for help with %(skill)s today."), N_("Asked for help with %(skill)s yesterday."),
                        N_("Asked for help with %(skill)s %(days)s days ago."))
        found.append(_alert(AlertKind.ASKED, ((template, {"skill": skill_name, "days": ago}),), skill_id))
    for skill in sorted(summary.skills, key=lambda s: (-s.attempts_since_level_rose, s.skill_id)):
        # Proficient and above is progress enough; a plateau there is consolidation, not being stuck.
        if skill.level.rank < Level.PROFICIENT.rank and skill.attempts_since_level_rose >= stuck_attempts:
            template = {
                Level.NOT_STARTED: N_("Stuck on %(skill)s: %(tries)s tries without a level yet."),
                # Counted from the answer that reached Attempted (not counted itself): the student's page counts
                # every answer, so the words say where the count starts.
                Level.ATTEMPTED: N_("Stuck on %(skill)s: %(tries)s tries since reaching Attempted, "
                                    "none getting past it."),
            }.get(skill.level, N_("Stuck on %(skill)s: %(tries)s tries while staying at %(level)s."))
            values = {"skill": skill.skill_name, "tries": skill.attempts_since_level_rose, "level": skill.level.value}
            advice = N_(" More of the same practice isn't working; a quick conversation or a worked example may help.")
            found.append(_alert(AlertKind.STUCK, ((template, values), (advice, {})), skill.skill_id))
    for review in sorted(summary.failed_reviews, key=lambda r: (r.at, r.skill_id), reverse=True):
        if now - review.at <= review_window:
            ago = days_between(review.at, now, zone)
            template = _ago(ago, N_("Didn't remember %(skill)s in a review today; it's back to %(level)s."),
                            N_("Didn't remember %(skill)s in a review yesterday; it's back to %(level)s."),
                            N_("Didn't remember %(skill)s in a review %(days)s days ago; it's back to %(level)s."))
            values = {"skill": review.skill_name, "days": ago, "level": review.level_now.value}
            found.append(_alert(AlertKind.FAILED_REVIEW, ((template, values),), review.skill_id))
    if summary.pace is not None and summary.pace.status is PaceStatus.BEHIND:
        found.append(_alert(AlertKind.BEHIND, _behind_reason(summary.pace)))
    if summary.last_active is not None:
        idle = days_between(summary.last_active, now, zone)
        if idle >= inactive_days:
            template = N_("Hasn't worked in Pathways for %(days)s days (last on %(last)s).")
            last = local_date(summary.last_active, zone)
            found.append(_alert(AlertKind.INACTIVE, ((template, {"days": idle, "last": last}),)))
    elif summary.enrolled_at is not None and days_between(summary.enrolled_at, now, zone) >= inactive_days:
        idle = days_between(summary.enrolled_at, now, zone)
        template = N_("Hasn't opened Pathways yet, %(days)s days after joining the course.")
        found.append(_alert(AlertKind.INACTIVE, ((template, {"days": idle}),)))
    return found


def _behind_reason(pace: PacePlan) -> tuple[tuple[str, dict[str, object]], ...]:
    # The learner's own explanation says "you"; the teacher needs the same numbers about "them".
    weeks = round(pace.weeks_active)
    counts = {"mastered": pace.mastered, "total": pace.total, "weeks": weeks}
    parts: list[tuple[str, dict[str, object]]] = [
        (N_("Behind pace: %(mastered)s of %(total)s skills at Proficient or above in %(weeks)s week"), counts)
        if weeks == 1
        else (N_("Behind pace: %(mastered)s of %(total)s skills at Proficient or above in %(weeks)s weeks"), counts)
    ]
    if pace.observed_per_week is not None:
        parts.append((N_(" (about %(rate)s a week)"), {"rate": f"{round(pace.observed_per_week, 1):g}"}))
    if pace.needed_per_week is None:
        parts.append((N_("; the course ended on %(end)s."), {"end": pace.course_end}))
    else:
        parts.append((N_("; finishing by %(end)s needs about %(rate)s a week."),
                      {"end": pace.course_end, "rate": f"{round(pace.needed_per_week, 1):g}"}))
    return tuple(parts)


def needs_help_now(
    summaries: Iterable[StudentSummary],
    now: datetime,
    *,
    stuck_attempts: int = STUCK_ATTEMPTS,
    inactive_days: int = INACTIVE_DAYS,
    review_window: timedelta = REVIEW_WINDOW,
    zone: tzinfo = UTC,
) -> list[StudentAlerts]:
    """Return the learners who need help now, most urgent first; each with every reason (days counted in `zone`)."""
    flagged = []
    for summary in summaries:
        alerts = alerts_for(summary, now, stuck_attempts=stuck_attempts, inactive_days=inactive_days,
                            review_window=review_window, zone=zone)
        if alerts:
            flagged.append(StudentAlerts(summary.student_id, summary.name, tuple(alerts)))

    def urgency(entry: StudentAlerts) -> tuple[int, int, str, str]:
        # The most urgent reason decides; more reasons break ties; then name and id keep the list stable.
        return (min(_URGENCY[a.kind] for a in entry.alerts), -len(entry.alerts), entry.name, entry.student_id)

    return sorted(flagged, key=urgency)
