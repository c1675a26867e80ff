"""What the next level needs is projected in as many recorded answers as it counts, with the same answers as before
(issue 14, bench/README.md Round 18).

`MasteryModel.next_level_needs` projects right answers one at a time until the level is reached, then asks how few
of them must be on questions not yet answered right. It used to project every split of new and already-right
answers from the start again (quadratic in the answers projected: most of the feedback page's instructions); it now
makes each split from the states along the one projection. `_reference_needs` below is the old algorithm, kept to
compare with over many random states, models, thresholds and item mixes.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import replace

from lti_tool.learning import mastery
from lti_tool.learning.mastery import (
    ALL_SKILLS,
    LEVELS,
    Level,
    MasteryModel,
    MasteryParams,
    MasteryThresholds,
    SkillState,
)

LevelNeeds, Response = mastery.LevelNeeds, mastery.Response
_MOST_PROJECTED, _PROJECTED = mastery._MOST_PROJECTED, mastery._PROJECTED

DAY = 86_400.0


# -- the algorithm before round 18, as it was (the reference) -------------------------------------------------


def _reference_answered(model: MasteryModel, states: dict, state: SkillState, number: int, *, new: bool) -> dict:
    before = states[state.skill_id]
    states = {**states, **model.record(states, Response(f"{_PROJECTED}{number}", (state.skill_id,), True,
                                                        at=state.last_seen or 0.0))}
    if not new:  # no new item among those answered right
        states[state.skill_id] = replace(states[state.skill_id], right_items=before.right_items)
    return states


def _reference_projected(model: MasteryModel, state: SkillState, overall: SkillState | None, new: int,
                         again: int) -> SkillState:
    states = {state.skill_id: state} if overall is None else {state.skill_id: state, ALL_SKILLS: overall}
    for number in range(new + again):
        states = _reference_answered(model, states, state, number, new=number < new)
    return states[state.skill_id]


def _reference_needs(model: MasteryModel, state: SkillState, thresholds: MasteryThresholds | None, *,
                     shown: Level, overall: SkillState | None) -> LevelNeeds | None:
    rules = thresholds or MasteryThresholds()
    if shown in (Level.NOT_STARTED, Level.MASTERED):
        return None if shown is Level.MASTERED else LevelNeeds(Level.ATTEMPTED, answers=1)
    target = LEVELS[shown.rank + 1]
    sitting = target is Level.MASTERED and state.sessions < rules.min_sessions_mastered

    def reaches(projected: SkillState) -> bool:  # Mastered's other sitting counted as if it were there
        seen = replace(projected, sessions=rules.min_sessions_mastered) if sitting else projected
        return model.level(seen, rules, previous=shown).rank >= target.rank

    states = {state.skill_id: state, **({} if overall is None else {ALL_SKILLS: overall})}
    for count in range(_MOST_PROJECTED + 1):
        if reaches(states[state.skill_id]):
            fewest = next((new for new in range(count)
                           if reaches(_reference_projected(model, state, overall, new, count - new))), count)
            return LevelNeeds(target, answers=count, new_questions=fewest, another_sitting=sitting)
        states = _reference_answered(model, states, state, count, new=True)
    return LevelNeeds(target, answers=_MOST_PROJECTED, another_sitting=sitting, more=True)


# -- random models, rules and learners --------------------------------------------------------------------------

SKILLS = ("s", "t", "u")


def _random_model(rng: random.Random, items: list[str]) -> MasteryModel:
    """The cold-start weights shaken, with a difficulty for each item and skill (a course's fit, more or less)."""
    weights = {name: w + rng.gauss(0.0, 0.4 * (abs(w) + 0.1)) for name, w in MasteryParams().weights.items()}
    for item in items:
        if rng.random() < 0.8:
            weights["item:" + item] = rng.gauss(0.0, 1.2)
    for skill in SKILLS:
        weights["skill:" + skill] = rng.gauss(0.0, 0.8)
        weights["wins@" + skill] = rng.gauss(0.1, 0.2)
        weights["fails@" + skill] = rng.gauss(-0.1, 0.2)
    params = MasteryParams(weights=weights, decay=rng.uniform(0.6, 0.97),
                           typical_learner_logit=rng.gauss(0.0, 0.6), hard_below=rng.uniform(0.3, 0.7),
                           session_gap=rng.choice((600.0, 3600.0, 7200.0)))
    return MasteryModel(params)


def _random_thresholds(rng: random.Random) -> MasteryThresholds | None:
    if rng.random() < 0.2:
        return None  # the defaults
    familiar = rng.uniform(0.4, 0.75)
    proficient = rng.uniform(familiar, 0.88)
    return MasteryThresholds(
        familiar=familiar, proficient=proficient, mastered=rng.uniform(proficient, 0.95),
        min_correct_familiar=rng.randint(1, 4), min_attempts_proficient=rng.randint(1, 6),
        min_items_proficient=rng.randint(1, 6), min_items_proficient_placed=rng.randint(0, 4),
        min_attempts_mastered=rng.randint(2, 9), min_items_mastered=rng.randint(1, 8),
        min_sessions_mastered=rng.randint(1, 3), hold_margin=rng.choice((0.0, 0.3, 0.8, 1.5)),
    )


def _practised(rng: random.Random, model: MasteryModel, items: list[str]) -> tuple[SkillState, SkillState | None]:
    """A learner's states after a random history: items of one to three skills, right or wrong, over sittings,
    some answers kept out of the learner-wide state (placement's)."""
    states: dict[str, SkillState] = {}
    if rng.random() < 0.3:
        states["s"] = model.start("s", [SkillState("p", attempts=3, correct=rng.randint(0, 3),
                                                   estimate=rng.gauss(0.0, 1.5))])
    clock = 1_000_000.0
    skill_right = rng.uniform(0.2, 0.95)
    for _ in range(rng.randint(0, 40)):
        clock += rng.choice((20.0, 45.0, 90.0, 5000.0, DAY))
        skills = ("s",) if rng.random() < 0.6 else tuple(rng.sample(SKILLS, rng.randint(1, 3)))
        states.update(model.record(states, Response(rng.choice(items), skills, rng.random() < skill_right,
                                                    at=clock, learner_wide=rng.random() < 0.85)))
    state = states.get("s") or SkillState("s")
    if rng.random() < 0.2:
        state = replace(state, placed=True)
    if rng.random() < 0.1:
        state = replace(state, held_below=True)
    if rng.random() < 0.1 and state.right_items:
        # An item answered right whose short key is a projected answer's: that answer then adds no item.
        taken = format(zlib.crc32(f"{_PROJECTED}{rng.randint(0, 4)}".encode()) & 0xFFFFFF, "06x")
        state = replace(state, right_items=(*state.right_items[-7:], taken))
    overall = states.get(ALL_SKILLS) if rng.random() < 0.85 else None
    return state, overall


def _made_up(rng: random.Random) -> tuple[SkillState, SkillState | None]:
    """A state with its numbers drawn at random (no history makes it, e.g. one saved by older code)."""
    attempts = rng.randint(0, 30)
    correct = rng.randint(0, attempts)
    recent = "".join(rng.choice("01") for _ in range(min(attempts, 10)))
    weight = rng.uniform(0.0, 10.0)
    state = SkillState(
        "s", attempts=attempts, correct=correct, recent=recent,
        recent_hard="".join(rng.choice("01") for _ in recent), evidence=rng.uniform(0.0, weight), weight=weight,
        last_seen=rng.choice((None, 1_000_000.0)), last_step=rng.choice((None, 0, attempts, 3 * attempts)),
        prior=rng.choice((0.0, rng.uniform(-1.0, 1.0))), expected=rng.uniform(0.0, weight),
        ability=rng.gauss(0.0, 1.0), sessions=rng.randint(0, 3),
        right_items=tuple(f"{rng.randrange(16 ** 6):06x}" for _ in range(rng.randint(0, min(correct, 8)))),
        estimate=rng.choice((None, rng.gauss(0.5, 1.5))), placed=rng.random() < 0.2,
    )
    if rng.random() < 0.3:
        return state, None
    overall_attempts = attempts + rng.randint(0, 50)
    overall = SkillState(ALL_SKILLS, attempts=overall_attempts, correct=rng.randint(0, overall_attempts),
                         recent="".join(rng.choice("01") for _ in range(min(overall_attempts, 10))),
                         evidence=rng.uniform(0.0, 6.0), weight=rng.uniform(6.0, 10.0),
                         expected=rng.uniform(0.0, 8.0), ability=rng.gauss(0.0, 1.0))
    overall = replace(overall, recent_hard="0" * len(overall.recent))
    return state, overall


def test_what_the_next_level_needs_is_what_the_old_projection_told_for_many_random_learners():
    """The projection made linear tells exactly what the old one did: answers, new questions, the other sitting and
    "more than", for every level shown, over random models, thresholds, item mixes and states (seeded)."""
    rng = random.Random(1818)
    seen: dict[str, int] = {}
    compared = 0
    for case in range(150):
        items = [f"item-{case}-{k}" for k in range(rng.choice((1, 2, 3, 5, 12)))]
        model = _random_model(rng, items)
        for _ in range(6):
            thresholds = _random_thresholds(rng)
            state, overall = _practised(rng, model, items) if rng.random() < 0.7 else _made_up(rng)
            for shown in LEVELS:
                told = MasteryModel(model.params).next_level_needs(state, thresholds, shown=shown, overall=overall)
                expected = _reference_needs(model, state, thresholds, shown=shown, overall=overall)
                assert told == expected, (case, state, overall, thresholds, shown)
                compared += 1
                if told is None or told.level is Level.ATTEMPTED:
                    continue
                kind = ("more" if told.more else "now" if told.answers == 0
                        else "any question" if told.new_questions == 0
                        else "all new" if told.new_questions == told.answers else "some new")
                seen[kind] = seen.get(kind, 0) + 1
                if told.another_sitting:
                    seen["another sitting"] = seen.get("another sitting", 0) + 1
    # Every kind of answer came up often enough to compare, the splits between new and any question above all.
    assert compared == 150 * 6 * len(LEVELS)
    for kind in ("more", "now", "any question", "all new", "some new", "another sitting"):
        assert seen.get(kind, 0) >= 20, seen


class _Counting(MasteryModel):
    """The model, counting the answers it records (and recording them as it does)."""

    recorded = 0

    def record(self, states, response):
        self.recorded += 1
        return super().record(states, response)


def test_a_projection_records_each_answer_it_counts_once():
    """Telling "N more right answers, K of them on new questions" records N answers, not one run per split of new
    and already-right answers (the old projection recorded N more for each split tried: 3 + 2·3 = 9 here)."""
    model = _Counting()
    rules = MasteryThresholds(min_items_proficient=3, min_attempts_proficient=5)
    states: dict[str, SkillState] = {}
    for n, item in enumerate(("a", "b")):  # Familiar, two items right: Proficient asks for five answers, three items
        states.update(model.record(states, Response(item, ("s",), True, at=1_000_000.0 + 30 * n)))
    shown = model.level(states["s"], rules)
    model.recorded = 0
    needs = model.next_level_needs(states["s"], rules, shown=shown, overall=states[ALL_SKILLS])
    assert needs == LevelNeeds(Level.PROFICIENT, answers=3, new_questions=1), needs  # two splits tried: 0 and 1 new
    assert model.recorded == needs.answers, (model.recorded, needs)
