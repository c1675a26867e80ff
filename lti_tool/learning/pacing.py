"""Pacing: target dates per skill from the course end date and the learner's own pace, and an honest status.

The learner's pace is skills mastered per week, blended with the pace the course plan needs (as if the learner
had already spent `prior_weeks` at that pace), so two lucky days do not make a prediction. A learner with no
activity yet is "not started yet", and one in their first week is "just started": neither is called behind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

#: Weeks of pseudo-observation at the planned pace; two weeks lets real data dominate within a month.
PRIOR_WEEKS = 2.0

#: A learner is only called ahead or behind when more than this many skills (and 10% of all) from the plan.
TOLERANCE_SKILLS = 1.0

#: Before this many days of activity, nothing is said about being ahead or behind.
SETTLING_DAYS = 7


class PaceStatus(StrEnum):
    """Where a learner stands against the course plan, in the words shown to them."""

    NOT_STARTED = "Not started yet"
    JUST_STARTED = "Just started"
    ON_TRACK = "On track"
    BEHIND = "Behind"
    AHEAD = "Ahead"
    DONE = "All done"


@dataclass(frozen=True)
class PacePlan:
    """A learner's pace, target dates for the skills still to learn, and the numbers explained in words."""

    status: PaceStatus
    mastered: int
    total: int
    #: Skills mastered per week, from the learner's own record; None before there is any.
    observed_per_week: float | None
    #: The blended pace used for targets (own record plus the planned pace as a prior).
    estimated_per_week: float
    #: What it takes to finish by the end date from today; None once the end date has passed.
    needed_per_week: float | None
    #: When the learner would finish at the estimated pace; None if already done.
    projected_finish: date | None
    #: Weeks since the learner started (0 before they start), and the course end date, for teacher-facing text.
    weeks_active: float
    course_end: date
    #: A target date for each skill still to learn, in the order given.
    targets: dict[str, date] = field(default_factory=dict)
    explanation: str = ""


def _rate(value: float) -> str:
    # "1.5 a week", "about 1 a week": one decimal is as precise as this estimate deserves.
    rounded = round(value, 1)
    return f"{rounded:g} a week"


def _day(value: date) -> str:
    return f"{value.day} {value:%B}"


def _skills(count: float) -> str:
    return "1 skill" if count == 1 else f"{count:g} skills"


def plan_pace(
    remaining: Sequence[str],
    mastered_on: Sequence[date],
    *,
    course_start: date,
    course_end: date,
    today: date,
    started_on: date | None = None,
    prior_weeks: float = PRIOR_WEEKS,
) -> PacePlan:
    """Return the learner's pace plan.

    `remaining` lists the skills still to learn in the order they should be learnt (e.g. topological order);
    `mastered_on` holds the date each mastered skill was reached; `started_on` is the learner's first activity
    (None if none yet). A learner who joined late is measured from when they started, not from course start.
    """
    if course_end <= course_start:
        raise ValueError("The course must end after it starts.")
    mastered = sum(1 for d in mastered_on if d <= today)
    total = len(remaining) + len(mastered_on)
    if started_on is None and mastered_on:
        started_on = min(mastered_on)
    begin = max(course_start, started_on) if started_on else max(course_start, today)
    days_left = (course_end - today).days
    weeks_left = days_left / 7
    planned = total / max((course_end - begin).days / 7, 1 / 7)
    needed = len(remaining) / weeks_left if days_left > 0 else None

    active_weeks = max((today - begin).days, 0) / 7 if started_on else 0.0
    observed = mastered / active_weeks if started_on and active_weeks >= 1 else None
    pooled_weeks = active_weeks + max(prior_weeks, 0.0)
    estimated = (mastered + max(prior_weeks, 0.0) * planned) / pooled_weeks if pooled_weeks else planned
    # With no prior and nothing mastered yet, a zero pace would put every target at infinity.
    estimated = estimated if estimated > 0 else planned

    if not remaining:
        return PacePlan(
            PaceStatus.DONE,
            mastered,
            total,
            observed,
            estimated,
            needed,
            None,
            active_weeks,
            course_end,
            {},
            f"You've mastered all {_skills(total)}. Well done! Keep your reviews going so they stay fresh.",
        )

    # Targets go at the learner's pace when that is quick enough, and at the pace the end date needs otherwise,
    # because a target after the course ends helps nobody.
    target_pace = max(estimated, needed or 0.0)
    targets: dict[str, date] = {}
    for index, skill_id in enumerate(remaining):
        offset = math.ceil((index + 1) / target_pace * 7)
        target = today + timedelta(days=offset)
        targets[skill_id] = min(target, course_end) if days_left > 0 else today
    projected = today + timedelta(days=math.ceil(len(remaining) / estimated * 7))

    if started_on is None:
        status = PaceStatus.NOT_STARTED
    elif (today - begin).days < SETTLING_DAYS:
        status = PaceStatus.JUST_STARTED
    else:
        elapsed = min(max((today - begin).days / max((course_end - begin).days, 1), 0.0), 1.0)
        expected = total * elapsed
        tolerance = max(TOLERANCE_SKILLS, 0.1 * total)
        if mastered < expected - tolerance:
            status = PaceStatus.BEHIND
        elif mastered > expected + tolerance:
            status = PaceStatus.AHEAD
        else:
            status = PaceStatus.ON_TRACK

    explanation = _explain(
        status, mastered, total, len(remaining), observed, active_weeks, needed, course_end, projected, begin, today
    )
    return PacePlan(
        status, mastered, total, observed, estimated, needed, projected, active_weeks, course_end, targets, explanation
    )


def _explain(
    status: PaceStatus,
    mastered: int,
    total: int,
    left: int,
    observed: float | None,
    active_weeks: float,
    needed: float | None,
    course_end: date,
    projected: date,
    begin: date,
    today: date,
) -> str:
    if needed is None:
        finish = f"The course ended on {_day(course_end)}, with {_skills(left)} still to learn."
    else:
        finish = f"To finish the other {_skills(left)} by {_day(course_end)}, you'd need about {_rate(needed)}."
    if status is PaceStatus.NOT_STARTED:
        return f"You haven't started yet, so there's no pace to measure. {finish}"
    if observed is None:
        days = (today - begin).days
        since = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
        return (
            f"You started {since} and have mastered {_skills(mastered)} of {total} so far. "
            f"It's too early to measure your pace. {finish}"
        )
    weeks = f"{active_weeks:.0f} week{'s' if round(active_weeks) != 1 else ''}"
    record = f"You've mastered {mastered} of {total} skills in {weeks} (about {_rate(observed)})."
    verdict = {
        PaceStatus.ON_TRACK: "That's on track.",
        PaceStatus.AHEAD: "That's ahead of the plan.",
        PaceStatus.BEHIND: "That's behind the plan, so a little more each week will help you catch up.",
        PaceStatus.JUST_STARTED: "",
    }.get(status, "")
    at_pace = f"At your pace so far you'd finish around {_day(projected)}."
    return " ".join(part for part in (record, finish, at_pace, verdict) if part)
