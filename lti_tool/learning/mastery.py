"""Online, explainable mastery estimates: a small state per learner and skill, one logistic model per course.

The model is a logistic regression in the spirit of "Best-LR" (Gervet et al., JEDM 2020): item and skill
difficulty plus log-scaled counts of the learner's earlier successes and failures, per skill and overall,
extended with the pattern of the last five answers, a recency-weighted success rate, right answers beyond
what a typical learner would get on the same items, an Elo-style ability, per-skill learning rates and how
many other items came since the skill was last practised. Every prediction is a sum of named contributions,
so a teacher can be told why, and every feature comes from a few numbers kept per (learner, skill), so an
update costs microseconds and needs no history.

The number people see (`probability_of_mastery`) is this model's own prediction for a typical item of the
skill; `level` turns it into a level with evidence rules and hysteresis (docs/learning-model.md).
"""

from __future__ import annotations

import json
import math
import random
import re
import zlib
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from ..kept_map import KeptMap
from .messages import N_

#: Key of the learner-wide state (all skills together) in a mapping of states.
ALL_SKILLS = "*"

#: How many recent answers a state keeps for explanations and recency features.
RECENT_WINDOW = 10

#: How many of the latest answers form the "pattern" feature (e.g. "wrong, right, right, right, right").
_PATTERN_LENGTH = 5
_SECONDS_PER_DAY = 86_400.0
PARAMS_VERSION = 1

#: How many distinct items answered right a state remembers (enough for the "distinct items" rules).
_ITEMS_KEPT = 8



@dataclass(frozen=True)
class Response:
    """One answer by one learner to one item, at a time given in epoch seconds.

    `learner_wide` False keeps the answer out of the learner-wide state (`ALL_SKILLS`): it is evidence on its own
    skills only. The placement check's answers are such: its questions are picked at the edge of what the learner
    knows, to be missed about half the time, so its misses say where the edge is, not how the learner has been
    doing lately, which is what the learner-wide features (fitted on practice) read.
    """

    item_id: str
    skill_ids: tuple[str, ...]
    correct: bool
    at: float = 0.0
    learner_wide: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "skill_ids", tuple(self.skill_ids))


@dataclass(frozen=True)
class SkillState:
    """What the model remembers about one learner on one skill (or on all skills, for `ALL_SKILLS`)."""

    skill_id: str
    attempts: int = 0
    correct: int = 0
    #: Last answers, oldest first: "1" right, "0" wrong; `recent_hard` flags the hard items alongside.
    recent: str = ""
    recent_hard: str = ""
    #: Recency-weighted successes and weight: each older answer counts `decay` times less.
    evidence: float = 0.0
    weight: float = 0.0
    last_seen: float | None = None
    #: The learner's overall attempt count when this skill was last practised, to measure the gap since.
    last_step: int | None = None
    #: Head start in log-odds from the prerequisites; fades as the learner's own answers come in.
    prior: float = 0.0
    #: Sum of P(correct) for a typical learner over the items answered; beating it means hard items done.
    expected: float = 0.0
    #: Elo-style ability in log-odds above a typical learner: up after every right answer, more for hard items.
    ability: float = 0.0
    #: Separate sittings with this skill (answers further apart than the model's `session_gap`).
    sessions: int = 0
    #: Short keys of distinct items answered right, newest last (at most eight kept).
    right_items: tuple[str, ...] = ()
    #: The shown estimate in log-odds as of the last answer: the model's prediction for a typical item of
    #: the skill, with the learner's skill and learner-wide evidence. None until the first answer.
    estimate: float | None = None
    #: The placement check concluded the learner knows the skill ("known" or "likely known"): Proficient then asks
    #: for a shorter confirmation (`MasteryThresholds.min_items_proficient_placed`). Later misses do not clear it:
    #: they lower the estimate, which Proficient needs as before.
    placed: bool = False
    #: A teacher set the level below what these answers showed (they doubt them): answers that earn more do not
    #: raise it; only the teacher does. Judged once, when the teacher set it (a refit or later answers may raise
    #: the estimate past a level the teacher set above the answers, which is no doubt).
    held_below: bool = False
    #: The level those answers had shown when the teacher first set one below it (a Level's value; None before
    #: this was kept): the teacher's level stays held while it is below this one, set again, lowered or raised.
    held_from: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "right_items", tuple(self.right_items))

    @property
    def misses(self) -> int:
        """The wrong answers counted on this skill."""
        return self.attempts - self.correct

    def to_dict(self) -> dict[str, object]:
        """Return the state as a JSON-serialisable dict."""
        return {
            "skill_id": self.skill_id,
            "attempts": self.attempts,
            "correct": self.correct,
            "recent": self.recent,
            "recent_hard": self.recent_hard,
            "evidence": self.evidence,
            "weight": self.weight,
            "last_seen": self.last_seen,
            "last_step": self.last_step,
            "prior": self.prior,
            "expected": self.expected,
            "ability": self.ability,
            "sessions": self.sessions,
            "right_items": list(self.right_items),
            "estimate": self.estimate,
            "placed": self.placed,
            "held_below": self.held_below,
            "held_from": self.held_from,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SkillState:
        """Rebuild a state from `to_dict` output."""
        last_seen = data.get("last_seen")
        last_step = data.get("last_step")
        estimate = data.get("estimate")
        return cls(
            skill_id=str(data["skill_id"]),
            attempts=int(data.get("attempts", 0)),  # type: ignore[arg-type]
            correct=int(data.get("correct", 0)),  # type: ignore[arg-type]
            recent=str(data.get("recent", "")),
            recent_hard=str(data.get("recent_hard", "")),
            evidence=float(data.get("evidence", 0.0)),  # type: ignore[arg-type]
            weight=float(data.get("weight", 0.0)),  # type: ignore[arg-type]
            last_seen=None if last_seen is None else float(last_seen),  # type: ignore[arg-type]
            last_step=None if last_step is None else int(last_step),  # type: ignore[call-overload]
            prior=float(data.get("prior", 0.0)),  # type: ignore[arg-type]
            expected=float(data.get("expected", 0.0)),  # type: ignore[arg-type]
            ability=float(data.get("ability", 0.0)),  # type: ignore[arg-type]
            # States saved before sessions were counted: their answers count as one sitting.
            sessions=int(data.get("sessions", 1 if data.get("attempts") else 0)),  # type: ignore[call-overload]
            right_items=tuple(str(k) for k in data.get("right_items", ()) or ()),  # type: ignore[attr-defined]
            estimate=None if estimate is None else float(estimate),  # type: ignore[arg-type]
            # States saved before the flag: placed or not, they were held to the full rules.
            placed=bool(data.get("placed", False)),
            held_below=bool(data.get("held_below", False)),
            held_from=str(held_from) if (held_from := data.get("held_from")) else None,
        )


def joined_reason(parts: Iterable[tuple[str, Mapping[str, object]]]) -> str:
    """Return the English reason that `MasteryModel.explain_parts` fragments make (what `explain` returns)."""
    return "".join(template % values if values else template for template, values in parts)


#: The fragments `MasteryModel.explain_parts` writes a reason from, and the order they come in: a stored reason is
#: one of the first, then at most one of each following group (`reason_parts` reads it back into fragments).
_NOT_STARTED_SOLID = N_("Not started yet; the prerequisites look solid")
_NOT_STARTED_WEAK = N_("Not started yet; the prerequisites need more work")
_NOT_STARTED = N_("Not started yet")
_RIGHT = N_("%(right)s of %(shown)s right")
_RIGHT_LAST = N_("%(right)s of the last %(shown)s right")
_HARD_ONE = N_(", including 1 hard item")
_HARD = N_(", including %(n)s hard items")
_MISSED_HARD_ONE = N_(", missing 1 hard item")
_MISSED_HARD = N_(", missing %(n)s hard items")
_STREAK = N_("; last %(n)s in a row right")
_MISSES = N_("; last %(n)s missed")
_ATTEMPTS = N_(" (%(n)s attempts in all)")
_REASON_ORDER: tuple[tuple[str, ...], ...] = (
    (_NOT_STARTED_SOLID, _NOT_STARTED_WEAK, _NOT_STARTED, _RIGHT_LAST, _RIGHT),
    (_HARD_ONE, _HARD, _MISSED_HARD_ONE, _MISSED_HARD),
    (_STREAK, _MISSES),
    (_ATTEMPTS,),
)


def _fragment(template: str) -> re.Pattern[str]:
    pieces = re.split(r"%\((\w+)\)s", template)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>\\d+)" for i, p in enumerate(pieces)))


_FRAGMENTS = tuple(tuple((template, _fragment(template)) for template in group) for group in _REASON_ORDER)


def reason_parts(reason: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """Return a reason the model wrote (a stored `joined_reason`) as its fragments again, or () for other text.

    Levels' history keeps only the English sentence; read back into fragments, a page writes it in its language.
    """
    def read(at: int, group: int) -> tuple | None:
        if at == len(reason):
            return ()
        for later in range(group, len(_FRAGMENTS)):
            for template, pattern in _FRAGMENTS[later]:
                found = pattern.match(reason, at)
                if found:
                    rest = read(found.end(), later + 1)
                    if rest is not None:
                        return ((template, found.groupdict()), *rest)
            if later == 0:
                return None  # a reason starts with one of the first group
        return None

    return read(0, 0) or () if reason else ()


#: How many right answers ahead `MasteryModel.next_level_needs` looks; past it, pages say "more than" that.
_MOST_PROJECTED = 12
#: How many answers of `MasteryModel.next_level_needs` a model keeps (the oldest forgotten first past it): a few
#: hundred bytes each, and a projection takes a fraction of a millisecond a practised skill.
_NEEDS_KEPT = 4096
_UNKNOWN = object()
#: Item ids of the answers `next_level_needs` imagines: no pack's item has one.
_PROJECTED = "\0projected-"


class Level(StrEnum):
    """A mastery level as shown to teachers and learners."""

    NOT_STARTED = "Not started"
    ATTEMPTED = "Attempted"
    FAMILIAR = "Familiar"
    PROFICIENT = "Proficient"
    MASTERED = "Mastered"

    @property
    def rank(self) -> int:
        """Return 0 for Not started up to 4 for Mastered, for comparisons."""
        # A constant table: the class heatmap asks this for every cell.
        return _RANKS[self]

    @classmethod
    def stored(cls, value: str | None) -> Level:
        """Read a level kept in the database; a missing or retired name reads as Not started."""
        # A table, not cls(value): the class pages read two levels from every mastery event of every student.
        return _BY_VALUE.get(value, cls.NOT_STARTED) if isinstance(value, str) else cls.NOT_STARTED


#: The levels from Not started (rank 0) to Mastered (rank 4): LEVELS[level.rank] is level.
LEVELS: tuple[Level, ...] = tuple(Level)


@dataclass(frozen=True)
class LevelNeeds:
    """What a learner still lacks for the next level (`MasteryModel.next_level_needs`), for pages to say in words."""

    level: Level
    #: Right answers still needed, one after another (for Attempted: any one answer).
    answers: int
    #: Of those, how many must be on questions not yet answered right (all of them when equal to `answers`; 0: any).
    new_questions: int = 0
    #: Mastered also needs answers in another sitting (after a break of `MasteryParams.session_gap`): one of the
    #: `answers` comes after the break, or with `answers` 0 one right answer then, to show it sticks.
    another_sitting: bool = False
    #: The projection stopped at `answers`: more than that are needed.
    more: bool = False


def newly_mastered(changes: Iterable[tuple[str, Level, Level]]) -> list[str]:
    """Return the names of the skills an answer's level changes (name, old, new) brought to Mastered: the pages
    celebrate these."""
    return [name for name, old, new in changes if new is Level.MASTERED and old is not Level.MASTERED]
_RANKS: dict[Level, int] = {level: rank for rank, level in enumerate(LEVELS)}
_BY_VALUE: dict[str, Level] = {level.value: level for level in LEVELS}
#: Proficient and Mastered: the levels the class view counts as "Proficient or above" (a set: asked per cell).
PROFICIENT_OR_ABOVE: frozenset[Level] = frozenset(LEVELS[_RANKS[Level.PROFICIENT]:])


@dataclass(frozen=True)
class MasteryThresholds:
    """What each level needs: the shown estimate, and evidence the estimate alone cannot see.

    The estimate is a calibrated chance of getting a typical item of the skill right, so a learner who
    knows the skill but slips one time in ten sits near 0.9: thresholds must stay below that. Evidence
    rules keep lucky guessing from being credited: Familiar needs two right answers, Proficient right answers
    on distinct items, Mastered distinct items over at least two sittings (delayed retrieval). Once shown,
    a level holds until the estimate falls `hold_margin` log-odds below its threshold, so one slip after
    clear evidence does not take it away. On a skill the placement check concluded the learner knows
    (`SkillState.placed`), the check's evidence stands in for some of Proficient's distinct items: it needs
    `min_items_proficient_placed` of them, and as many fewer answers.
    """

    familiar: float = 0.6
    proficient: float = 0.77
    mastered: float = 0.82
    min_correct_familiar: int = 2
    min_attempts_proficient: int = 3
    min_items_proficient: int = 3
    min_items_proficient_placed: int = 2
    min_attempts_mastered: int = 5
    min_items_mastered: int = 3
    min_sessions_mastered: int = 2
    hold_margin: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.familiar <= self.proficient <= self.mastered < 1.0:
            raise ValueError("Mastery thresholds must rise: 0 < familiar <= proficient <= mastered < 1.")
        if self.hold_margin < 0:
            raise ValueError("The hold margin cannot be negative.")

    @property
    def items_to_master(self) -> int:
        """Return how many distinct items right the levels above Familiar ask for, at most (placed or not).

        Below it, a question on an item not yet answered right brings a learner closer to a level than another
        variant of an item already answered right, which counts as the same item (`SkillState.right_items`).
        """
        return max(self.min_items_proficient, self.min_items_proficient_placed, self.min_items_mastered)

    def to_dict(self) -> dict[str, object]:
        """Return the thresholds as a JSON-serialisable dict."""
        return {
            "familiar": self.familiar,
            "proficient": self.proficient,
            "mastered": self.mastered,
            "min_correct_familiar": self.min_correct_familiar,
            "min_attempts_proficient": self.min_attempts_proficient,
            "min_items_proficient": self.min_items_proficient,
            "min_items_proficient_placed": self.min_items_proficient_placed,
            "min_attempts_mastered": self.min_attempts_mastered,
            "min_items_mastered": self.min_items_mastered,
            "min_sessions_mastered": self.min_sessions_mastered,
            "hold_margin": self.hold_margin,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> MasteryThresholds:
        """Rebuild thresholds from `to_dict` output, defaulting missing keys."""
        known = cls().to_dict()
        return cls(**{key: type(default)(data.get(key, default)) for key, default in known.items()})  # type: ignore[call-arg]


# A course with no history yet runs on a cold-start prior: the weights of the learner-evidence features
# (counts, answer patterns, rates, Elo ability; no item or skill of any particular course) fitted on the
# ASSISTments 2009 training students by `fit_cold_start_prior` in bench/mastery_auc.py. Fitting a course's
# own history starts from it and is pulled towards it, so a course with little history stays close to it.
_PRIOR_FILE = Path(__file__).with_name("cold_start_prior.json")


def _load_prior() -> dict[str, object]:
    try:
        return json.loads(_PRIOR_FILE.read_text())
    except (OSError, ValueError):
        # A damaged install still predicts (badly) rather than failing every page.
        return {"weights": {"bias": 0.7, "skill.ability": 1.0}, "typical_learner_logit": 0.0}


_PRIOR = _load_prior()


@dataclass(frozen=True)
class MasteryParams:
    """Fitted model parameters: feature weights by name (items, skills, evidence) and a few settings."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(_PRIOR["weights"]))  # type: ignore[call-overload]
    #: How much less each older answer counts in the recency-weighted rate.
    decay: float = 0.9
    #: Average log-odds contribution of a learner's evidence, used where only the item or skill is known.
    typical_learner_logit: float = field(default_factory=lambda: float(_PRIOR["typical_learner_logit"]))  # type: ignore[arg-type]
    #: An item is "hard" when a typical learner gets it right less often than this.
    hard_below: float = 0.5
    #: Log-odds added per log-odds of prerequisite mastery above a newcomer's; weak on purpose.
    prerequisite_weight: float = 0.3
    #: Largest head start (either way) the prerequisites can give.
    prerequisite_cap: float = 1.0
    #: Answers further apart than this many seconds are separate sittings (Mastered needs two).
    session_gap: float = 3600.0

    def to_dict(self) -> dict[str, object]:
        """Return the parameters as a JSON-serialisable dict."""
        return {
            "version": PARAMS_VERSION,
            "decay": self.decay,
            "typical_learner_logit": self.typical_learner_logit,
            "hard_below": self.hard_below,
            "prerequisite_weight": self.prerequisite_weight,
            "prerequisite_cap": self.prerequisite_cap,
            "session_gap": self.session_gap,
            "weights": dict(self.weights),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> MasteryParams:
        """Rebuild parameters from `to_dict` output (or a course's stored fit, which holds it under "params")."""
        if isinstance(data.get("params"), Mapping):
            data = data["params"]  # type: ignore[assignment]
        version = data.get("version", PARAMS_VERSION)
        if version != PARAMS_VERSION:
            raise ValueError(f"Mastery parameters version {version} is not {PARAMS_VERSION}; refit them.")
        weights = data.get("weights", {})
        return cls(
            weights={str(k): float(v) for k, v in weights.items()},  # type: ignore[union-attr]
            decay=float(data.get("decay", 0.9)),  # type: ignore[arg-type]
            typical_learner_logit=float(data.get("typical_learner_logit", 0.0)),  # type: ignore[arg-type]
            hard_below=float(data.get("hard_below", 0.5)),  # type: ignore[arg-type]
            prerequisite_weight=float(data.get("prerequisite_weight", 0.3)),  # type: ignore[arg-type]
            prerequisite_cap=float(data.get("prerequisite_cap", 1.0)),  # type: ignore[arg-type]
            session_gap=float(data.get("session_gap", 3600.0)),  # type: ignore[arg-type]
        )


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _rate_logit(successes: float, total: float) -> float:
    # Laplace smoothing keeps one lucky answer from looking like certainty.
    return math.log((successes + 1.0) / (total - successes + 1.0))


def _item_key(item_id: str) -> str:
    # Six hex digits tell a course's items apart and keep the state small whatever the ids look like.
    return format(zlib.crc32(item_id.encode()) & 0xFFFFFF, "06x")


def _evidence_or_none(overall: SkillState | None) -> SkillState | None:
    # An empty learner-wide state (a row locked before any answer counted in it) is no evidence: read it as a
    # typical learner's, as `log_odds` does with none and the course fit's replay sees it.
    return overall if overall is not None and overall.attempts else None


def _context(skill_id: str, state: SkillState, overall: SkillState | None) -> dict[str, SkillState]:
    return {skill_id: state} if overall is None else {skill_id: state, ALL_SKILLS: overall}


def _elo_step(attempts: int) -> float:
    # Big steps while little is known, then a floor so the estimate keeps following recent work.
    return max(1.6 / (1.0 + 0.2 * attempts), 0.5)


def _state_features(prefix: str, state: SkillState, out: list[tuple[str, float]], scale: float) -> None:
    """Append the evidence features of one state (per skill, or learner-wide) under a name prefix."""
    wins = state.correct
    fails = state.attempts - wins
    out.append((prefix + "wins", scale * math.log1p(wins)))
    out.append((prefix + "fails", scale * math.log1p(fails)))
    out.append((prefix + "pattern:" + state.recent[-_PATTERN_LENGTH:], scale))
    # Right answers beyond what a typical learner would get on the same items: credit for hard items.
    excess = state.evidence - state.expected
    out.append((prefix + "excess", scale * excess / (state.weight + 1.0)))
    out.append((prefix + "excess_sqrt", scale * excess / math.sqrt(state.weight + 1.0)))
    out.append((prefix + "ability", scale * state.ability))
    if state.attempts:
        out.append((prefix + "rate", scale * _rate_logit(wins, state.attempts)))
        out.append((prefix + "recent_rate", scale * _rate_logit(state.evidence, state.weight)))


def features(
    states: Mapping[str, SkillState],
    item_id: str,
    skill_ids: Sequence[str],
    at: float | None = None,
) -> list[tuple[str, float]]:
    """Return the named features of a prediction for an item, from the learner's states."""
    out: list[tuple[str, float]] = [("bias", 1.0), ("item:" + item_id, 1.0)]
    overall = states.get(ALL_SKILLS)
    # Multi-skill items average their skills' evidence so one item never counts as several.
    scale = 1.0 / len(skill_ids) if skill_ids else 1.0
    for skill_id in skill_ids:
        state = states.get(skill_id) or SkillState(skill_id)
        out.append(("skill:" + skill_id, scale))
        _state_features("skill.", state, out, scale)
        out.append(("wins@" + skill_id, scale * math.log1p(state.correct)))
        out.append(("fails@" + skill_id, scale * math.log1p(state.attempts - state.correct)))
        if state.attempts:
            if overall is not None and state.last_step is not None:
                gap = max(overall.attempts - state.last_step - 1, 0)
                out.append(("skill.gap", scale * math.log1p(gap)))
            if at is not None and state.last_seen is not None:
                days = max(at - state.last_seen, 0.0) / _SECONDS_PER_DAY
                out.append(("skill.days", scale * math.log1p(days)))
    if overall is not None:
        _state_features("all.", overall, out, 1.0)
    return out


#: The evidence features that a right answer raises (+1) or a wrong one raises (-1), per state prefix. Their
#: weights keep that sign, so more right answers never count against a learner (`monotone_weights`).
_EVIDENCE_SIGNS = {"wins": 1.0, "fails": -1.0, "rate": 1.0, "recent_rate": 1.0, "ability": 1.0, "excess": 1.0,
                   "excess_sqrt": 1.0}
_MONOTONE_SIGNS = {prefix + name: sign for prefix in ("skill.", "all.") for name, sign in _EVIDENCE_SIGNS.items()}


def monotone_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Return the weights constrained so that a right answer in place of a wrong one never lowers a prediction.

    Counts, rates and abilities keep their sign (wins up, fails down), and among answer patterns of one length,
    turning any miss into a right answer never lowers the pattern's weight. A fit on data like ASSISTments,
    where answers after a run of right ones are rare and weak (its skill builders stop after three in a row, so
    who goes on was sent back), otherwise learns the opposite: there a learner who missed twice early needed
    nine right answers in a row to reach Proficient, the number standing still for four of them.
    """
    out = dict(weights)
    for name, value in weights.items():
        sign = _evidence_sign(name)
        if sign is not None and value * sign < 0:
            out[name] = 0.0
    for prefix in ("skill.pattern:", "all.pattern:"):
        for length in range(1, _PATTERN_LENGTH + 1):
            _monotone_patterns(out, prefix, length)
    return out


def _evidence_sign(name: str) -> float | None:
    # The sign a weight must keep (None: free): per state prefix, and the per-skill counts ("wins@fractions").
    sign = _MONOTONE_SIGNS.get(name)
    if sign is None and "@" in name:
        return 1.0 if name.startswith("wins@") else -1.0 if name.startswith("fails@") else None
    return sign


def _is_constrained(name: str) -> bool:
    return _evidence_sign(name) is not None or (".pattern:" in name and not name.endswith(":"))


def _monotone_patterns(weights: dict[str, float], prefix: str, length: int) -> None:
    # Patterns as bit strings ("0011" is 3): setting a bit turns a miss into a right answer, so the weights must
    # not fall along any bit set. Averaging each violating pair settles near the closest such weights; a last
    # upward sweep (bits only ever raise the number, so ascending order meets every pattern's lower ones
    # first) makes the result exact.
    names = [prefix + format(i, f"0{length}b") for i in range(1 << length)]
    if not any(name in weights for name in names):
        return
    values = [weights.get(name, 0.0) for name in names]
    bits = [1 << b for b in range(length)]
    for _ in range(50):
        moved = False
        for i in range(len(values)):
            for bit in bits:
                j = i | bit
                if values[j] < values[i]:
                    values[i] = values[j] = (values[i] + values[j]) / 2.0
                    moved = True
        if not moved:
            break
    for i in range(len(values)):
        for bit in bits:
            j = i | bit
            if values[j] < values[i]:
                values[j] = values[i]
    weights.update(zip(names, values, strict=True))


class MasteryModel:
    """Predict answers and update per-skill states with fitted (or default) parameters."""

    def __init__(self, params: MasteryParams | None = None) -> None:
        """Use the given parameters, or the defaults for a course with no history."""
        self.params = params or MasteryParams()
        # Whatever the parameters (a fit stored before this rule, a hand-edited file), a right answer never counts
        # against the learner.
        self._weights = monotone_weights(self.params.weights)
        # What `next_level_needs` told, by its arguments: the same states again (a page shown again, the feedback
        # and then the plan after an answer, a class of learners at the same point) are not projected again.
        # Shared by the request threads of the process that keeps the model (services/mastery.py).
        self._needs: KeptMap[tuple, LevelNeeds | None] = KeptMap(_NEEDS_KEPT)

    # -- predictions ---------------------------------------------------------------------------------

    def contributions(
        self,
        states: Mapping[str, SkillState],
        item_id: str,
        skill_ids: Sequence[str] | None = None,
        at: float | None = None,
    ) -> dict[str, float]:
        """Return the log-odds each part adds to a prediction: item, skill, skill evidence, learner, prior."""
        if skill_ids is None:
            skill_ids = [key for key in states if key != ALL_SKILLS]
        parts = dict.fromkeys(("base", "item", "skill", "skill evidence", "learner", "prerequisites"), 0.0)
        weights = self._weights
        for name, value in features(states, item_id, skill_ids, at):
            w = weights.get(name)
            if w is None:
                continue
            if name.startswith("item:"):
                parts["item"] += w * value
            elif name.startswith("skill:"):
                parts["skill"] += w * value
            elif name.startswith("all."):
                parts["learner"] += w * value
            elif name == "bias":
                parts["base"] += w * value
            else:
                parts["skill evidence"] += w * value
        if ALL_SKILLS not in states:
            # Without learner-wide evidence, assume a typical learner rather than a hopeless one.
            parts["learner"] = self.params.typical_learner_logit
        if skill_ids:
            parts["prerequisites"] = sum(self._prior_now(states.get(s) or SkillState(s)) for s in skill_ids) / len(
                skill_ids
            )
        return parts

    def predict(
        self,
        states: Mapping[str, SkillState],
        item_id: str,
        skill_ids: Sequence[str] | None = None,
        at: float | None = None,
    ) -> float:
        """Return P(correct) for the learner's next answer to the item.

        `states` maps skill ids to the learner's states (missing skills count as not started) and may hold
        the learner-wide state under `ALL_SKILLS`; `skill_ids` defaults to the non-`ALL_SKILLS` keys.
        """
        return _sigmoid(self.log_odds(states, item_id, skill_ids, at))

    def log_odds(
        self,
        states: Mapping[str, SkillState],
        item_id: str,
        skill_ids: Sequence[str] | None = None,
        at: float | None = None,
    ) -> float:
        """Return the prediction in log-odds; `predict` is its sigmoid."""
        if skill_ids is None:
            skill_ids = [key for key in states if key != ALL_SKILLS]
        weights = self._weights
        z = 0.0
        for name, value in features(states, item_id, skill_ids, at):
            z += weights.get(name, 0.0) * value
        if ALL_SKILLS not in states:
            z += self.params.typical_learner_logit
        if skill_ids:
            z += sum(self._prior_now(states.get(s) or SkillState(s)) for s in skill_ids) / len(skill_ids)
        return z

    @staticmethod
    def _prior_now(state: SkillState) -> float:
        # Own answers replace the prerequisites' head start: half of it is left after two attempts.
        return state.prior * 2.0 / (2.0 + state.attempts) if state.prior else 0.0

    def item_probability(self, item_id: str, skill_ids: Sequence[str]) -> float:
        """Return P(correct) for a typical learner meeting the item, used to call items hard or easy."""
        weights = self._weights
        skill_part = sum(weights.get("skill:" + s, 0.0) for s in skill_ids) / max(len(skill_ids), 1)
        return _sigmoid(
            weights.get("bias", 0.0)
            + weights.get("item:" + item_id, 0.0)
            + skill_part
            + self.params.typical_learner_logit
        )

    def is_hard(self, item_id: str, skill_ids: Sequence[str]) -> bool:
        """Return whether most typical learners would get the item wrong."""
        return self.item_probability(item_id, skill_ids) < self.params.hard_below

    def probability_of_mastery(self, state: SkillState) -> float:
        """Return the shown estimate: the model's own P(correct) on a typical item of the skill.

        It is `predict` for the skill with no particular item, from the learner's evidence on the skill and
        across skills as of the skill's last answer (kept in `state.estimate` by `record`), so the number
        behind levels, plans, alerts and grades ranks answers as the model does and is as calibrated.
        The model's prediction for an item is this number moved by the item's difficulty.
        """
        return _sigmoid(self._shown_log_odds(state))

    def _shown_log_odds(self, state: SkillState) -> float:
        if state.estimate is not None:
            return state.estimate
        return self.log_odds({state.skill_id: state}, "", [state.skill_id])

    @staticmethod
    def _toward_answer(estimate: float, before: float, correct: bool) -> float:
        # The shown number never moves against the answer: a right answer does not lower it, a wrong one does
        # not raise it. The fitted weights alone can: answers just after a run of right ones are rarer and
        # weaker in the data (ASSISTments' skill builders stop after three in a row; those who go on were sent
        # back), so a learner's fifth right answer in a row could lower the estimate it should confirm.
        return max(estimate, before) if correct else min(estimate, before)

    def level(
        self, state: SkillState, thresholds: MasteryThresholds | None = None, *, previous: Level | None = None
    ) -> Level:
        """Return the mastery level of a state; `previous`, the level shown before, makes shown levels hold.

        A level is reached when the estimate passes its threshold and the evidence rules hold; a level
        already shown stays until the estimate falls `hold_margin` log-odds below its threshold.
        """
        t = thresholds or MasteryThresholds()
        if state.attempts == 0:
            return Level.NOT_STARTED
        z = _logit(self.probability_of_mastery(state))
        held = previous.rank if previous is not None else 0

        def reaches(threshold: float, level: Level) -> bool:
            margin = t.hold_margin if held >= level.rank else 0.0
            return z >= _logit(threshold) - margin

        items = len(state.right_items)
        if (
            reaches(t.mastered, Level.MASTERED)
            and state.attempts >= t.min_attempts_mastered
            and items >= t.min_items_mastered
            and state.sessions >= t.min_sessions_mastered
        ):
            return Level.MASTERED
        need_items, need_attempts = t.min_items_proficient, t.min_attempts_proficient
        if state.placed and t.min_items_proficient_placed < need_items:
            # The check's conclusion stands in for the items it spares, and for as many answers.
            need_attempts -= need_items - t.min_items_proficient_placed
            need_items = t.min_items_proficient_placed
        if reaches(t.proficient, Level.PROFICIENT) and state.attempts >= need_attempts and items >= need_items:
            return Level.PROFICIENT
        if reaches(t.familiar, Level.FAMILIAR) and state.correct >= t.min_correct_familiar:
            return Level.FAMILIAR
        return Level.ATTEMPTED

    def needs_only_another_sitting(self, state: SkillState, thresholds: MasteryThresholds | None = None) -> bool:
        """Return whether another sitting is all the state lacks for Mastered (its answers already show the rest).

        Mastered asks for answers over separate sittings (delayed retrieval), so more answers now cannot reach it:
        the learner is told to come back another time rather than to practise more.
        """
        t = thresholds or MasteryThresholds()
        return (state.sessions < t.min_sessions_mastered
                and self.level(replace(state, sessions=t.min_sessions_mastered), t) is Level.MASTERED)

    def next_level_needs(self, state: SkillState, thresholds: MasteryThresholds | None = None, *,
                         shown: Level, overall: SkillState | None = None) -> LevelNeeds | None:
        """Return what the state still lacks for the level above `shown` (None at Mastered), by `level`'s own rules.

        The fewest right answers in a row, on questions not yet answered right, that `level` would raise the level
        with (its estimate and evidence rules both), and whether Mastered's second sitting is missing too. Pages tell
        the learner this ("2 more right answers on questions you haven't got right yet"), so no page keeps a copy
        of the rules. A projection: a wrong answer meanwhile asks for more. `overall`, the learner-wide state
        (`ALL_SKILLS`), is what `record` moves the estimate with besides the skill's own answers.
        """
        key = (state, thresholds, shown, overall)
        needs = self._needs.get(key, _UNKNOWN)
        if needs is _UNKNOWN:
            needs = self._next_level_needs(state, thresholds, shown=shown, overall=overall)
            self._needs.put(key, needs)
        return needs  # type: ignore[return-value]

    def _next_level_needs(self, state: SkillState, thresholds: MasteryThresholds | None, *,
                          shown: Level, overall: SkillState | None) -> LevelNeeds | None:
        t = thresholds or MasteryThresholds()
        if shown is Level.MASTERED:
            return None
        target = LEVELS[shown.rank + 1]
        if target is Level.ATTEMPTED:
            return LevelNeeds(target, answers=1)
        sitting = target is Level.MASTERED and state.sessions < t.min_sessions_mastered

        def reaches(projected: SkillState) -> bool:
            if sitting:
                # Mastered's other sitting is said apart: the answers are counted as if it were already there.
                projected = replace(projected, sessions=t.min_sessions_mastered)
            return self.level(projected, t, previous=shown).rank >= target.rank

        # One more right answer at a time, each on a question not answered right before (the fewest answers); the
        # skill's state after each is kept, as the splits below are made from them.
        states = {state.skill_id: state} if overall is None else {state.skill_id: state, ALL_SKILLS: overall}
        steps = [state]
        for count in range(_MOST_PROJECTED + 1):
            if reaches(steps[count]):
                # As few of them on new questions as the rules allow (0: any question), tried once the count is known.
                # `new` right answers on new questions, then the rest on questions already answered right, leave the
                # state that `count` new ones do with the items answered right after the first `new` of them: an
                # item answered right again adds no item, and nothing but `right_items` reads which items were.
                fewest = next((new for new in range(count)
                               if reaches(replace(steps[count], right_items=steps[new].right_items))), count)
                return LevelNeeds(target, answers=count, new_questions=fewest, another_sitting=sitting)
            states = self._answered(states, state, count)
            steps.append(states[state.skill_id])
        return LevelNeeds(target, answers=_MOST_PROJECTED, another_sitting=sitting, more=True)

    def _answered(self, states: dict[str, SkillState], state: SkillState, number: int) -> dict[str, SkillState]:
        """Return the states after one more right answer on the skill, on a question not answered right before, in
        the sitting of its last answer, as `record` keeps them (for `next_level_needs`)."""
        return {**states, **self.record(states, Response(f"{_PROJECTED}{number}", (state.skill_id,), True,
                                                         at=state.last_seen or 0.0))}

    def needs_other_items(self, state: SkillState, thresholds: MasteryThresholds | None = None, *,
                          shown: Level) -> bool:
        """Return whether right answers on more distinct items are what the state lacks for a level above `shown`.

        Every variant of a template is one item, so more right answers on items already answered right cannot
        raise the level: the learner is told that other questions are needed, not to keep going.
        """
        t = thresholds or MasteryThresholds()
        missing = t.items_to_master - len(state.right_items)
        if missing <= 0 or state.attempts == 0:
            return False
        # Keys no item has (`_item_key` gives hex digits) stand in for the items still to get right.
        with_items = replace(state, right_items=(*state.right_items, *(f"+{n}" for n in range(missing))))
        return self.level(with_items, t, previous=shown).rank > max(shown.rank,
                                                                      self.level(state, t, previous=shown).rank)

    def explain(self, state: SkillState) -> str:
        """Return a one-line reason for the estimate, e.g. "7 of the last 9 right, including 3 hard items"."""
        return joined_reason(self.explain_parts(state))

    def explain_parts(self, state: SkillState) -> tuple[tuple[str, dict[str, str]], ...]:
        """Return the reason as sentence fragments with their values, so pages can show it in any language."""
        if state.attempts == 0:
            if state.prior > 0.05:
                return ((_NOT_STARTED_SOLID, {}),)
            if state.prior < -0.05:
                return ((_NOT_STARTED_WEAK, {}),)
            return ((_NOT_STARTED, {}),)
        shown = len(state.recent)
        right = state.recent.count("1")
        counts = {"right": str(right), "shown": str(shown)}
        parts: list[tuple[str, dict[str, str]]] = [
            (_RIGHT, counts) if shown == state.attempts
            else (_RIGHT_LAST, counts)
        ]
        flagged = [c for c, h in zip(state.recent, state.recent_hard, strict=True) if h == "1"]
        hard_right = flagged.count("1")
        hard_wrong = flagged.count("0")
        if hard_right:
            parts.append((_HARD_ONE, {}) if hard_right == 1
                         else (_HARD, {"n": str(hard_right)}))
        elif hard_wrong:
            parts.append((_MISSED_HARD_ONE, {}) if hard_wrong == 1
                         else (_MISSED_HARD, {"n": str(hard_wrong)}))
        streak = len(state.recent) - len(state.recent.rstrip("1"))
        misses = len(state.recent) - len(state.recent.rstrip("0"))
        if streak >= 3:
            parts.append((_STREAK, {"n": str(streak)}))
        elif misses >= 2:
            parts.append((_MISSES, {"n": str(misses)}))
        if state.attempts > shown:
            parts.append((_ATTEMPTS, {"n": str(state.attempts)}))
        return tuple(parts)

    # -- updates -------------------------------------------------------------------------------------

    def update(self, state: SkillState, response: Response, *, step: int | None = None) -> SkillState:
        """Return the state after the response; `step` is the learner's overall attempt count before it.

        The state's shown estimate uses this skill's evidence only; `record` also uses the learner-wide state.
        """
        new = self._advance(state, response, step)
        estimate = self.log_odds({new.skill_id: new}, "", [new.skill_id])
        return replace(new, estimate=self._toward_answer(estimate, self._shown_log_odds(state), response.correct))

    def _advance(self, state: SkillState, response: Response, step: int | None) -> SkillState:
        typical = self.item_probability(response.item_id, response.skill_ids)
        hard = typical < self.params.hard_below
        p_now = _sigmoid(_logit(typical) + state.ability)
        decay = self.params.decay
        new_sitting = state.last_seen is None or response.at - state.last_seen >= self.params.session_gap
        right_items = state.right_items
        if response.correct:
            key = _item_key(response.item_id)
            if key not in right_items:
                right_items = (*right_items, key)[-_ITEMS_KEPT:]
        return replace(
            state,
            attempts=state.attempts + 1,
            correct=state.correct + (1 if response.correct else 0),
            recent=(state.recent + ("1" if response.correct else "0"))[-RECENT_WINDOW:],
            recent_hard=(state.recent_hard + ("1" if hard else "0"))[-RECENT_WINDOW:],
            evidence=state.evidence * decay + (1.0 if response.correct else 0.0),
            weight=state.weight * decay + 1.0,
            last_seen=response.at,
            last_step=step if step is not None else state.last_step,
            expected=state.expected * decay + typical,
            ability=state.ability + _elo_step(state.attempts) * ((1.0 if response.correct else 0.0) - p_now),
            sessions=state.sessions + (1 if new_sitting else 0),
            right_items=right_items,
        )

    def record(self, states: Mapping[str, SkillState], response: Response) -> dict[str, SkillState]:
        """Return the new states of the response's skills and of `ALL_SKILLS`, to be saved by the caller.

        Each skill's state carries its new shown estimate, computed with the new learner-wide state (with the
        one there was, if any, for a response that is not `learner_wide`; `ALL_SKILLS` is then not returned).
        """
        changed = self._record(states, response)
        overall_before = _evidence_or_none(states.get(ALL_SKILLS))
        overall = _evidence_or_none(changed.get(ALL_SKILLS, states.get(ALL_SKILLS)))
        for skill_id in response.skill_ids:
            state = changed[skill_id]
            old = states.get(skill_id) or SkillState(skill_id)
            # Before a skill's first answer nothing was shown: compare with what the model held then.
            before = old.estimate if old.estimate is not None else self.log_odds(
                _context(skill_id, old, overall_before), "", [skill_id])
            estimate = self.log_odds(_context(skill_id, state, overall), "", [skill_id])
            changed[skill_id] = replace(state, estimate=self._toward_answer(estimate, before, response.correct))
        return changed

    def _record(self, states: Mapping[str, SkillState], response: Response) -> dict[str, SkillState]:
        overall = states.get(ALL_SKILLS) or SkillState(ALL_SKILLS)
        step = overall.attempts
        changed = {
            skill_id: self._advance(states.get(skill_id) or SkillState(skill_id), response, step)
            for skill_id in response.skill_ids
        }
        if response.learner_wide:
            changed[ALL_SKILLS] = self._advance(overall, response, step)
        return changed

    def start(self, skill_id: str, prerequisites: Iterable[SkillState] = ()) -> SkillState:
        """Return a fresh state for a skill, with a weak head start (or handicap) from its prerequisites."""
        gaps = []
        for prerequisite in prerequisites:
            if prerequisite.attempts == 0:
                # An untouched prerequisite is no evidence either way, so it neither helps nor hurts.
                gaps.append(0.0)
                continue
            newcomer = self.probability_of_mastery(SkillState(prerequisite.skill_id))
            gaps.append(_logit(self.probability_of_mastery(prerequisite)) - _logit(newcomer))
        if not gaps:
            return SkillState(skill_id)
        cap = self.params.prerequisite_cap
        prior = max(-cap, min(cap, self.params.prerequisite_weight * sum(gaps) / len(gaps)))
        return SkillState(skill_id, prior=prior)


# -- fitting -----------------------------------------------------------------------------------------


def fit(
    responses_by_student: Mapping[str, Sequence[Response]] | Iterable[Sequence[Response]],
    *,
    epochs: int = 10,
    learning_rate: float = 0.3,
    l2: float = 1.0,
    l2_items: float = 0.1,
    decay: float = 0.9,
    passes: int = 2,
    seed: int = 0,
    base: MasteryParams | None = None,
    center: Mapping[str, float] | None = None,
    keep_going: Callable[[], bool] | None = None,
) -> MasteryParams:
    """Learn item and skill difficulties and evidence weights from learners' histories, in order.

    Each learner's answers are replayed through the same online states the app keeps, so the features
    seen in training are exactly those seen in service. The loss is log-loss plus an L2 penalty
    (`l2_items` for item difficulties, which are many and thinly observed; `l2` for the rest), minimised
    with AdaGrad over shuffled rows. The states' "expected correct" evidence needs item difficulties,
    so the first pass replays with none and each later pass replays with the previous pass's model.
    `center` (e.g. the cold-start prior's weights) is where the penalty pulls weights to instead of zero,
    so a course with little history keeps close to the prior and moves away only where its data insist.
    `keep_going`, asked between learners and epochs, lets the caller stop a long fit: FitStopped is raised.
    """
    base = replace(base or MasteryParams(), decay=decay)
    histories = list(
        responses_by_student.values() if isinstance(responses_by_student, Mapping) else responses_by_student
    )
    params = replace(base, weights={})
    for _ in range(max(passes, 1)):
        params = _fit_pass(histories, MasteryModel(params), base, epochs, learning_rate, l2, l2_items, seed,
                           center or {}, keep_going or _always)
    return params


class FitStopped(Exception):
    """The caller's `keep_going` said stop: the fit was abandoned and nothing came of it."""


def _always() -> bool:
    return True


def _fit_pass(
    histories: Sequence[Sequence[Response]],
    replay: MasteryModel,
    base: MasteryParams,
    epochs: int,
    learning_rate: float,
    l2: float,
    l2_items: float,
    seed: int,
    center: Mapping[str, float],
    keep_going: Callable[[], bool],
) -> MasteryParams:
    """Fit the weights once, with states replayed through the given model."""
    # A sparse design matrix in flat arrays: a list of tuples would take ten times the memory.
    index: dict[str, int] = {}
    cols = array("i")
    vals = array("d")
    starts = array("q", [0])
    labels = bytearray()
    for history in histories:
        if not keep_going():
            raise FitStopped
        states: dict[str, SkillState] = {}
        for response in history:
            for name, value in features(states, response.item_id, response.skill_ids, response.at):
                if value:
                    cols.append(index.setdefault(name, len(index)))
                    vals.append(value)
            starts.append(len(cols))
            labels.append(1 if response.correct else 0)
            states.update(replay._record(states, response))
    n_rows = len(labels)
    n_features = len(index)
    if n_rows == 0:
        return base

    # Spread the penalty over each feature's rows so one epoch applies it once in full (a proper prior).
    counts = [0] * n_features
    for c in cols:
        counts[c] += 1
    names = [""] * n_features
    for name, i in index.items():
        names[i] = name
    reg = [(l2_items if names[i].startswith("item:") else l2) / max(counts[i], 1) for i in range(n_features)]

    w0 = [center.get(names[i], 0.0) for i in range(n_features)]
    w = list(w0)
    g2 = [1e-8] * n_features
    order = list(range(n_rows))
    rng = random.Random(seed)  # noqa: S311 - shuffling training rows, not security
    exp = math.exp
    sqrt = math.sqrt
    # Projected AdaGrad: every step keeps the signed evidence weights' signs, and after each epoch the answer
    # patterns go back to where a right answer never counts against (`monotone_weights`).
    signs = [_evidence_sign(name) for name in names]
    low = [0.0 if sign == 1.0 else -math.inf for sign in signs]
    high = [0.0 if sign == -1.0 else math.inf for sign in signs]
    constrained = [i for i in range(n_features) if _is_constrained(names[i])]
    for _ in range(epochs):
        if not keep_going():
            raise FitStopped
        rng.shuffle(order)
        for r in order:
            a = starts[r]
            b = starts[r + 1]
            z = 0.0
            for j in range(a, b):
                z += w[cols[j]] * vals[j]
            z = min(max(z, -30.0), 30.0)
            g = 1.0 / (1.0 + exp(-z)) - labels[r]
            for j in range(a, b):
                c = cols[j]
                grad = g * vals[j] + reg[c] * (w[c] - w0[c])
                g2[c] += grad * grad
                v = w[c] - learning_rate * grad / sqrt(g2[c])
                w[c] = low[c] if v < low[c] else high[c] if v > high[c] else v
        kept = monotone_weights({names[i]: w[i] for i in constrained})
        for i in constrained:
            w[i] = kept[names[i]]

    # The learner-wide contribution averaged over training rows stands in when only a skill is known.
    learner_sum = 0.0
    is_learner = [name.startswith("all.") for name in names]
    for j in range(len(cols)):
        if is_learner[cols[j]]:
            learner_sum += w[cols[j]] * vals[j]
    weights = {name: value for name, value in center.items() if name not in index}
    weights.update({names[i]: w[i] for i in range(n_features) if w[i] != 0.0})
    return replace(base, weights=monotone_weights(weights), typical_learner_logit=learner_sum / n_rows)
