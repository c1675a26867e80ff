import importlib.util
import math
import random
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mastery_auc.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("mastery_auc", BENCH)
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up by name while the module is still loading.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


# The same items, of fixed difficulty, appear in both files, as in the real split.
DIFFICULTY = {str(n): random.Random(n).gauss(0, 1.5) for n in range(40)}


def write_tsv(path: Path, students: range, rng: random.Random) -> None:
    difficulty = DIFFICULTY
    lines = ["user_id\titem_id\ttimestamp\tcorrect\tskill_id"]
    for student in students:
        ability = rng.gauss(0, 1)
        for step in range(30):
            item = str(rng.randrange(40))
            skill = str(int(item) % 4)
            p = 1 / (1 + math.exp(-(ability + 0.08 * step - difficulty[item])))
            lines.append(f"{student}\t{item}\t0\t{int(rng.random() < p)}\t{skill}")
    path.write_text("\n".join(lines) + "\n")


def test_auc_matches_hand_computed_values_including_ties(bench):
    assert bench.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert bench.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)
    assert bench.rmse([1, 0], [0.5, 0.5]) == pytest.approx(0.5)


def test_calibration_error_and_auc_within_items_match_hand_computed_values(bench):
    # Bin 0.2: predicted 0.2, 1 of 2 right (gap 0.3); bin 0.9: predicted 0.9, 2 of 2 right (gap 0.1).
    assert bench.ece([0, 1, 1, 1], [0.2, 0.2, 0.9, 0.9]) == pytest.approx((2 * 0.3 + 2 * 0.1) / 4)
    # Item a ranks perfectly (AUC 1), item b backwards (AUC 0), item c has one outcome only and is left out.
    labels = [0, 1, 0, 1, 1]
    scores = [0.1, 0.9, 0.8, 0.2, 0.5]
    assert bench.auc_within_items(labels, scores, ["a", "a", "b", "b", "c"]) == pytest.approx(0.5)


def test_benchmark_reads_files_fits_and_beats_the_running_average_on_synthetic_learners(bench, tmp_path, capsys):
    rng = random.Random(3)
    write_tsv(tmp_path / "train.tsv", range(0, 80), rng)
    write_tsv(tmp_path / "test.tsv", range(80, 110), rng)

    train = bench.read_tsv(tmp_path / "train.tsv")
    assert len(train) == 80 and all(len(history) == 30 for history in train.values())
    figures = bench.benchmark(train, bench.read_tsv(tmp_path / "test.tsv"), {"epochs": 3})
    fitted, shown, cold, cold_shown, baseline, reread = figures["results"]

    assert fitted.responses == shown.responses == cold.responses == baseline.responses == 900
    assert fitted.auc > baseline.auc > 0.5
    assert fitted.auc > cold.auc  # fitting the course's history pays
    assert fitted.rmse < baseline.rmse
    # The shown number cannot know which item comes next, but it ranks learners on the same item as the
    # model's prediction does (within 0.02: the prediction also sees the learner-wide state as it is now).
    assert abs(shown.auc_items - fitted.auc_items) < 0.02
    assert cold_shown.auc == pytest.approx(cold.auc, abs=0.02)  # a new course knows no item difficulties
    # Re-read with the learner-wide state of the moment, the same formula ranks learners on an item exactly as
    # the prediction does: the two differ only by the item's own term, the same for everyone on that item.
    assert reread.auc_items == pytest.approx(fitted.auc_items, abs=1e-9)
    assert reread.responses == 900
    # Whatever the weights fitted, no answer moves the shown number against itself.
    assert figures["against"] == {"fitted": 0, "cold start": 0}

    assert (
        bench.main(["--train", str(tmp_path / "train.tsv"), "--test", str(tmp_path / "test.tsv"), "--epochs", "2"]) == 0
    )
    printed = capsys.readouterr().out
    assert "fitted: shown" in printed and "cold start: prediction" in printed and "running average" in printed
    assert "CPUs" in printed
    assert "moved against the answer (down after a right one, up after a wrong one): fitted 0, cold start 0" in printed
