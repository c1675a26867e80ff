"""Benchmark the mastery model on ASSISTments 2009-10 (Gervet et al. 2020 split) against a running average.

Usage: python bench/mastery_auc.py [--train FILE --test FILE] [--holdout]

Fits on train.tsv, then walks test.tsv in each student's order: predict P(correct) from that student's
earlier test answers only, score, then update. `--holdout` instead scores on the last 20% of train
students (fitting on the rest), which is what parameters should be tuned on, leaving test.tsv untouched.
Prints ROC AUC, RMSE and seconds per 100k online updates for both models, and the machine.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    # Run as a plain script from anywhere without installing the package.
    sys.path.insert(0, str(REPO))

from lti_tool.learning.mastery import (  # noqa: E402 - needs the path above
    ALL_SKILLS,
    MasteryModel,
    Response,
    SkillState,
    fit,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "assistments09"

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


def rmse(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Return the root mean squared error of probabilities against 0/1 outcomes."""
    return math.sqrt(sum((y - p) ** 2 for y, p in zip(labels, scores, strict=True)) / len(labels))


@dataclass
class Result:
    """Scores of one model on one run."""

    name: str
    auc: float
    rmse: float
    seconds_per_100k: float
    responses: int


def run_mastery(model: MasteryModel, histories: Histories) -> tuple[list[int], list[float], float]:
    """Predict then update through each student's responses; return labels, predictions and seconds."""
    labels: list[int] = []
    predictions: list[float] = []
    started = time.perf_counter()
    for history in histories.values():
        states: dict[str, SkillState] = {ALL_SKILLS: SkillState(ALL_SKILLS)}
        for response in history:
            predictions.append(model.predict(states, response.item_id, response.skill_ids, response.at))
            labels.append(1 if response.correct else 0)
            states.update(model.record(states, response))
    return labels, predictions, time.perf_counter() - started


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

    def run(self, histories: Histories) -> tuple[list[int], list[float], float]:
        """Predict then update through each student's responses; return labels, predictions and seconds."""
        labels: list[int] = []
        predictions: list[float] = []
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
                for skill in response.skill_ids:
                    right, seen = counts.get(skill, (0.0, 0.0))
                    counts[skill] = [right + response.correct, seen + 1]
        return labels, predictions, time.perf_counter() - started


def score(name: str, run: Callable[[], tuple[list[int], list[float], float]]) -> Result:
    """Run one online pass and score it."""
    labels, predictions, seconds = run()
    return Result(
        name=name,
        auc=roc_auc(labels, predictions),
        rmse=rmse(labels, predictions),
        seconds_per_100k=seconds * 100_000 / max(len(labels), 1),
        responses=len(labels),
    )


def split_holdout(histories: Histories, fraction: float = 0.2) -> tuple[Histories, Histories]:
    """Split students (not rows) into fitting and held-out sets; the held-out ones come last in the file."""
    students = list(histories)
    cut = int(len(students) * (1 - fraction))
    return {s: histories[s] for s in students[:cut]}, {s: histories[s] for s in students[cut:]}


def benchmark(train: Histories, test: Histories, fit_options: Mapping[str, object] | None = None) -> dict:
    """Fit on train, run both models online over test, and return the figures."""
    started = time.perf_counter()
    params = fit(train, **(fit_options or {}))  # type: ignore[arg-type]
    fit_seconds = time.perf_counter() - started
    model = MasteryModel(params)
    baseline = RunningAverage(train)
    return {
        "fit_seconds": fit_seconds,
        "parameters": len(params.weights),
        "train_responses": sum(len(h) for h in train.values()),
        "results": [
            score("mastery model", lambda: run_mastery(model, test)),
            score("running average", lambda: baseline.run(test)),
        ],
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
        f"Fit: {figures['train_responses']:,} training responses, {figures['parameters']:,} weights, "
        f"{figures['fit_seconds']:.1f} s",
        f"{'model':<18}{'responses':>10}{'ROC AUC':>10}{'RMSE':>9}{'s/100k updates':>16}",
    ]
    for r in figures["results"]:
        lines.append(f"{r.name:<18}{r.responses:>10,}{r.auc:>10.4f}{r.rmse:>9.4f}{r.seconds_per_100k:>16.2f}")
    lines.append(f"Machine: {machine()}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DATA / "train.tsv")
    parser.add_argument("--test", type=Path, default=DATA / "test.tsv")
    parser.add_argument("--holdout", action="store_true", help="score on held-out train students, not test")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--l2", type=float, default=None)
    parser.add_argument("--l2-items", type=float, default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--decay", type=float, default=None)
    args = parser.parse_args(argv)
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
