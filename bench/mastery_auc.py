"""Benchmark the mastery model on ASSISTments 2009-10 (Gervet et al. 2020 split) as a deployed course runs it.

Usage: python bench/mastery_auc.py [--data DIR | --train FILE --test FILE] [--holdout]

Walks test.tsv in each student's order: before each answer, score (a) the model's prediction for the item
and (b) the number the product shows for the item's skill (`probability_of_mastery` of the stored state,
the number behind levels, plans, alerts and grades), then record the answer. Both are scored for a course
that has just started (the cold-start prior, `MasteryModel()`) and after the course's history (train.tsv)
has been fitted by `learning.fitting.fit_course`, the function the product's fitting job runs.
`--holdout` scores on the last 20% of train students instead (fitting on the rest), for tuning.
Prints ROC AUC, AUC within items, RMSE, calibration error (ECE), µs per update, and the machine.

Data: train.tsv and test.tsv of Gervet et al. 2020 (repository theophilegervet/learner-performance-prediction,
data/assistments09, commit a7ae193); bench/README.md says how the folder is found.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    # Run as a plain script from anywhere without installing the package.
    sys.path.insert(0, str(REPO))

from lti_tool.learning.fitting import fit_course  # noqa: E402 - needs the path above
from lti_tool.learning.mastery import ALL_SKILLS, MasteryModel, Response, SkillState  # noqa: E402


def default_data() -> Path:
    """Return the data folder: $PATHWAYS_BENCH_DATA, or shared/data/assistments09 beside or above the clone."""
    if os.environ.get("PATHWAYS_BENCH_DATA"):
        return Path(os.environ["PATHWAYS_BENCH_DATA"])
    for parent in REPO.parents:
        candidate = parent / "shared" / "data" / "assistments09"
        if candidate.is_dir():
            return candidate
    return REPO / "data" / "assistments09"


DATA = default_data()

Histories = dict[str, list[Response]]


def read_tsv(path: Path) -> Histories:
    """Read a `user_id item_id timestamp correct skill_id` file into each student's responses, in order."""
    histories: Histories = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        for row in reader:
            skills = tuple(s for s in row["skill_id"].replace(",", "_").split("_") if s)
            histories.setdefault(row["user_id"], []).append(
                Response(
                    item_id=row["item_id"],
                    skill_ids=skills,
                    correct=row["correct"].strip() == "1",
                    at=float(row["timestamp"] or 0),
                )
            )
    return histories


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Return the ROC AUC by the Mann-Whitney rank sum, giving tied scores their average rank."""
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    i = 0
    n = len(order)
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            if labels[order[k]]:
                rank_sum += average_rank
        i = j + 1
    positives = sum(1 for y in labels if y)
    negatives = n - positives
    if positives == 0 or negatives == 0:
        raise ValueError("ROC AUC needs both right and wrong answers.")
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def auc_within_items(labels: Sequence[int], scores: Sequence[float], items: Sequence[str]) -> float:
    """Return the ROC AUC among answers to the same item, averaged over items weighted by their answers.

    It asks whether a number ranks learners answering the same question well, which a per-skill number can
    do as well as a per-item prediction; the plain AUC also rewards knowing which items are hard.
    """
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(item, []).append(index)
    total = weight = 0.0
    for rows in groups.values():
        ys = [labels[i] for i in rows]
        if 0 < sum(ys) < len(ys):
            total += len(rows) * roc_auc(ys, [scores[i] for i in rows])
            weight += len(rows)
    return total / weight if weight else float("nan")


def ece(labels: Sequence[int], scores: Sequence[float], bins: int = 10) -> float:
    """Return the expected calibration error: |mean prediction - share right| over 10 equal-width bins."""
    sums = [[0.0, 0.0, 0] for _ in range(bins)]
    for y, p in zip(labels, scores, strict=True):
        b = sums[min(int(p * bins), bins - 1)]
        b[0] += p
        b[1] += y
        b[2] += 1
    return sum(abs(p - y) for p, y, _ in sums) / max(len(labels), 1)


def rmse(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Return the root mean squared error of probabilities against 0/1 outcomes."""
    return math.sqrt(sum((y - p) ** 2 for y, p in zip(labels, scores, strict=True)) / len(labels))


@dataclass
class Result:
    """Scores of one number on one run."""

    name: str
    auc: float
    auc_items: float
    rmse: float
    ece: float
    us_per_update: float
    responses: int


@dataclass
class Run:
    """What one online pass produced: outcomes, the scores to rank them by, items, and the time it took."""

    labels: list[int]
    predictions: list[float]
    shown: list[float]
    items: list[str]
    seconds: float
    # The shown number's formula re-read before each answer with the learner-wide state as it is then, rather
    # than as of the skill's last answer: measured to show what that alternative would give; not what ships.
    live: list[float] | None = None
    # Answers after which the shown number of one of the item's skills moved against the answer (down after a
    # right one, up after a wrong one): what a student would see as "I got it right and my mastery fell".
    against: int = 0


def run_mastery(model: MasteryModel, histories: Histories, *, with_live: bool = False) -> Run:
    """Walk each student's answers as the product does: score, then record; return both numbers per answer.

    `with_live` also scores the shown number re-read with the current learner-wide state (see `Run.live`);
    its time is then in the µs per update, so the product's rows are timed without it.
    """
    labels: list[int] = []
    predictions: list[float] = []
    shown: list[float] = []
    live: list[float] = []
    items: list[str] = []
    against = 0
    started = time.perf_counter()
    for history in histories.values():
        states: dict[str, SkillState] = {ALL_SKILLS: SkillState(ALL_SKILLS)}
        for response in history:
            predictions.append(model.predict(states, response.item_id, response.skill_ids, response.at))
            # The number shown for the item's skill(s) before this answer (Not started: the model's start).
            numbers = [model.probability_of_mastery(states.get(s) or SkillState(s)) for s in response.skill_ids]
            shown.append(sum(numbers) / len(numbers) if numbers else predictions[-1])
            if with_live:
                now = [model.predict({s: states.get(s) or SkillState(s), ALL_SKILLS: states[ALL_SKILLS]}, "", [s])
                       for s in response.skill_ids]
                live.append(sum(now) / len(now) if now else predictions[-1])
            labels.append(1 if response.correct else 0)
            items.append(response.item_id)
            changed = model.record(states, response)
            against += any(_moved_against(states[s], changed[s], response.correct)
                           for s in response.skill_ids if s in states)
            states.update(changed)
    return Run(labels, predictions, shown, items, time.perf_counter() - started, live if with_live else None,
               against)


def _moved_against(before: SkillState, after: SkillState, correct: bool) -> bool:
    # The stored estimates (log-odds; the shown number is their sigmoid, so they move alike): every state the walk
    # holds was recorded, so both have one. Compared directly, the count adds almost nothing to the timed loop.
    change = after.estimate - before.estimate
    return change < 0 if correct else change > 0


class RunningAverage:
    """Predict a student's running mean on the skill, starting from the skill's training mean."""

    def __init__(self, train: Histories, prior_weight: float = 1.0) -> None:
        """Learn each skill's mean correctness (and the overall mean for unseen skills) from training."""
        right: dict[str, int] = {}
        seen: dict[str, int] = {}
        total_right = total = 0
        for history in train.values():
            for response in history:
                for skill in response.skill_ids:
                    seen[skill] = seen.get(skill, 0) + 1
                    right[skill] = right.get(skill, 0) + response.correct
                total += 1
                total_right += response.correct
        self.overall = total_right / total if total else 0.5
        # Smooth rare skills toward the overall mean so a skill seen twice is not taken at face value.
        self.skill_mean = {s: (right[s] + 5 * self.overall) / (seen[s] + 5) for s in seen}
        self.prior_weight = prior_weight

    def run(self, histories: Histories) -> Run:
        """Predict then update through each student's responses."""
        labels: list[int] = []
        predictions: list[float] = []
        items: list[str] = []
        m = self.prior_weight
        started = time.perf_counter()
        for history in histories.values():
            counts: dict[str, list[float]] = {}
            for response in history:
                estimates = []
                for skill in response.skill_ids:
                    right, seen = counts.get(skill, (0.0, 0.0))
                    prior = self.skill_mean.get(skill, self.overall)
                    estimates.append((right + m * prior) / (seen + m))
                predictions.append(sum(estimates) / len(estimates) if estimates else self.overall)
                labels.append(1 if response.correct else 0)
                items.append(response.item_id)
                for skill in response.skill_ids:
                    right, seen = counts.get(skill, (0.0, 0.0))
                    counts[skill] = [right + response.correct, seen + 1]
        return Run(labels, predictions, predictions, items, time.perf_counter() - started)


def score(name: str, run: Run, shown: bool = False, live: bool = False) -> Result:
    """Score one number of an online pass (the prediction, the shown number, or the shown number re-read)."""
    scores = (run.live or []) if live else run.shown if shown else run.predictions
    return Result(
        name=name,
        auc=roc_auc(run.labels, scores),
        auc_items=auc_within_items(run.labels, scores, run.items),
        rmse=rmse(run.labels, scores),
        ece=ece(run.labels, scores),
        us_per_update=run.seconds * 1e6 / max(len(run.labels), 1),
        responses=len(run.labels),
    )


def split_holdout(histories: Histories, fraction: float = 0.2) -> tuple[Histories, Histories]:
    """Split students (not rows) into fitting and held-out sets; the held-out ones come last in the file."""
    students = list(histories)
    cut = int(len(students) * (1 - fraction))
    return {s: histories[s] for s in students[:cut]}, {s: histories[s] for s in students[cut:]}


def benchmark(train: Histories, test: Histories, fit_options: Mapping[str, object] | None = None) -> dict:
    """Score a new course (cold-start prior) and the course after fitting its history (train) on test."""
    started = time.perf_counter()
    course = fit_course(train, **(fit_options or {}))  # the product's fitting job, on the course's history
    fit_seconds = time.perf_counter() - started
    cold = run_mastery(MasteryModel(), test)
    fitted = run_mastery(MasteryModel(course.params), test)
    baseline = RunningAverage(train).run(test)
    alternative = run_mastery(MasteryModel(course.params), test, with_live=True)
    return {
        "fit_seconds": fit_seconds,
        "parameters": len(course.params.weights),
        "train_responses": course.responses,
        "against": {"fitted": fitted.against, "cold start": cold.against},
        "results": [
            score("fitted: prediction", fitted),
            score("fitted: shown", fitted, shown=True),
            score("cold start: prediction", cold),
            score("cold start: shown", cold, shown=True),
            score("running average", baseline),
            score("fitted: shown re-read*", alternative, live=True),
        ],
    }


def fit_cold_start_prior(train: Histories) -> dict:
    """Return the cold-start prior (lti_tool/learning/cold_start_prior.json) fitted on `train`.

    The course fit's learner-evidence weights only (no item, skill or per-skill weight: a new course has
    none of those), recalibrated with one scale and one offset (Platt scaling) so that without the item and
    skill weights the predictions are still calibrated on the training students.
    """
    course = fit_course(train, center={})
    generic = {k: v for k, v in course.params.weights.items()
               if not (k.startswith(("item:", "skill:")) or "@" in k)}
    model = MasteryModel(replace(course.params, weights=generic))
    zs: list[float] = []
    ys: list[int] = []
    for history in train.values():
        states: dict[str, SkillState] = {ALL_SKILLS: SkillState(ALL_SKILLS)}
        for response in history:
            zs.append(model.log_odds(states, "", response.skill_ids, response.at))
            ys.append(1 if response.correct else 0)
            states.update(model._record(states, response))
    a, b = 1.0, 0.0
    for _ in range(20):  # Newton's method on the two-parameter logistic regression y ~ a*z + b
        ga = gb = haa = hab = hbb = 0.0
        for z, y in zip(zs, ys, strict=True):
            p = 1.0 / (1.0 + math.exp(-(a * z + b)))
            ga += (p - y) * z
            gb += p - y
            w = p * (1 - p)
            haa += w * z * z
            hab += w * z
            hbb += w
        det = haa * hbb - hab * hab
        a -= (hbb * ga - hab * gb) / det
        b -= (haa * gb - hab * ga) / det
    weights = {k: round(a * v, 4) for k, v in sorted(generic.items())}
    weights["bias"] = round(weights.get("bias", 0.0) + b, 4)
    return {
        "source": "ASSISTments 2009 train.tsv (Gervet et al. 2020 split): learner-evidence weights of the course fit, "
                  "Platt-recalibrated; written by `python bench/mastery_auc.py --write-prior`",
        "weights": weights,
        "typical_learner_logit": round(a * course.params.typical_learner_logit, 4),
    }


def machine() -> str:
    """Describe the machine the figures came from."""
    return (
        f"{platform.platform()}; {platform.processor() or platform.machine()}; "
        f"{os.cpu_count()} CPUs; Python {platform.python_version()} ({platform.python_implementation()})"
    )


def report(figures: dict, label: str) -> str:
    """Format the figures as a small plain-text table."""
    lines = [
        f"Data: {label}",
        f"Fit (learning.fitting.fit_course): {figures['train_responses']:,} responses, "
        f"{figures['parameters']:,} weights, {figures['fit_seconds']:.1f} s",
        f"{'number':<24}{'responses':>10}{'ROC AUC':>9}{'AUC/item':>10}{'RMSE':>8}{'ECE':>8}{'us/update':>11}",
    ]
    for r in figures["results"]:
        lines.append(f"{r.name:<24}{r.responses:>10,}{r.auc:>9.4f}{r.auc_items:>10.4f}{r.rmse:>8.4f}{r.ece:>8.4f}"
                     f"{r.us_per_update:>11.1f}")
    lines.append("shown = probability_of_mastery, the number behind levels, plans, alerts and grades")
    against = figures.get("against", {})
    if against:
        lines.append("answers after which the shown number moved against the answer (down after a right one, up "
                     "after a wrong one): " + ", ".join(f"{name} {count:,}" for name, count in against.items()))
    lines.append("* not what the product shows: the shown number's formula re-read before each answer with the "
                 "learner-wide state of that moment (its us/update includes scoring every row)")
    lines.append(f"Machine: {machine()}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with train.tsv and test.tsv")
    parser.add_argument("--train", type=Path, default=None)
    parser.add_argument("--test", type=Path, default=None)
    parser.add_argument("--holdout", action="store_true", help="score on held-out train students, not test")
    parser.add_argument("--write-prior", type=Path, default=None,
                        help="fit the cold-start prior on the train file and write it to this JSON file, then stop")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--l2", type=float, default=None)
    parser.add_argument("--l2-items", type=float, default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--decay", type=float, default=None)
    args = parser.parse_args(argv)
    args.train = args.train or args.data / "train.tsv"
    args.test = args.test or args.data / "test.tsv"
    needed = (args.train,) if args.holdout else (args.train, args.test)
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        parser.error(f"no data at {', '.join(missing)}: give --data DIR (a folder with train.tsv and test.tsv, the "
                     "Gervet et al. 2020 ASSISTments 2009 split; bench/README.md says where it comes from) or set "
                     "PATHWAYS_BENCH_DATA")
    options = {
        key: value
        for key, value in {
            "epochs": args.epochs,
            "l2": args.l2,
            "l2_items": args.l2_items,
            "learning_rate": args.learning_rate,
            "decay": args.decay,
        }.items()
        if value is not None
    }
    train = read_tsv(args.train)
    if args.write_prior:
        args.write_prior.write_text(json.dumps(fit_cold_start_prior(train), indent=1) + "\n")
        print(f"Wrote the cold-start prior to {args.write_prior}")
        return 0
    if args.holdout:
        train, test = split_holdout(train)
        label = f"{args.train} (last 20% of students held out)"
    else:
        test = read_tsv(args.test)
        label = f"fit on {args.train}, scored on {args.test}"
    print(report(benchmark(train, test, options), label))
    if options:
        print(f"Fit options: {options}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
