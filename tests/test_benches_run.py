"""Every bench that drives the product's services runs from a clean checkout, at its smallest size.

The benches call the services the pages call, so a change of a service's signature breaks them without any page
test noticing (`record_answer` lost its `hints_used` argument, and bench/simulate.py, scaling.py and
student_pages.py then stopped at their first answer). The figures are not checked here: bench/README.md says how to
read them; this only keeps every bench's command working.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

#: The bench and its smallest arguments (each runs in a few seconds).
SMALLEST = {
    "simulate.py": ["--learners", "1", "--placement-only"],
    "scaling.py": ["--students", "30", "--skills", "16", "--repeat", "1"],
    "student_pages.py": ["--skills", "16", "--repeat", "1"],
    "teacher_pages.py": ["--students", "5", "--repeat", "1", "--history", "0"],
    "answer_profile.py": ["--answers", "5", "--skills", "16"],
    "plan_split.py": ["--skills", "16", "--repeat", "1"],
    "publish.py": ["--students", "5", "--changes", "2", "--republishes", "1"],
    "grades.py": ["--rows", "50", "--students", "5", "--backlog", "100", "--passes", "1"],
    "roster.py": ["--members", "100"],
    "launch_profile.py": ["--launches", "3", "--warmup", "1"],
    "request_callgrind.py": ["--trips", "--rounds", "1", "--warmup", "1"],
}


@pytest.mark.parametrize("script", sorted(SMALLEST))
def test_the_bench_runs_at_its_smallest_size(script, tmp_path):
    finished = subprocess.run([sys.executable, str(BENCH / script), *SMALLEST[script]], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, f"{script} failed:\n{finished.stdout[-2000:]}\n{finished.stderr[-3000:]}"
    assert finished.stdout.strip(), f"{script} printed nothing"
