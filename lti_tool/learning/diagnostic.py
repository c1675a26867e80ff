"""A short placement check on first launch: find where a learner's knowledge ends on the skill map.

The check keeps a belief over the learner's *knowledge state*: the set of skills they know, which the map
says is closed under prerequisites (whoever knows a skill knows what it builds on), as in knowledge-space
theory. It starts with every such set equally likely and updates by Bayes' rule after each answer, with the
usual knowledge-tracing noise: a learner who knows a skill still slips now and then (`SLIP`), and one who does
not can guess right (one time in the number of choices on a choice item, `GUESS` on a typed one). So one slip
low on the map does not place everything built on it as "not yet" when answers higher up say otherwise, and a
right answer on a four-choice item counts for less than a miss does.

Each question asks about the skill whose answer is expected to settle most about the whole map (the largest
expected drop in the uncertainty of every skill's placement), which is a binary search when answers are clean
and a second question on the same skill when an answer was surprising. The check stops once every skill is
placed with confidence, or after `MAX_ITEMS` questions. One answer is weak evidence, so the result only seeds
gentle priors for the mastery model, clearly labelled as coming from the placement check, and the learner's
own practice soon outweighs it; on a skill placed as known it also stands in for one of the distinct items
Proficient asks for (`SkillState.placed`), so the learner's own answers confirm it in two right answers, not three.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from .mastery import Level
from .messages import N_
from .planner import READY_LEVEL
from .skills import SkillGraph

#: The check never asks more than this many questions.
MAX_ITEMS = 12

#: Head start in log-odds for the mastery model (`SkillState.prior`); small on purpose, see module docstring.
PRIOR_ANSWERED = 0.8
PRIOR_INFERRED = 0.4

#: Where placement results come from, for labels and audit.
SOURCE = "placement check"

#: Chance that a learner who knows a skill answers one of its items wrong: the usual knowledge-tracing ceiling
#: on slips (Corbett & Anderson keep it at or below 0.1).
SLIP = 0.1
#: Chance that a learner who does not know a skill gets a typed answer right anyway (partial knowledge, an easy
#: variant); a choice item's is at least one over its number of choices. A knowledge-tracing default.
GUESS = 0.2
#: The check stops once no skill's placement is wrong with a chance above this.
CONFIDENT = 0.1
#: A skill whose chance of being known is this close to a coin toss (either way) is left "not checked".
UNDECIDED = 0.15
#: A connected part of a map with more knowledge states than this is modelled by a smaller family of them.
MAX_STATES = 2_000


@dataclass(frozen=True)
class DiagnosticAnswer:
    """One answer in the placement check."""

    item_id: str
    skill_id: str
    correct: bool
    #: The student said "I haven't learnt this yet" instead of answering (counted as a wrong answer).
    not_sure: bool = False


@dataclass(frozen=True)
class DiagnosticState:
    """The answers given so far; store it between requests and pass it back in."""

    answers: tuple[DiagnosticAnswer, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(self.answers))

    def answer(self, item_id: str, skill_id: str, correct: bool, *, not_sure: bool = False) -> DiagnosticState:
        """Return the state with one more answer (not_sure: the student said they have not learnt it yet)."""
        return DiagnosticState((*self.answers, DiagnosticAnswer(item_id, skill_id, correct, not_sure)))

    @property
    def asked(self) -> frozenset[str]:
        """Return the ids of the items asked so far."""
        return frozenset(a.item_id for a in self.answers)

    def to_dict(self) -> dict[str, object]:
        """Return the state as a JSON-serialisable dict."""
        # A fourth value only for "not learnt yet": states stored before it was kept read as answers.
        return {"answers": [[a.item_id, a.skill_id, a.correct, *([True] if a.not_sure else [])]
                            for a in self.answers]}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DiagnosticState:
        """Rebuild a state from `to_dict` output."""
        rows = data.get("answers", []) or []
        return cls(tuple(DiagnosticAnswer(str(row[0]), str(row[1]), bool(row[2]), bool(row[3:4] and row[3]))
                         for row in rows))  # type: ignore[union-attr]


class Belief(StrEnum):
    """What the placement check concluded about one skill."""

    KNOWN = "known"
    LIKELY_KNOWN = "likely known"
    NOT_YET = "not yet"
    LIKELY_NOT_YET = "likely not yet"
    UNKNOWN = "not checked"


#: Who reads a reason: the learner ("you got … right") or their teacher ("got … right", about the learner).
STUDENT, TEACHER = "student", "teacher"

#: Each placement reason in the learner's words (stored with the level) and in the teacher's: one table, so the
#: two say the same thing and a stored reason can be read back into either (`placement_reason_parts`).
PLACEMENT_REASONS: dict[str, dict[str, str]] = {
    "answered": {
        STUDENT: N_("From the placement check: you answered a question on %(skill)s correctly."),
        TEACHER: N_("From the placement check: answered a question on %(skill)s correctly."),
    },
    "shown_later": {
        STUDENT: N_("From the placement check: you got %(other)s right, which builds on %(skill)s."),
        TEACHER: N_("From the placement check: got %(other)s right, which builds on %(skill)s."),
    },
    "said_not_yet": {
        STUDENT: N_("From the placement check: you said you haven't learnt %(skill)s yet."),
        TEACHER: N_("From the placement check: said they haven't learnt %(skill)s yet."),
    },
    "missed": {
        STUDENT: N_("From the placement check: the question on %(skill)s didn't go right yet."),
        TEACHER: N_("From the placement check: the question on %(skill)s didn't go right yet."),
    },
    # Right and wrong answers on the skill: "the question … didn't go right" would contradict the line that says
    # the right one placed a skill it builds on.
    "missed_some": {
        STUDENT: N_("From the placement check: some questions on %(skill)s went right, but not all of them yet."),
        TEACHER: N_("From the placement check: some questions on %(skill)s went right, but not all of them."),
    },
    "missed_before": {
        STUDENT: N_("From the placement check: %(skill)s builds on %(other)s, which needs more work first."),
        TEACHER: N_("From the placement check: %(skill)s builds on %(other)s, which needs more work first."),
    },
}


def _pattern(template: str) -> re.Pattern[str]:
    """Return a pattern matching `template` filled in, capturing each %(name)s value."""
    pieces = re.split(r"%\((\w+)\)s", template)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(pieces)) + "$")


_STORED_REASONS = tuple((kind, _pattern(words[STUDENT])) for kind, words in PLACEMENT_REASONS.items())


def placement_reason_parts(reason: str, audience: str = STUDENT,
                           names: Mapping[str, str] | None = None) -> tuple[tuple[str, dict[str, str]], ...]:
    """Return a stored placement reason (the learner's English words) as a template and values for `audience`.

    `names` renames the skills in it (the English names stored, to a page's language); () for any other text.
    """
    for kind, pattern in _STORED_REASONS:
        found = pattern.match(reason)
        if found:
            values = {key: (names or {}).get(value, value) for key, value in found.groupdict().items()}
            return ((PLACEMENT_REASONS[kind][audience], values),)
    return ()


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


# --- The knowledge states of a map -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One connected part of the map: its skills, and its knowledge states as bit masks over them."""

    skills: tuple[str, ...]
    states: tuple[int, ...]
    #: Each state's chance before the first answer: every number of known skills equally likely, and the
    #: states with the same number equally likely among themselves. (Every state equally likely would make
    #: "knows nothing" and "knows everything" 1 in 132 on the demo map, where most states sit in the middle.)
    prior: tuple[float, ...] = ()
    #: Each state's skills as indices into `skills`, worked out once.
    members: tuple[tuple[int, ...], ...] = ()


def _graph_key(graph: SkillGraph) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((s, graph.prerequisites_of(s)) for s in graph.topological_order())


@lru_cache(maxsize=32)
def _parts(key: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[_Part, ...]:
    # Unconnected parts of a map are learnt independently, so each gets its own states: a map of many small
    # parts stays small to reason about.
    parent = {s: s for s, _ in key}

    def root(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for skill, prerequisites in key:
        for p in prerequisites:
            parent[root(p)] = root(skill)
    groups: dict[str, list[str]] = {}
    for skill, _ in key:  # topological order, kept within each part
        groups.setdefault(root(skill), []).append(skill)
    needs = dict(key)
    parts = []
    for skills in groups.values():
        states = _states(tuple(skills), needs)
        sizes: dict[int, int] = {}
        for state in states:
            sizes[state.bit_count()] = sizes.get(state.bit_count(), 0) + 1
        prior = tuple(1 / (len(sizes) * sizes[state.bit_count()]) for state in states)
        members = tuple(tuple(i for i in range(len(skills)) if state >> i & 1) for state in states)
        parts.append(_Part(tuple(skills), states, prior, members))
    return tuple(parts)


def _states(skills: tuple[str, ...], needs: Mapping[str, tuple[str, ...]]) -> tuple[int, ...]:
    bit = {s: 1 << i for i, s in enumerate(skills)}
    required = [sum(bit[p] for p in needs[s]) for s in skills]
    states: list[int] = []

    def grow(i: int, mask: int) -> None:
        if len(states) > MAX_STATES:
            return
        if i == len(skills):
            states.append(mask)
            return
        grow(i + 1, mask)
        if mask & required[i] == required[i]:
            grow(i + 1, mask | 1 << i)

    grow(0, 0)
    if len(states) <= MAX_STATES:
        return tuple(states)
    # Too many to weigh on every answer (a wide map): keep the states a learner most plausibly has, namely
    # everything up to one skill, everything but what builds on one skill, and each stretch of the learning order.
    below = [0] * len(skills)
    for i, s in enumerate(skills):
        below[i] = bit[s] | sum(below[skills.index(p)] for p in needs[s])
    everything = (1 << len(skills)) - 1
    above = [sum(bit[t] for j, t in enumerate(skills) if below[j] & bit[s]) for s in skills]
    family = {0, everything, *below, *(everything & ~a for a in above)}
    family.update((1 << n) - 1 for n in range(len(skills)))
    return tuple(sorted(family))


# --- Belief after the answers so far -----------------------------------------------------------------------


def guess_chance(choices: int | None) -> float:
    """Return the chance that a learner who does not know a skill answers its item right: `GUESS` for a typed
    answer, at least one over the number of choices for a choice item."""
    return max(GUESS, 1 / choices) if choices else GUESS


def _guess(guess: Mapping[str, float] | None, item_id: str) -> float:
    return (guess or {}).get(item_id, GUESS)


def _posterior(part: _Part, answers: Sequence[DiagnosticAnswer], guess: Mapping[str, float] | None,
               slip: float) -> list[float]:
    # Bayes' rule over the part's knowledge states, from their chances before the first answer.
    bit = {s: 1 << i for i, s in enumerate(part.skills)}
    weights = list(part.prior)
    for answer in answers:
        b = bit.get(answer.skill_id)
        if b is None:
            continue
        g = _guess(guess, answer.item_id)
        if_known, if_not = (1 - slip, g) if answer.correct else (slip, 1 - g)
        weights = [w * (if_known if state & b else if_not) for w, state in zip(weights, part.states, strict=True)]
    total = sum(weights)
    return [w / total for w in weights]


def _marginals(part: _Part, weights: Sequence[float]) -> list[float]:
    known = [0.0] * len(part.skills)
    for w, members in zip(weights, part.members, strict=True):
        for i in members:
            known[i] += w
    return known


def chances_known(
    graph: SkillGraph, state: DiagnosticState, *, guess: Mapping[str, float] | None = None, slip: float = SLIP
) -> dict[str, float]:
    """Return each skill's chance of being known after the answers so far (skills of untouched parts left out)."""
    result: dict[str, float] = {}
    for part in _parts(_graph_key(graph)):
        answers = [a for a in state.answers if a.skill_id in part.skills]
        if answers:
            result.update(zip(part.skills, _marginals(part, _posterior(part, answers, guess, slip)), strict=True))
    return result


def _entropy(p: float) -> float:
    return 0.0 if p <= 0.0 or p >= 1.0 else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def next_item(
    graph: SkillGraph,
    items_by_skill: Mapping[str, Sequence[str]],
    state: DiagnosticState,
    *,
    max_items: int = MAX_ITEMS,
    guess: Mapping[str, float] | None = None,
    slip: float = SLIP,
) -> str | None:
    """Return the next item to ask, or None when every skill is placed with confidence or the questions are used.

    `items_by_skill` lists each skill's items in the order to ask them; `guess` gives an item's chance of a right
    answer from a learner who does not know its skill (`GUESS` where missing), `slip` the chance of a wrong one
    from a learner who does.
    """
    if len(state.answers) >= max_items:
        return None
    asked = state.asked
    order = {skill_id: index for index, skill_id in enumerate(graph.topological_order())}
    best: tuple[float, int] | None = None
    best_item: str | None = None
    for part in _parts(_graph_key(graph)):
        answers = [a for a in state.answers if a.skill_id in part.skills]
        weights = _posterior(part, answers, guess, slip)
        known = _marginals(part, weights)
        if answers and all(min(p, 1 - p) <= CONFIDENT for p in known):
            continue  # every skill of this part is placed with confidence
        now = sum(_entropy(p) for p in known)
        # together[c][s]: chance of knowing both c and s, to see how an answer on c moves every other skill.
        n = len(part.skills)
        together = [[0.0] * n for _ in range(n)]
        for w, members in zip(weights, part.members, strict=True):
            for c in members:
                row = together[c]
                for s in members:
                    row[s] += w
        for c, skill_id in enumerate(part.skills):
            # Of a skill's unasked items, the first of each guess rate: a typed item tells more than a choice one.
            firsts: dict[float, str] = {}
            for item in items_by_skill.get(skill_id, ()):
                if item not in asked:
                    firsts.setdefault(_guess(guess, item), item)
            for g, item in firsts.items():
                right = (1 - slip) * known[c] + g * (1 - known[c])
                after = 0.0
                for chance, if_known, if_not in ((right, 1 - slip, g), (1 - right, slip, 1 - g)):
                    if chance > 0:
                        after += chance * sum(
                            _entropy((if_known * together[c][s] + if_not * (known[s] - together[c][s])) / chance)
                            for s in range(n)
                        )
                # The most expected information; on a tie, the skill earlier in the learning order.
                score = (now - after, -order[skill_id])
                if best is None or score > best:
                    best, best_item = score, item
    return best_item


# --- The result --------------------------------------------------------------------------------------------


def placement(
    graph: SkillGraph, state: DiagnosticState, *, guess: Mapping[str, float] | None = None, slip: float = SLIP
) -> dict[str, Placement]:
    """Return the placement of every skill the check learnt something about, with a weak prior and a reason.

    A skill is placed on the side its chance of being known falls, when that chance is clear of a coin toss and
    an answer backs it: a right answer on the skill or on one built on it for "known", a wrong one on the skill
    or on one it builds on for "not yet". Anything else stays "not checked".
    """
    chances = chances_known(graph, state, guess=guess, slip=slip)
    right = {a.skill_id for a in state.answers if a.correct}
    wrong = {a.skill_id for a in state.answers if not a.correct}
    # Skills whose every wrong answer was "I haven't learnt this yet": the reason says so, not that it went wrong.
    said_not_yet = wrong - {a.skill_id for a in state.answers if not a.correct and not a.not_sure}
    result: dict[str, Placement] = {}
    for skill_id in graph.topological_order():
        chance = chances.get(skill_id)
        if chance is None or abs(chance - 0.5) < UNDECIDED:
            continue
        values = {"skill": graph[skill_id].name}
        if chance > 0.5:
            shown = [d for d in graph.dependents_of(skill_id, transitive=True) if d in right]
            if skill_id in right:
                belief, prior = Belief.KNOWN, PRIOR_ANSWERED
                template = PLACEMENT_REASONS["answered"][STUDENT]
            elif shown:
                belief, prior, values["other"] = Belief.LIKELY_KNOWN, PRIOR_INFERRED, graph[shown[0]].name
                template = PLACEMENT_REASONS["shown_later"][STUDENT]
            else:
                continue
        else:
            missed = [p for p in graph.prerequisites_of(skill_id, transitive=True) if p in wrong]
            if skill_id in said_not_yet:
                belief, prior = Belief.NOT_YET, -PRIOR_ANSWERED
                template = PLACEMENT_REASONS["said_not_yet"][STUDENT]
            elif skill_id in wrong:
                belief, prior = Belief.NOT_YET, -PRIOR_ANSWERED
                template = PLACEMENT_REASONS["missed_some" if skill_id in right else "missed"][STUDENT]
            elif missed:
                belief, prior, values["other"] = Belief.LIKELY_NOT_YET, -PRIOR_INFERRED, graph[missed[-1]].name
                template = PLACEMENT_REASONS["missed_before"][STUDENT]
            else:
                continue
        result[skill_id] = Placement(skill_id, belief, prior, template % values, reason_parts=((template, values),))
    return result


@dataclass(frozen=True)
class CheckBaseline:
    """What a finished check saw, so that later evidence can be told from it without reading the history again.

    `misses` holds the learner's wrong answers on each skill the check placed as known, as the mastery state
    counted them when the check finished (absent: none); `set_by_teacher` the skills whose level a teacher has set
    since. A skill's count rising above its baseline is a wrong answer since the check (only answers the mastery
    model counts raise it, and the check's own came before).
    """

    misses: Mapping[str, int] = field(default_factory=dict)
    set_by_teacher: frozenset[str] = frozenset()

    def contradicted(self, waiting: Collection[str], misses_now: Mapping[str, int]) -> set[str]:
        """Return which of these skills (placed as known) the learner's evidence since the check speaks against."""
        return {skill_id for skill_id in waiting
                if skill_id in self.set_by_teacher or misses_now.get(skill_id, 0) > self.misses.get(skill_id, 0)}

    def with_teacher_level(self, skill_id: str) -> CheckBaseline:
        """Return the baseline once a teacher has set the skill's level."""
        return CheckBaseline(self.misses, self.set_by_teacher | {skill_id})

    def to_dict(self) -> dict[str, object]:
        """Return the baseline as a JSON-serialisable dict."""
        return {"misses": {k: v for k, v in self.misses.items() if v}, "set_by_teacher": sorted(self.set_by_teacher)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> CheckBaseline:
        """Rebuild a baseline from `to_dict` output (None: a check that saw no misses)."""
        data = data or {}
        misses = data.get("misses") or {}
        return cls({str(k): int(v) for k, v in misses.items()},  # type: ignore[union-attr]
                   frozenset(str(s) for s in data.get("set_by_teacher") or ()))  # type: ignore[union-attr]


def levels_for_planning(levels: Mapping[str, Level], placed: Mapping[str, Placement],
                        contradicted: Collection[str] = frozenset()) -> dict[str, Level]:
    """Return levels for the planner only: skills the check placed as known count as Proficient until the
    learner's own evidence contradicts that.

    This lets a learner who showed advanced skills start at their own frontier instead of at the bottom of
    the map. The placement stands in for a prerequisite below Proficient whatever the learner's own level on it
    (Not started, or Attempted and Familiar while right answers add up: on a skill the check placed as known,
    Proficient needs two of them on distinct items, `MasteryThresholds.min_items_proficient_placed`), so
    practising a skill the check found known, and getting it right, never holds back what builds on it.
    It stops standing in once `contradicted` holds the skill: the learner's own evidence since the check speaks
    against it (a wrong answer, the only thing that lowers the mastery model's estimate, or a level the teacher
    set). From then on the learner's own level decides, as it does for every skill the check did not place.
    Never post these levels to the gradebook: grades come from the learner's own practice.
    """
    result = dict(levels)
    ready = READY_LEVEL.rank
    for skill_id, placed_skill in placed.items():
        if (placed_skill.likely_known and skill_id not in contradicted
                and result.get(skill_id, Level.NOT_STARTED).rank < ready):
            result[skill_id] = READY_LEVEL
    return result


def good_places_to_start(graph: SkillGraph, placed: Mapping[str, Placement],
                         planning_levels: Mapping[str, Level]) -> frozenset[str]:
    """Return the skills the check found not known yet whose prerequisites are all ready for the planner.

    `planning_levels` are `levels_for_planning`'s. The result page's "Good places to start" and the plan's first
    steps are these same skills, so the two pages never disagree; a skill missed higher up waits ("Coming up
    later") until what it builds on is ready. A skill the check placed as known that the learner's evidence since
    contradicts (`levels_for_planning` no longer stands in for it) is one to start with too: what builds on it
    waits for it.
    """
    ready = READY_LEVEL.rank
    return frozenset(
        skill_id for skill_id, place in placed.items()
        if skill_id in graph and (place.belief is Belief.NOT_YET or contradicted_since(place, planning_levels))
        and all(planning_levels.get(p, Level.NOT_STARTED).rank >= ready for p in graph.prerequisites_of(skill_id))
    )


def contradicted_since(place: Placement, planning_levels: Mapping[str, Level]) -> bool:
    """True when the check placed the skill as known and the learner's evidence since speaks against it.

    `planning_levels` are `levels_for_planning`'s: a known skill below Proficient there is one it no longer stands
    in for.
    """
    return place.likely_known and planning_levels.get(place.skill_id, Level.NOT_STARTED).rank < READY_LEVEL.rank
