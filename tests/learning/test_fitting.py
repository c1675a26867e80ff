"""A course's model is fitted from its own history, starting from the cold-start prior."""

import math
import random

from lti_tool.learning.fitting import MIN_RESPONSES, fit_course, params_from_stored, stored
from lti_tool.learning.mastery import MasteryModel, MasteryParams, Response


def histories(learners: int, answers: int, seed: int = 1) -> dict[str, list[Response]]:
    rng = random.Random(seed)
    difficulty = {f"q{n}": (2.0 if n < 5 else -2.0) for n in range(10)}  # q0-q4 hard, q5-q9 easy
    out = {}
    for learner in range(learners):
        ability = rng.gauss(0, 1)
        out[str(learner)] = [
            Response(item, ("fractions",), rng.random() < 1 / (1 + math.exp(-(ability - difficulty[item]))),
                     at=1000.0 * step)
            for step, item in enumerate(f"q{rng.randrange(10)}" for _ in range(answers))
        ]
    return out


def test_a_course_with_too_little_history_keeps_the_prior():
    result = fit_course(histories(3, 10))

    assert not result.fitted and result.responses == 30 < MIN_RESPONSES
    assert result.params == MasteryParams()


def test_a_course_with_enough_history_learns_its_own_item_difficulties():
    result = fit_course(histories(40, 20), epochs=3)

    assert result.fitted and result.responses == 800 and result.learners == 40
    model = MasteryModel(result.params)
    assert model.item_probability("q7", ["fractions"]) > model.item_probability("q2", ["fractions"]) + 0.3
    # Learner-evidence weights start at the prior's and stay close to it with this little history.
    prior = MasteryParams().weights
    assert abs(result.params.weights["skill.ability"] - prior["skill.ability"]) < 0.5


def test_a_fit_is_stored_with_its_revision_and_read_back():
    result = fit_course(histories(40, 20), epochs=2)

    data = stored(result, revision=3, fitted_at="2026-12-01T00:00:00")

    assert data["revision"] == 3 and data["responses"] == 800 and data["fitted"]
    assert params_from_stored(data) == result.params
    assert MasteryParams.from_dict(data) == result.params  # what services read
    assert params_from_stored(None) == MasteryParams()  # never fitted: the prior
