"""Fit a course's mastery model from its own history, starting from (and pulled towards) the cold-start prior.

Pure and clock-free: the worker job (services/model_fitting.py, run by jobs/worker.py, `pathways course fit`
and the teacher's "Refit" button) and bench/mastery_auc.py call exactly this, so the benchmark measures the
code path a deployed course runs. What is stored per course is versioned: a revision number, when and on how
much history the fit ran, and the parameters; a course that was never fitted runs on the prior.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .mastery import MasteryParams, Response, fit

#: Below this many answers a course keeps the cold-start prior: a fit would mostly learn noise.
MIN_RESPONSES = 200

#: Fitting options the product uses; the benchmark uses the same ones.
FIT_OPTIONS: Mapping[str, Any] = {"epochs": 10, "learning_rate": 0.3, "l2": 1.0, "l2_items": 0.1, "passes": 2}


@dataclass(frozen=True)
class CourseFit:
    """The result of fitting one course: the parameters to use and what they were fitted on."""

    params: MasteryParams
    responses: int
    learners: int
    #: False when the history was too short and the prior was kept.
    fitted: bool


def fit_course(
    histories: Mapping[str, Sequence[Response]],
    *,
    prior: MasteryParams | None = None,
    min_responses: int = MIN_RESPONSES,
    **options: Any,
) -> CourseFit:
    """Fit item and skill difficulties and evidence weights to each learner's answers, in order.

    `histories` maps a learner to their answers in the order given. The penalty pulls every weight towards
    the prior's (zero for the course's own items and skills), so little history moves the model little.
    A `keep_going` option (see mastery.fit) lets the caller stop a long fit; mastery.FitStopped is raised then.
    """
    prior = prior or MasteryParams()
    responses = sum(len(h) for h in histories.values())
    learners = sum(1 for h in histories.values() if h)
    if responses < min_responses:
        return CourseFit(prior, responses, learners, fitted=False)
    options = {**FIT_OPTIONS, "center": dict(prior.weights), **options}
    params = fit(histories, base=prior, **options)
    return CourseFit(params, responses, learners, fitted=True)


def stored(result: CourseFit, *, revision: int, fitted_at: str) -> dict[str, Any]:
    """Return what a course stores: its fit's revision, date (ISO 8601), size of history and parameters."""
    return {
        "revision": revision,
        "fitted_at": fitted_at,
        "responses": result.responses,
        "learners": result.learners,
        "fitted": result.fitted,
        "params": result.params.to_dict(),
    }


def params_from_stored(data: Mapping[str, Any] | None) -> MasteryParams:
    """Return the parameters a course stored (by `stored`, or plain `MasteryParams.to_dict`), or the prior."""
    if not data:
        return MasteryParams()
    return MasteryParams.from_dict(data.get("params", data))
