import json

import pytest

from lti_tool.learning.mastery import (
    ALL_SKILLS,
    Level,
    MasteryModel,
    MasteryParams,
    MasteryThresholds,
    Response,
    SkillState,
    fit,
    monotone_weights,
)

# A small course: "easy-*" items most learners get right, "hard-*" items most get wrong.
COURSE_WEIGHTS = {
    "bias": 0.5,
    "skill:fractions": 0.0,
    "item:easy-1": 1.5,
    "item:easy-2": 1.5,
    "item:hard-1": -2.0,
    "item:hard-2": -2.0,
    "item:hard-3": -2.0,
    "skill.wins": 0.3,
    "skill.fails": -0.3,
    "skill.ability": 0.5,
    "all.ability": 0.3,
}


def course_model() -> MasteryModel:
    return MasteryModel(MasteryParams(weights=COURSE_WEIGHTS, typical_learner_logit=0.0))


DAY = 86_400.0


def answer(model: MasteryModel, state: SkillState, *answers: tuple[str, bool], day: int = 0) -> SkillState:
    for step, (item_id, correct) in enumerate(answers):
        at = 1_000.0 + day * DAY + step
        state = model.update(state, Response(item_id, (state.skill_id,), correct, at=at), step=step)
    return state


def test_learner_who_has_not_answered_anything_is_not_started():
    assert course_model().level(SkillState("fractions")) is Level.NOT_STARTED


def test_levels_are_exactly_the_five_names_teachers_see():
    assert [level.value for level in Level] == ["Not started", "Attempted", "Familiar", "Proficient", "Mastered"]
    assert Level.MASTERED.rank > Level.PROFICIENT.rank > Level.FAMILIAR.rank > Level.ATTEMPTED.rank


def test_learner_who_misses_the_first_item_has_only_attempted_the_skill():
    model = course_model()

    state = answer(model, SkillState("fractions"), ("easy-1", False))

    assert model.level(state) is Level.ATTEMPTED


def test_learner_climbs_through_every_level_by_answering_items_right():
    model = course_model()
    state = SkillState("fractions")
    seen = [model.level(state)]

    for step in range(8):
        # Two sittings: the last three answers come a day later.
        state = answer(model, state, (f"item-{step}", True), day=step // 5)
        seen.append(model.level(state, previous=seen[-1]))

    assert seen[0] is Level.NOT_STARTED
    assert seen[-1] is Level.MASTERED
    assert [level.rank for level in seen] == sorted(level.rank for level in seen)
    assert {Level.FAMILIAR, Level.PROFICIENT} <= set(seen)


def test_proficient_needs_enough_attempts_even_after_a_lucky_start():
    model = course_model()
    strict = MasteryThresholds(min_attempts_proficient=3, min_attempts_mastered=5)

    state = answer(model, SkillState("fractions"), ("hard-1", True), ("hard-2", True))

    assert model.probability_of_mastery(state) >= strict.proficient
    assert model.level(state, strict) is Level.FAMILIAR


def test_teacher_can_make_levels_stricter():
    model = course_model()
    state = answer(model, SkillState("fractions"), *[(f"item-{i}", True) for i in range(3)])
    state = answer(model, state, *[(f"item-{i}", True) for i in range(3, 6)], day=1)

    assert model.level(state) is Level.MASTERED
    assert model.level(state, MasteryThresholds(mastered=0.99)) is Level.PROFICIENT


def test_thresholds_must_rise():
    with pytest.raises(ValueError, match="must rise"):
        MasteryThresholds(familiar=0.9, proficient=0.8)


def test_learner_who_answers_several_hard_items_right_moves_up_more_than_on_easy_items():
    model = course_model()
    start = SkillState("fractions")

    hard = answer(model, start, ("hard-1", True), ("hard-2", True), ("hard-3", True))
    easy = answer(model, start, ("easy-1", True), ("easy-2", True), ("easy-1", True))

    assert model.probability_of_mastery(hard) > model.probability_of_mastery(easy)
    assert model.probability_of_mastery(easy) > model.probability_of_mastery(start)
    assert model.level(hard).rank > model.level(start).rank
    assert model.predict({"fractions": hard}, "hard-1") > model.predict({"fractions": start}, "hard-1")


def test_every_right_answer_raises_mastery_and_every_wrong_one_lowers_it():
    model = course_model()
    state = SkillState("fractions")
    for item_id, correct in [("easy-1", True), ("hard-1", False), ("hard-2", True), ("easy-2", False)] * 3:
        before = model.probability_of_mastery(state)
        state = answer(model, state, (item_id, correct))
        after = model.probability_of_mastery(state)
        assert (after > before) if correct else (after < before)


def test_item_difficulty_shapes_the_prediction():
    model = course_model()
    states = {"fractions": SkillState("fractions")}

    assert model.predict(states, "easy-1") > 0.75 > 0.25 > model.predict(states, "hard-1")
    assert model.is_hard("hard-1", ["fractions"]) and not model.is_hard("easy-1", ["fractions"])


def test_unseen_item_is_predicted_from_its_skill():
    model = MasteryModel(MasteryParams(weights={"skill:fractions": -1.0}, typical_learner_logit=0.0))

    assert model.predict({"fractions": SkillState("fractions")}, "brand-new") == pytest.approx(0.2689, abs=1e-4)


def test_explanation_counts_recent_right_answers_and_hard_items():
    model = course_model()
    answers = [("easy-1", False), ("hard-1", True), ("easy-2", True), ("hard-2", True)]
    answers += [("easy-1", True), ("hard-3", True), ("easy-2", False), ("easy-1", True), ("easy-2", True)]

    state = answer(model, SkillState("fractions"), *answers)

    assert model.explain(state) == "7 of 9 right, including 3 hard items"


def test_explanation_talks_about_the_last_ten_when_there_are_more():
    model = course_model()
    answers = [("easy-1", False)] * 5 + [("easy-2", True)] * 8 + [("easy-1", False), ("easy-1", False)]

    state = answer(model, SkillState("fractions"), *answers)

    assert model.explain(state) == "8 of the last 10 right; last 2 missed (15 attempts in all)"


def test_explanation_mentions_missed_hard_items_and_untouched_skills():
    model = course_model()

    missed = answer(model, SkillState("fractions"), ("hard-1", False), ("easy-1", True))

    assert model.explain(missed) == "1 of 2 right, missing 1 hard item"
    assert model.explain(SkillState("fractions")) == "Not started yet"


def test_skill_state_round_trips_through_json():
    model = course_model()
    state = answer(model, SkillState("fractions", prior=0.25), ("hard-1", True), ("easy-1", False))

    again = SkillState.from_dict(json.loads(json.dumps(state.to_dict())))

    assert again == state
    assert len(json.dumps(state.to_dict())) < 400


def test_fitted_parameters_and_thresholds_round_trip_through_json():
    params = MasteryParams(weights=COURSE_WEIGHTS, typical_learner_logit=0.3, hard_below=0.4)
    thresholds = MasteryThresholds(familiar=0.5, mastered=0.95, min_attempts_mastered=8)

    assert MasteryParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    assert MasteryThresholds.from_dict(json.loads(json.dumps(thresholds.to_dict()))) == thresholds


def test_parameters_from_an_unknown_version_are_refused():
    data = MasteryParams().to_dict() | {"version": 99}

    with pytest.raises(ValueError, match="version 99"):
        MasteryParams.from_dict(data)


def test_update_is_pure_and_returns_a_new_state():
    model = course_model()
    state = SkillState("fractions")
    snapshot = state.to_dict()

    after = model.update(state, Response("hard-1", ("fractions",), True, at=5.0), step=0)

    assert state.to_dict() == snapshot
    assert after is not state
    assert (after.attempts, after.correct, after.recent, after.last_seen) == (1, 1, "1", 5.0)
    assert model.update(state, Response("hard-1", ("fractions",), True, at=5.0), step=0) == after


def test_record_updates_every_skill_of_the_item_and_the_learner_wide_state():
    model = course_model()
    states = {"fractions": SkillState("fractions")}

    changed = model.record(states, Response("mixed-1", ("fractions", "decimals"), False, at=0.0))

    assert set(changed) == {"fractions", "decimals", ALL_SKILLS}
    assert all(state.attempts == 1 and state.correct == 0 for state in changed.values())
    assert states == {"fractions": SkillState("fractions")}


def test_an_answer_kept_out_of_the_learner_wide_state_moves_its_skill_only():
    model = course_model()
    states = model.record({}, Response("easy-1", ("fractions",), True, at=0.0))
    overall = states[ALL_SKILLS]

    changed = model.record(states, Response("hard-1", ("fractions",), False, at=40.0, learner_wide=False))

    assert set(changed) == {"fractions"}  # the placement check's kind of answer: its skill's evidence only
    assert (changed["fractions"].attempts, changed["fractions"].correct) == (2, 1)
    assert changed["fractions"].estimate == pytest.approx(
        model.log_odds({"fractions": changed["fractions"], ALL_SKILLS: overall}, "", ["fractions"]))
    # The next learner-wide answer follows on from the last one that counted.
    after = model.record({**states, **changed}, Response("easy-2", ("fractions",), True, at=80.0))
    assert after[ALL_SKILLS].attempts == 2 and after["fractions"].attempts == 3
    # With no learner-wide state yet, the estimate is a typical learner's, as for a first answer.
    first = model.record({}, Response("hard-1", ("fractions",), False, at=0.0, learner_wide=False))
    assert set(first) == {"fractions"}
    assert first["fractions"].estimate == pytest.approx(model.log_odds({"fractions": first["fractions"]}, "",
                                                                       ["fractions"]))
    # So is an empty one (the app locks the learner-wide row before the first answer that counts in it).
    empty = model.record({ALL_SKILLS: SkillState(ALL_SKILLS)},
                         Response("hard-1", ("fractions",), False, at=0.0, learner_wide=False))
    assert empty == first


def test_learner_with_strong_prerequisites_starts_ahead_and_with_weak_ones_behind():
    model = course_model()
    strong = answer(model, SkillState("whole-numbers"), *[("easy-1", True)] * 5)
    weak = answer(model, SkillState("whole-numbers"), *[("easy-1", False)] * 5)

    ahead = model.start("fractions", [strong])
    behind = model.start("fractions", [weak])
    neutral = model.start("fractions", [SkillState("whole-numbers")])

    assert ahead.prior > 0 > behind.prior and neutral.prior == 0
    assert model.probability_of_mastery(ahead) > model.probability_of_mastery(neutral)
    assert model.probability_of_mastery(behind) < model.probability_of_mastery(neutral)
    assert model.predict({"fractions": ahead}, "hard-1") > model.predict({"fractions": behind}, "hard-1")
    assert model.explain(ahead) == "Not started yet; the prerequisites look solid"


def test_prerequisite_head_start_is_weak_and_fades_with_own_answers():
    model = course_model()
    strong = answer(model, SkillState("whole-numbers"), *[("hard-1", True)] * 10)
    ahead = model.start("fractions", [strong])

    assert 0 < ahead.prior <= model.params.prerequisite_cap
    # Compared in log-odds, where the head start is added.
    fresh_gap = model.log_odds({"fractions": ahead}, "easy-1") - model.log_odds(
        {"fractions": SkillState("fractions")}, "easy-1"
    )
    later = answer(model, ahead, *[("easy-1", False)] * 4)
    plain = answer(model, SkillState("fractions"), *[("easy-1", False)] * 4)
    later_gap = model.log_odds({"fractions": later}, "easy-1") - model.log_odds({"fractions": plain}, "easy-1")
    assert 0 < later_gap < fresh_gap


def _synthetic_histories(students: int = 60) -> dict[str, list[Response]]:
    """Learners of varying ability on items of varying difficulty; ability grows with practice."""
    import math
    import random

    rng = random.Random(7)
    difficulty = {f"i{n}": rng.gauss(0, 1.2) for n in range(30)}
    histories = {}
    for s in range(students):
        ability = rng.gauss(0, 1)
        history = []
        for step in range(40):
            item = f"i{rng.randrange(30)}"
            p = 1 / (1 + math.exp(-(ability + 0.05 * step - difficulty[item])))
            history.append(Response(item, ("skill-a",), rng.random() < p, at=float(step)))
        histories[str(s)] = history
    return histories


def test_fit_learns_item_difficulties_that_predict_better_than_chance():
    histories = _synthetic_histories()

    params = fit(histories, epochs=4)
    model = MasteryModel(params)

    easiest = max((k for k in params.weights if k.startswith("item:")), key=lambda k: params.weights[k]).removeprefix(
        "item:"
    )
    hardest = min((k for k in params.weights if k.startswith("item:")), key=lambda k: params.weights[k]).removeprefix(
        "item:"
    )
    fresh = {"skill-a": SkillState("skill-a")}
    assert model.predict(fresh, easiest) > model.predict(fresh, hardest)
    assert MasteryParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params


def test_fit_on_no_history_gives_usable_default_parameters():
    model = MasteryModel(fit({}))

    assert 0.0 < model.predict({"a": SkillState("a")}, "x") < 1.0


def test_course_without_history_still_predicts_better_after_right_answers():
    model = MasteryModel()
    start = {"fractions": SkillState("fractions"), ALL_SKILLS: SkillState(ALL_SKILLS)}
    after = model.record(start, Response("q1", ("fractions",), True, at=0.0))

    assert model.predict(after, "q2", ["fractions"]) > model.predict(start, "q2", ["fractions"])
    assert MasteryModel(fit([])).params == model.params


def _walks(length: int):
    for n in range(1, length + 1):
        for bits in range(2**n):
            yield [bool(bits >> k & 1) for k in range(n)]


@pytest.mark.parametrize("params", [
    None,  # the cold-start prior a new course runs on
    # Weights a course fit could give: a fifth right answer in a row weighs against, a fifth miss for.
    MasteryParams(weights={**COURSE_WEIGHTS, "skill.pattern:11111": -3.0, "all.pattern:11111": -3.0,
                           "skill.pattern:00000": 3.0, "all.pattern:00000": 3.0}, typical_learner_logit=0.0),
], ids=["cold-start prior", "adversarial course fit"])
def test_a_right_answer_never_lowers_the_shown_number_and_a_wrong_one_never_raises_it(params):
    model = MasteryModel(params)
    moved_against = []
    for walk in _walks(9):
        states: dict[str, SkillState] = {ALL_SKILLS: SkillState(ALL_SKILLS)}
        for step, correct in enumerate(walk):
            # Two skills share the learner-wide state; every third answer is the placement check's.
            skill = "fractions" if step % 2 else "decimals"
            before = model.probability_of_mastery(states.get(skill) or model.start(skill))
            states.update(model.record(states, Response(f"item-{step % 4}", (skill,), correct, at=60.0 * step,
                                                        learner_wide=step % 3 != 2)))
            after = model.probability_of_mastery(states[skill])
            if (after < before) if correct else (after > before):
                moved_against.append(walk[: step + 1])
    assert moved_against == []


def test_an_answer_that_agrees_with_the_estimate_still_moves_it_when_the_model_says_so():
    # The rule keeps the direction only: a right answer after right ones still raises the number.
    model = MasteryModel()
    states: dict[str, SkillState] = {}
    shown = []
    for step in range(8):
        states.update(model.record(states, Response(f"item-{step}", ("fractions",), True, at=60.0 * step)))
        shown.append(model.probability_of_mastery(states["fractions"]))
    assert shown == sorted(shown) and len(set(shown)) >= 5  # held where the fit alone would have lowered it


# Weights a fit on skill-builder data could give without the constraint: more right answers, a higher rate and
# a run of right answers all counting against the learner.
BACKWARD_WEIGHTS = {**COURSE_WEIGHTS, "skill.wins": -0.8, "skill.fails": 0.6, "skill.rate": -0.5,
                    "all.recent_rate": -0.7, "wins@fractions": -0.4, "fails@fractions": 0.4,
                    "skill.pattern:0011": 0.9, "skill.pattern:0111": -0.6, "skill.pattern:1111": -0.2,
                    "all.pattern:00111": 0.8, "all.pattern:01111": -0.9, "all.pattern:1": -0.3, "all.pattern:0": 0.3}


@pytest.mark.parametrize("weights", [None, BACKWARD_WEIGHTS], ids=["cold-start prior", "backward course fit"])
def test_a_right_answer_in_place_of_a_wrong_one_never_lowers_the_prediction(weights):
    model = MasteryModel(None if weights is None else MasteryParams(weights=weights, typical_learner_logit=0.0))
    backward = []
    for walk in _walks(7):
        states: dict[str, SkillState] = {ALL_SKILLS: SkillState(ALL_SKILLS)}
        for step, correct in enumerate(walk):
            states.update(model.record(states, Response(f"easy-{step % 2 + 1}", ("fractions",), correct,
                                                        at=60.0 * step)))
        last = Response("hard-1", ("fractions",), True, at=60.0 * len(walk))
        right = {**states, **model._record(states, last)}
        wrong = {**states, **model._record(states, Response(last.item_id, last.skill_ids, False, at=last.at))}
        if model.log_odds(right, "easy-1", ["fractions"]) < model.log_odds(wrong, "easy-1", ["fractions"]) - 1e-12:
            backward.append(walk)
    assert backward == []


def _skill_builder_histories(students: int = 40) -> dict[str, list[Response]]:
    """Answers in a loop of "miss, miss, right, right, right": a miss follows every third right answer in a row.

    The data of a skill builder whose learners who go on after three right in a row are the ones sent back: a fit
    alone learns that a run of right answers predicts a miss.
    """
    block = [False, False, True, True, True]
    return {
        str(s): [Response(f"i{(s + n) % 7}", ("skill-a",), block[(s + n) % 5], at=60.0 * n) for n in range(40)]
        for s in range(students)
    }


def test_a_course_fit_never_learns_that_right_answers_count_against_the_learner():
    params = fit(_skill_builder_histories(), epochs=4, l2=0.01)
    weights = params.weights

    assert monotone_weights(weights) == dict(weights)  # the stored fit is already monotone, not only when used
    assert weights["skill.pattern:0111"] >= weights["skill.pattern:0011"]
    assert weights.get("skill.wins", 0.0) >= 0.0 and weights.get("skill.fails", 0.0) <= 0.0
    assert weights.get("wins@skill-a", 0.0) >= 0.0 and weights.get("fails@skill-a", 0.0) <= 0.0


def test_monotone_weights_raise_low_patterns_and_zero_backward_signs_only():
    kept = monotone_weights(BACKWARD_WEIGHTS)

    assert kept["skill.wins"] == 0.0 and kept["skill.fails"] == 0.0 and kept["skill.rate"] == 0.0
    assert kept["wins@fractions"] == 0.0 and kept["fails@fractions"] == 0.0
    assert kept["skill.ability"] == 0.5 and kept["item:hard-1"] == -2.0  # right-way and free weights stay
    assert kept["skill.pattern:0011"] <= kept["skill.pattern:0111"] <= kept["skill.pattern:1111"]
    assert kept["all.pattern:0"] <= kept["all.pattern:1"]
    assert monotone_weights(kept) == kept


def test_a_learner_who_lacks_only_a_second_sitting_for_mastered_is_told_so():
    model = course_model()
    state = SkillState("fractions")
    for step in range(10):
        state = answer(model, state, (f"item-{step}", True))  # one sitting, ten right

    assert model.level(state) is Level.PROFICIENT
    assert model.needs_only_another_sitting(state)
    # A day later, right again: Mastered, and nothing is lacking.
    later = answer(model, state, ("item-10", True), day=1)
    assert model.level(later) is Level.MASTERED
    assert not model.needs_only_another_sitting(later)
    # Right answers on too few items: more practice (on other items), not another day alone, is what it lacks.
    few = answer(model, SkillState("fractions"), *[("item-0", True)] * 6)
    assert not model.needs_only_another_sitting(few)
