"""Next steps for one learner: a few activities on the edge of what they know, each with a reason they can read.

Order of priority: skills the teacher assigned first (until the learner is Proficient on them), then skills on the
way to a goal, then skills that open up the most others. Skills due for review are not steps: the plan's Review box
takes them all together as one mixed review (retrieval practice after a gap is what makes learning stick), so a
due skill has one way in, not two. Apart from assigned skills, only skills whose prerequisites are shown (Proficient or
above) are offered, so nothing is far beyond what the learner can do now. Every recommended skill lists every
kind and modality of activity and every way to show mastery: learners choose, the planner never matches content
to a supposed "learning style".
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .mastery import Level
from .messages import N_
from .review import DueReview
from .skills import SkillGraph

#: Prerequisites count as shown from this level up.
READY_LEVEL = Level.PROFICIENT
_READY = frozenset(level for level in Level if level.rank >= READY_LEVEL.rank)


class ActivityKind(StrEnum):
    """What an activity asks of the learner, as in the course pack."""

    PRACTICE = "practice"
    RESOURCE = "resource"
    PROJECT = "project"
    DISCUSSION = "discussion"
    OFFLINE = "offline"


# Learn before practising, practise before the bigger tasks: the order activities are listed in a step.
_KIND_ORDER = {"resource": 0, "practice": 1, "project": 2, "discussion": 3, "offline": 4}


@dataclass(frozen=True)
class PlanActivity:
    """An activity the planner can recommend: its id, title, kind, modality and the skills it covers."""

    id: str
    title: str
    kind: str
    skill_ids: tuple[str, ...]
    #: e.g. "video", "reading", "hands-on"; shown to the learner, never used to filter.
    modality: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "skill_ids", tuple(self.skill_ids))


@dataclass(frozen=True)
class Goal:
    """A goal set by the learner or the teacher: reach these skills."""

    id: str
    title: str
    skill_ids: tuple[str, ...]
    set_by: str = "teacher"
    #: The unit a unit link opens (a Deep Linking placement of a unit), not a goal anyone set: steps name it a unit.
    unit: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "skill_ids", tuple(self.skill_ids))


class StepReason(StrEnum):
    """Why a step was chosen, for ordering and for the page to pick an icon."""

    ASSIGNED = "assigned"
    GOAL = "goal"
    UNLOCKS = "unlocks"
    READY = "ready"


@dataclass(frozen=True)
class WayToShow:
    """One way to show mastery of a skill: a practice set, a project, or explaining it in your own words."""

    kind: str
    #: The activity's title as the pack names it ("" for "explain it", which pages word in the learner's language).
    title: str = ""
    #: None for "explain it": the app links its own write-or-record page, which a teacher then reviews.
    activity_id: str | None = None


@dataclass(frozen=True)
class NextStep:
    """One recommended step: the skill, the activity to start with, the reason in plain words, and the choices."""

    skill_id: str
    skill_name: str
    reason: StepReason
    why: str
    level: Level
    #: The activity to start with, or None when the course has no activity for the skill yet.
    activity: PlanActivity | None
    #: Every activity for the skill, in every kind and modality.
    activities: tuple[PlanActivity, ...]
    ways_to_show: tuple[WayToShow, ...]
    goal_id: str | None = None
    #: `why` as sentence templates with their values, so pages can show it in the learner's language.
    why_parts: tuple[WhyPart, ...] = ()
    #: For a step the teacher assigned: when it is due, if they set a date.
    due_on: date | None = None
    #: The learner's last answers on the skill all missed (the level table's "last 2 missed"): the step says to
    #: learn it another way before more questions, as the practice feedback did, and offers to ask the teacher.
    missed_lately: bool = False

    @property
    def assigned(self) -> bool:
        return self.reason is StepReason.ASSIGNED


#: A sentence template ("%(name)s" placeholders) and its values; a tuple value is a list of names to join.
WhyPart = tuple[str, dict[str, str | tuple[str, ...]]]


def render_why(parts: Sequence[WhyPart]) -> str:
    """Return the English text of a step's reason."""
    return " ".join(
        template % {k: _join(v) if isinstance(v, tuple) else v for k, v in values.items()} if values else template
        for template, values in parts
    )


def activities_by_skill(activities: Iterable[PlanActivity]) -> dict[str, tuple[PlanActivity, ...]]:
    """Return each skill's activities, by kind (a stable sort keeps the course's own order within a kind).

    What `plan_next_steps` reads the activities as; a page that plans often can group a course's once.
    """
    by_skill: dict[str, list[PlanActivity]] = {}
    for activity in activities:
        for skill_id in activity.skill_ids:
            by_skill.setdefault(skill_id, []).append(activity)
    return {skill_id: tuple(sorted(listed, key=lambda a: _KIND_ORDER.get(a.kind, len(_KIND_ORDER))))
            for skill_id, listed in by_skill.items()}


def step_candidates(graph: SkillGraph, by_skill: Mapping[str, Sequence[PlanActivity]]
                    ) -> tuple[tuple[str, frozenset[str]], ...]:
    """Return the skills that have an activity (`activities_by_skill`), in the graph's order, with their
    prerequisites: the skills `plan_next_steps` can offer as steps, the same for every learner.

    The prerequisites as a set: `plan_next_steps` asks whether the ready skills include them for every candidate,
    and a set's issuperset of a tuple first makes a set of it.
    """
    return tuple((skill.id, frozenset(skill.prerequisites)) for skill in graph.in_order() if by_skill.get(skill.id))


def plan_next_steps(
    graph: SkillGraph,
    levels: Mapping[str, Level],
    activities: Iterable[PlanActivity] | Mapping[str, Sequence[PlanActivity]],
    goals: Sequence[Goal],
    due_reviews: Sequence[DueReview],
    *,
    limit: int = 5,
    shown_levels: Mapping[str, Level] | None = None,
    assigned: Mapping[str, date | None] | None = None,
    candidates: Sequence[tuple[str, Collection[str]]] | None = None,
    another_sitting: Container[str] = frozenset(),
    teacher_holds: Container[str] = frozenset(),
    missed_lately: Container[str] = frozenset(),
) -> list[NextStep]:
    """Return up to `limit` next steps: assigned skills, then skills toward goals, then skills that unlock the most.

    `activities` are the course's, or `activities_by_skill` of them. Skills in `due_reviews` are left out: the
    mixed review (the plan's Review box) is their way in, and a step for them as well would offer the same review
    twice. Skills with no activity in the course are left out: there would be nothing to open. `levels` decide
    what is ready; `shown_levels` (default: the same) are the learner's own levels, which the steps show and
    explain, so a page never shows two levels for one skill. A skill ready in `levels` but not in `shown_levels`
    is ready on the placement check's word only (`diagnostic.levels_for_planning`): what builds on it is offered,
    it is offered itself only after the other new skills, as a quick confirmation, and no reason says the
    learner has shown it.

    `assigned` maps the skills the teacher assigned to their due dates (or None): each comes first, soonest due
    first, until the learner's own level is Proficient or above, even before its prerequisites are shown (the
    teacher chose it), and is not offered again further down.

    `candidates` are `step_candidates(graph, activities)`, which a page that plans often can work out once.
    `another_sitting` holds the Proficient skills that lack only another sitting for Mastered
    (`MasteryModel.needs_only_another_sitting`): their steps say to take a break and come back, not to practise more,
    and come after the other new skills. `teacher_holds` holds the skills whose level only the teacher changes (they
    set it below what the answers showed): their steps do not say that practice moves the learner up.
    `missed_lately` holds the skills whose last answers all missed (`Standing.missed_lately`): their steps say to
    learn it another way first, not that more practice moves the learner up.
    """
    shown = levels if shown_levels is None else shown_levels
    if limit <= 0:
        return []
    by_skill = activities if isinstance(activities, Mapping) else activities_by_skill(activities)
    # The graph's own index of its order, not a dict of every skill built afresh: only the few skills sorted
    # below are looked up (a 400-skill course asks this on every plan page).
    order = graph.position

    def level_of(skill_id: str) -> Level:
        return levels.get(skill_id, Level.NOT_STARTED)

    assigned = assigned or {}
    open_assigned = sorted(
        (s for s in assigned
         if s in graph and by_skill.get(s) and shown.get(s, Level.NOT_STARTED).rank < READY_LEVEL.rank),
        key=lambda s: (assigned[s] is None, assigned[s] or date.min, order(s)),
    )
    # An assigned skill stays a step even when due: the teacher asked for it.
    reviewed = {r.skill_id for r in due_reviews} - set(open_assigned)
    # The pass over every skill of the course: set and dict lookups only (a 400-skill course asks it on every plan).
    left_out = reviewed.union(open_assigned)
    mastered = Level.MASTERED
    ready = {skill_id for skill_id, level in levels.items() if level in _READY}
    # Usually empty: only a placement check's stand-in levels differ from the learner's own.
    assumed = frozenset(s for s in ready if shown.get(s, Level.NOT_STARTED) not in _READY) if shown is not levels \
        else frozenset()
    # Only skills with an activity can be steps: those (the same for every learner) are found once per graph and
    # activities when the caller keeps them (`candidates`), not asked of every skill on every plan.
    candidates = step_candidates(graph, by_skill) if candidates is None else candidates
    frontier = [
        skill_id
        for skill_id, prerequisites in candidates
        if levels.get(skill_id) is not mastered
        and skill_id not in left_out
        and ready.issuperset(prerequisites)
    ]

    # A goal is still open while any of its skills is not mastered; its skills and everything they need count.
    goal_of: dict[str, Goal] = {}
    for goal in goals:
        targets = [s for s in goal.skill_ids if s in graph]
        if all(level_of(s) is Level.MASTERED for s in targets):
            continue
        for target in targets:
            for skill_id in (*graph.prerequisites_of(target, transitive=True), target):
                goal_of.setdefault(skill_id, goal)
    goal_rank = {goal.id: index for index, goal in enumerate(goals)}
    unlocks = {s: len(graph.dependents_of(s, transitive=True)) for s in frontier}

    def priority(skill_id: str) -> tuple[bool, bool, int, int, int, int]:
        goal = goal_of.get(skill_id)
        # Last the skills that wait for another sitting (practice now cannot move them: the step says to come back
        # later, so it is not the first thing to do), then those to confirm (the check suggests they are known);
        # within a tier: the teacher's or learner's first goal first, then what opens most, then course order.
        return (skill_id in another_sitting, skill_id in assumed, 0 if goal else 1, goal_rank[goal.id] if goal else 0,
                -unlocks[skill_id], order(skill_id))

    new_skills = sorted(frontier, key=priority)
    first = [_assigned_step(graph, s, shown, by_skill[s], assigned[s], s in teacher_holds, s in missed_lately)
             for s in open_assigned][:limit]
    limit -= len(first)
    if limit <= 0:
        return first
    steps = [_learning_step(graph, skill_id, shown, by_skill[skill_id], goal_of.get(skill_id), unlocks, assumed,
                            another_sitting, teacher_holds, missed_lately) for skill_id in new_skills[:limit]]
    return first + steps


#: A step's sentence after the learner's last answers on its skill all missed (`NextStep.missed_lately`).
_MISSED_LATELY = N_("Your last answers on it missed: before more questions, try one of the ways to learn it, "
                    "or ask your teacher.")


def _assigned_step(graph: SkillGraph, skill_id: str, levels: Mapping[str, Level], listed: Sequence[PlanActivity],
                   due_on: date | None, held_by_teacher: bool = False, missed_lately: bool = False) -> NextStep:
    skill = graph[skill_id]
    level = levels.get(skill_id, Level.NOT_STARTED)
    parts: list[WhyPart] = [(N_("Your teacher assigned this skill."), {})]
    missing = [graph[p].name for p in skill.prerequisites if levels.get(p, Level.NOT_STARTED).rank < READY_LEVEL.rank]
    if missing:
        parts.append((N_("It builds on %(names)s: ask your teacher if you get stuck."), {"names": tuple(missing)}))
    # After misses in a row an assigned step says what any other step says then (`_learning_step`), and offers to
    # ask the teacher too: an assigned skill is no less likely to be the one the learner is stuck on.
    stuck = level is not Level.NOT_STARTED and missed_lately
    if stuck:
        parts.append((_MISSED_LATELY, {}))
    if held_by_teacher:
        # Answers do not raise a level only the teacher changes (`teacher_holds`): only the teacher moves it on.
        parts.append((N_("It stays at the top of your plan until your teacher sets your level to Proficient or "
                         "removes the assignment."), {}))
    else:
        parts.append((N_("It leaves the top of your plan once you reach Proficient."), {}))
    practice = [a for a in listed if a.kind == ActivityKind.PRACTICE]
    first = listed[0] if level is Level.NOT_STARTED or not practice else practice[0]
    return NextStep(
        skill_id=skill_id,
        skill_name=skill.name,
        reason=StepReason.ASSIGNED,
        why=render_why(parts),
        why_parts=tuple(parts),
        level=level,
        activity=first,
        activities=tuple(listed),
        ways_to_show=_ways_to_show(listed),
        due_on=due_on,
        missed_lately=stuck,
    )


def _learning_step(
    graph: SkillGraph,
    skill_id: str,
    levels: Mapping[str, Level],
    listed: Sequence[PlanActivity],
    goal: Goal | None,
    unlocks: Mapping[str, int],
    assumed: Collection[str] = frozenset(),
    another_sitting: Container[str] = frozenset(),
    teacher_holds: Container[str] = frozenset(),
    missed_lately: Container[str] = frozenset(),
) -> NextStep:
    skill = graph[skill_id]
    level = levels.get(skill_id, Level.NOT_STARTED)
    # A reason cites only what the learner has shown; what the placement check suggests is said to be that.
    prerequisites = [graph[p].name for p in skill.prerequisites if p not in assumed]
    suggested = [graph[p].name for p in skill.prerequisites if p in assumed]
    parts: list[WhyPart] = []
    # After misses in a row the step says what the practice feedback said (learn it another way first), not that
    # more practice moves the learner up, and not that they are ready for it or know it already: it names what the
    # skill builds on, to go back over, in place of "You're ready for this".
    stuck = level is not Level.NOT_STARTED and skill_id in missed_lately
    if stuck:
        if skill.prerequisites:
            parts.append((N_("Going back over what it builds on can help: %(names)s."),
                          {"names": tuple(graph[p].name for p in skill.prerequisites)}))
    elif skill_id in assumed:
        parts.append((N_("The placement check suggests you know this already: a short practice confirms it."), {}))
    elif prerequisites and suggested:
        parts.append((N_("You're ready for this: you've shown %(names)s, and the placement check suggests you "
                         "know %(others)s."), {"names": tuple(prerequisites), "others": tuple(suggested)}))
    elif suggested:
        parts.append((N_("You're ready for this: the placement check suggests you know %(names)s."),
                      {"names": tuple(suggested)}))
    elif prerequisites:
        parts.append((N_("You're ready for this: you've shown %(names)s."), {"names": tuple(prerequisites)}))
    else:
        parts.append((N_("You're ready for this: it doesn't need anything you haven't done."), {}))
    # A confirmation's first sentence says what it is for; practice does not move a level only the teacher changes
    # (the plan's table says so), so no sentence says it does.
    if stuck:
        parts.append((_MISSED_LATELY, {}))
    elif skill_id not in assumed and skill_id not in teacher_holds:
        parts.extend(_level_parts(level, skill_id in another_sitting))
    opened = unlocks.get(skill_id, 0)
    if goal is not None:
        reason = StepReason.GOAL
        if goal.unit:
            # The unit link's own unit: no such goal is on the student's goals page, so it is not called one.
            if skill_id in goal.skill_ids:
                parts.append((N_("It's part of this unit, '%(unit)s'."), {"unit": goal.title}))
            else:
                parts.append((N_("Practising it gets you ready for this unit, '%(unit)s'."), {"unit": goal.title}))
        elif goal.set_by == "student":
            if skill_id in goal.skill_ids:
                parts.append((N_("It's part of your goal '%(goal)s'."), {"goal": goal.title}))
            else:
                parts.append((N_("Practising it moves you toward your goal '%(goal)s'."), {"goal": goal.title}))
        # A course goal is the teacher's: the goals page lists it under "Goals from your teacher", not as the
        # student's own, so the step names it the same way.
        elif skill_id in goal.skill_ids:
            parts.append((N_("It's part of your teacher's goal '%(goal)s'."), {"goal": goal.title}))
        else:
            parts.append((N_("Practising it moves you toward your teacher's goal '%(goal)s'."), {"goal": goal.title}))
    elif opened:
        reason = StepReason.UNLOCKS
        next_names = [graph[s].name for s in graph.dependents_of(skill_id)]
        if opened == 1:
            parts.append((N_("Learning it opens up 1 more skill, like %(skill)s."), {"skill": next_names[0]}))
        else:
            parts.append((N_("Learning it opens up %(count)s more skills, like %(skill)s."),
                          {"count": str(opened), "skill": next_names[0]}))
    else:
        reason = StepReason.READY
    # A skill not started yet begins with something to learn from; one already started goes on with practice.
    practice = [a for a in listed if a.kind == ActivityKind.PRACTICE]
    first = listed[0] if level is Level.NOT_STARTED or not practice else practice[0]
    return NextStep(
        skill_id=skill_id,
        skill_name=skill.name,
        reason=reason,
        why=render_why(parts),
        why_parts=tuple(parts),
        level=level,
        activity=first,
        activities=tuple(listed),
        ways_to_show=_ways_to_show(listed),
        goal_id=goal.id if goal else None,
        missed_lately=stuck,
    )


def _level_parts(level: Level, another_sitting: bool) -> list[WhyPart]:
    """Return what a learning step says about the learner's own level on it (nothing before they start)."""
    if level in (Level.ATTEMPTED, Level.FAMILIAR):
        return [(N_("You've already started it and you're at %(level)s; more practice moves you up."),
                 {"level": level.value})]
    if level is Level.PROFICIENT and another_sitting:
        # Mastered needs a second sitting: more practice now would not get there, so the step says what will.
        return [(N_("You're Proficient already. To reach Mastered, take a break of an hour or more, then come back "
                    "and show it sticks."), {})]
    if level is Level.PROFICIENT:
        return [(N_("You're Proficient already; more practice gets you to Mastered."), {})]
    return []


def _ways_to_show(listed: Sequence[PlanActivity]) -> tuple[WayToShow, ...]:
    ways = [WayToShow("practice", a.title, a.id) for a in listed if a.kind == ActivityKind.PRACTICE]
    ways += [WayToShow("project", a.title, a.id) for a in listed if a.kind == ActivityKind.PROJECT]
    # Always offered, so a learner who prefers to talk it through or write it down can show it that way too.
    ways.append(WayToShow("explanation"))
    return tuple(ways)


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
