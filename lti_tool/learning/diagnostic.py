"""A short placement check on first launch: find where a learner's knowledge ends on the skill map.

It works like a binary search on the map ("git bisect" for skills): each question tests the skill that best
splits what is still unknown. A right answer suggests the skill's prerequisites are known too; a wrong one
suggests the skills built on it are not. Once the edge is found, spare questions ask a second time about the
skills on either side of it. One answer is weak evidence, so the result only seeds gentle priors
for the mastery model, clearly labelled as coming from the placement check, and the learner's own practice
soon outweighs it. When answers contradict each other (right on a skill, wrong on what it needs) the check
asks again about the lower skill rather than guessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .mastery import Level
from .messages import N_
from .skills import SkillGraph

#: The check never asks more than this many questions.
MAX_ITEMS = 12

#: Head start in log-odds for the mastery model (`SkillState.prior`); small on purpose, see module docstring.
PRIOR_ANSWERED = 0.8
PRIOR_INFERRED = 0.4

#: Where placement results come from, for labels and audit.
SOURCE = "placement check"




@dataclass(frozen=True)
class DiagnosticAnswer:
    """One answer in the placement check."""

    item_id: str
    skill_id: str
    correct: bool


@dataclass(frozen=True)
class DiagnosticState:
    """The answers given so far; store it between requests and pass it back in."""

    answers: tuple[DiagnosticAnswer, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(self.answers))

    def answer(self, item_id: str, skill_id: str, correct: bool) -> DiagnosticState:
        """Return the state with one more answer."""
        return DiagnosticState((*self.answers, DiagnosticAnswer(item_id, skill_id, correct)))

    @property
    def asked(self) -> frozenset[str]:
        """Return the ids of the items asked so far."""
        return frozenset(a.item_id for a in self.answers)

    def to_dict(self) -> dict[str, object]:
        """Return the state as a JSON-serialisable dict."""
        return {"answers": [[a.item_id, a.skill_id, a.correct] for a in self.answers]}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DiagnosticState:
        """Rebuild a state from `to_dict` output."""
        rows = data.get("answers", []) or []
        return cls(tuple(DiagnosticAnswer(str(i), str(s), bool(c)) for i, s, c in rows))  # type: ignore[union-attr]


class Belief(StrEnum):
    """What the placement check concluded about one skill."""

    KNOWN = "known"
    LIKELY_KNOWN = "likely known"
    NOT_YET = "not yet"
    LIKELY_NOT_YET = "likely not yet"
    UNKNOWN = "not checked"


@dataclass(frozen=True)
class Placement:
    """The placement check's result for one skill: a belief, a weak prior for the mastery model, and a reason."""

    skill_id: str
    belief: Belief
    #: Log-odds head start to seed `SkillState(skill_id, prior=...)` for a learner with no answers yet.
    prior: float
    reason: str
    source: str = SOURCE
    #: The reason as a sentence template and its values, for pages in the learner's language.
    reason_parts: tuple[tuple[str, dict[str, str]], ...] = ()

    @property
    def likely_known(self) -> bool:
        """Return whether the check suggests the learner already knows the skill."""
        return self.belief in (Belief.KNOWN, Belief.LIKELY_KNOWN)


def _verdicts(state: DiagnosticState) -> dict[str, bool | None]:
    # Majority of a skill's answers; a tie means the check could not tell and may ask again.
    tally: dict[str, list[int]] = {}
    for answer in state.answers:
        right_wrong = tally.setdefault(answer.skill_id, [0, 0])
        right_wrong[0 if answer.correct else 1] += 1
    return {s: (None if right == wrong else right > wrong) for s, (right, wrong) in tally.items()}


def _beliefs(graph: SkillGraph, state: DiagnosticState) -> dict[str, Belief]:
    verdicts = {s: v for s, v in _verdicts(state).items() if s in graph}
    known_above: set[str] = set()
    unknown_below: set[str] = set()
    for skill_id, verdict in verdicts.items():
        if verdict is True:
            known_above.update(graph.prerequisites_of(skill_id, transitive=True))
        elif verdict is False:
            unknown_below.update(graph.dependents_of(skill_id, transitive=True))
    beliefs: dict[str, Belief] = {}
    for skill_id in graph.topological_order():
        verdict = verdicts.get(skill_id, "untested")
        if verdict is True:
            beliefs[skill_id] = Belief.KNOWN
        elif verdict is False:
            beliefs[skill_id] = Belief.NOT_YET
        elif verdict is None:
            beliefs[skill_id] = Belief.UNKNOWN
        elif (skill_id in known_above) == (skill_id in unknown_below):
            # Neither, or both: the evidence around this skill disagrees, so it stays open.
            beliefs[skill_id] = Belief.UNKNOWN
        else:
            beliefs[skill_id] = Belief.LIKELY_KNOWN if skill_id in known_above else Belief.LIKELY_NOT_YET
    return beliefs


def _contradicted(graph: SkillGraph, state: DiagnosticState) -> list[str]:
    # A skill answered wrong although something built on it was answered right: one of the two was a slip
    # or a guess. Asking again about the lower skill settles it for both.
    verdicts = _verdicts(state)
    wrong = [s for s, v in verdicts.items() if v is False and s in graph]
    return [s for s in wrong if any(verdicts.get(d) is True for d in graph.dependents_of(s, transitive=True))]


def next_item(
    graph: SkillGraph,
    items_by_skill: Mapping[str, Sequence[str]],
    state: DiagnosticState,
    *,
    max_items: int = MAX_ITEMS,
) -> str | None:
    """Return the next item to ask, or None when the check has found the frontier or used its questions."""
    if len(state.answers) >= max_items:
        return None
    asked = state.asked
    per_skill = {a.skill_id: 0 for a in state.answers}
    for answer in state.answers:
        per_skill[answer.skill_id] += 1

    def unasked(skill_id: str) -> str | None:
        return next((i for i in items_by_skill.get(skill_id, ()) if i not in asked), None)

    order = {skill_id: index for index, skill_id in enumerate(graph.topological_order())}
    # Settle contradictions first, lowest skill first, but ask at most three times about one skill.
    for skill_id in sorted(_contradicted(graph, state), key=order.__getitem__):
        item = unasked(skill_id) if per_skill.get(skill_id, 0) < 3 else None
        if item is not None:
            return item

    beliefs = _beliefs(graph, state)
    open_skills = {s for s, b in beliefs.items() if b is Belief.UNKNOWN}
    best: tuple[int, int, int] | None = None
    best_item: str | None = None
    for skill_id in graph.topological_order():
        if skill_id not in open_skills:
            continue
        item = unasked(skill_id)
        if item is None:
            continue
        # A right answer settles the open skills below, a wrong one those above: ask where the worse case
        # settles most, as a binary search does; then prefer the bigger total, then the lower skill.
        below = sum(1 for s in graph.prerequisites_of(skill_id, transitive=True) if s in open_skills)
        above = sum(1 for s in graph.dependents_of(skill_id, transitive=True) if s in open_skills)
        score = (min(below, above) + 1, below + above, -order[skill_id])
        if best is None or score > best:
            best, best_item = score, item
    if best_item is not None:
        return best_item

    # The frontier is found. Spare questions confirm the skills on either side of it, where one slip or lucky
    # guess would misplace the learner most; a disagreeing second answer reopens the skill for a third.
    known = (Belief.KNOWN, Belief.LIKELY_KNOWN)
    for skill_id in graph.topological_order():
        belief = beliefs[skill_id]
        if per_skill.get(skill_id) != 1 or belief not in (Belief.KNOWN, Belief.NOT_YET):
            continue
        if belief is Belief.KNOWN:
            on_edge = any(beliefs[d] not in known for d in graph.dependents_of(skill_id))
        else:
            on_edge = all(beliefs[p] in known for p in graph.prerequisites_of(skill_id))
        item = unasked(skill_id) if on_edge else None
        if item is not None:
            return item
    return None


def placement(graph: SkillGraph, state: DiagnosticState) -> dict[str, Placement]:
    """Return the placement of every skill the check learnt something about, with a weak prior and a reason."""
    beliefs = _beliefs(graph, state)
    verdicts = _verdicts(state)
    result: dict[str, Placement] = {}
    for skill_id, belief in beliefs.items():
        values = {"skill": graph[skill_id].name}
        if belief is Belief.KNOWN:
            prior = PRIOR_ANSWERED
            template = N_("From the placement check: you answered a question on %(skill)s correctly.")
        elif belief is Belief.NOT_YET:
            prior = -PRIOR_ANSWERED
            template = N_("From the placement check: the question on %(skill)s didn't go right yet.")
        elif belief is Belief.LIKELY_KNOWN:
            shown = [graph[d].name for d in graph.dependents_of(skill_id, transitive=True) if verdicts.get(d) is True]
            prior, values["other"] = PRIOR_INFERRED, shown[0]
            template = N_("From the placement check: you got %(other)s right, which builds on %(skill)s.")
        elif belief is Belief.LIKELY_NOT_YET:
            missed = [
                graph[p].name for p in graph.prerequisites_of(skill_id, transitive=True) if verdicts.get(p) is False
            ]
            prior, values["other"] = -PRIOR_INFERRED, missed[-1]
            template = N_("From the placement check: %(skill)s builds on %(other)s, which needs more work first.")
        else:
            continue
        result[skill_id] = Placement(skill_id, belief, prior, template % values, reason_parts=((template, values),))
    return result


def levels_for_planning(levels: Mapping[str, Level], placed: Mapping[str, Placement]) -> dict[str, Level]:
    """Return levels for the planner only: untouched skills the check placed as known count as Proficient.

    This lets a learner who showed advanced skills start at their own frontier instead of at the bottom of
    the map. Never post these levels to the gradebook: grades come from the learner's own practice.
    """
    result = dict(levels)
    for skill_id, placed_skill in placed.items():
        if placed_skill.likely_known and result.get(skill_id, Level.NOT_STARTED) is Level.NOT_STARTED:
            result[skill_id] = Level.PROFICIENT
    return result
