"""Pacing: target dates per skill from the course end date and the learner's own pace, and an honest status.

The learner's pace is skills done (at Proficient or above, `DONE_LEVEL`) per week, blended with the pace the course
plan needs (as if the learner had already spent `prior_weeks` at that pace), so two lucky days do not make a
prediction. A learner with no activity yet is "not started yet", and one in their first week is "just started":
neither is called behind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from .mastery import Level
from .messages import N_

#: Weeks of pseudo-observation at the planned pace; two weeks lets real data dominate within a month.
PRIOR_WEEKS = 2.0

#: A learner is only called ahead or behind when more than this many skills (and 10% of all) from the plan.
TOLERANCE_SKILLS = 1.0

#: Before this many days of activity, nothing is said about being ahead or behind.
SETTLING_DAYS = 7

#: A skill counts as done for the pace at this level or above: what the units on the plan count and the gradebook's
#: default scheme grades, so every page has one "done". The plan still offers a Proficient skill toward Mastered.
DONE_LEVEL = Level.PROFICIENT
#: The stored level names that count as done.
DONE_LEVELS = frozenset(level.value for level in Level if level.rank >= DONE_LEVEL.rank)


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
    #: The explanation as sentence templates and values (dates stay dates), for pages in other languages.
    explanation_parts: tuple[PacePart, ...] = ()



#: A sentence template with "%(name)s" placeholders and its values (str, or a date shown as "17 March").
PacePart = tuple[str, dict[str, "str | date"]]


def render_parts(parts: Sequence[PacePart]) -> str:
    """Return the English text of an explanation."""
    return " ".join(
        template % {k: _day(v) if isinstance(v, date) else v for k, v in values.items()} if values else template
        for template, values in parts
    )


def _number(value: float) -> str:
    return f"{round(value, 1):g}"


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
            render_parts(done := _done_parts(total)),
            done,
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

    parts = _explain(
        status, mastered, total, len(remaining), observed, active_weeks, needed, course_end, projected, begin, today
    )
    return PacePlan(
        status, mastered, total, observed, estimated, needed, projected, active_weeks, course_end, targets,
        render_parts(parts), tuple(parts),
    )


@dataclass(frozen=True)
class DatedGoal:
    """A goal with a date, as far as the skill dates need it: which goal (its key) and the skills it names."""

    key: object
    by: date
    skills: Sequence[str]


@dataclass(frozen=True)
class SkillDateChoice:
    """The one date a skill is to be mastered by: the pace's target (`goal` None) or a goal's date, and whether the
    goal names the skill itself or a skill built on it (`builds_on`)."""

    on: date
    goal: DatedGoal | None = None
    builds_on: bool = False


def skill_dates(targets: Mapping[str, date], goals: Sequence[DatedGoal],
                prerequisites: Mapping[str, Sequence[str]] | None = None) -> dict[str, SkillDateChoice]:
    """Return one date per skill with a target: the earliest of its target and the dates of the goals naming it or
    a skill built on it (`prerequisites`: each skill's, transitively), and which goal set it.

    A goal dated before a skill's target is the student's (or the teacher's) nearer commitment; showing both dates
    would give the skill two deadlines. The skills the goal's skills build on must be mastered by then too: left at
    their later targets, the page would order "two-step equations" before "one-step equations". On a tie the target
    stands (it is the same date), then a goal naming the skill itself.
    """
    dates = {sid: SkillDateChoice(target) for sid, target in targets.items()}
    for builds_on in (False, True):
        for goal in goals:
            skills = goal.skills if not builds_on else {
                needed for skill_id in goal.skills for needed in (prerequisites or {}).get(skill_id, ())}
            for skill_id in skills:
                if skill_id in dates and goal.by < dates[skill_id].on:
                    dates[skill_id] = SkillDateChoice(goal.by, goal, builds_on)
    return dates


def _done_parts(total: int) -> tuple[PacePart, ...]:
    if total == 1:
        only = N_("You've reached Proficient or above on the course's only skill. Well done! Keep your reviews "
                  "going so it stays fresh.")
        return ((only, {}),)
    return ((N_("You've reached Proficient or above on all %(total)s skills. Well done! Keep your reviews going "
                "so they stay fresh."),
             {"total": str(total)}),)


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
) -> list[PacePart]:
    end = {"end": course_end, "left": str(left)}
    if needed is None:
        finish: PacePart = (N_("The course ended on %(end)s, with 1 skill still to learn."), end) if left == 1 else (
            N_("The course ended on %(end)s, with %(left)s skills still to learn."), end)
    else:
        end = {**end, "rate": _number(needed)}
        if left == 1:
            finish = (N_("To finish the other 1 skill by %(end)s, you'd need about %(rate)s a week."), end)
        elif mastered == 0:
            # "The other 16 skills" of a learner who has mastered none reads as if some were done already.
            finish = (N_("To finish all %(left)s skills by %(end)s, you'd need about %(rate)s a week."), end)
        else:
            finish = (N_("To finish the other %(left)s skills by %(end)s, you'd need about %(rate)s a week."), end)
    if status is PaceStatus.NOT_STARTED:
        return [(N_("You haven't started yet, so there's no pace to measure."), {}), finish]
    if observed is None:
        days = (today - begin).days
        counts = {"days": str(days), "mastered": str(mastered), "total": str(total)}
        if days == 0:
            started = N_("You started today and have reached Proficient on %(mastered)s of %(total)s skills so "
                         "far.")
        elif days == 1:
            started = N_("You started 1 day ago and have reached Proficient on %(mastered)s of %(total)s skills "
                         "so far.")
        else:
            started = N_("You started %(days)s days ago and have reached Proficient on %(mastered)s of "
                         "%(total)s skills so far.")
        return [(started, counts), (N_("It's too early to measure your pace."), {}), finish]
    record_values = {"mastered": str(mastered), "total": str(total), "weeks": f"{active_weeks:.0f}",
                     "rate": _number(observed)}
    if round(active_weeks) == 1:
        template = N_("You've reached Proficient on %(mastered)s of %(total)s skills in 1 week (about %(rate)s "
                      "a week).")
    else:
        template = N_("You've reached Proficient on %(mastered)s of %(total)s skills in %(weeks)s weeks (about "
                      "%(rate)s a week).")
    record: PacePart = (template, record_values)
    verdict = {
        PaceStatus.ON_TRACK: N_("That's on track."),
        PaceStatus.AHEAD: N_("That's ahead of the plan."),
        PaceStatus.BEHIND: N_("That's behind the plan, so a little more each week will help you catch up."),
    }.get(status)
    parts = [record, finish, (N_("At your pace so far you'd finish around %(projected)s."), {"projected": projected})]
    if verdict:
        parts.append((verdict, {}))
    return parts
