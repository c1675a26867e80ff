"""The course page's "Grades sent to the LMS": a fold (`<details>`) per student, not a row per student and column.

With a gradebook column per skill a class of 30 had some 500 rows, with no way to find the few that need the
teacher. Now each student is one line saying how their grades stand; those with a failed grade come first, open,
with their Retry; the rest stay folded."""

from __future__ import annotations

import html
import re

from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions, launch_with_presentation


def _folds(page: str) -> list[str]:
    grades = page.split('id="grades-heading"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<details[^>]*data-testid="grade-student".*?</details>', grades, re.S)


def test_grades_are_folded_per_student_with_a_failed_one_first_and_open(make_tool):
    tool = make_tool(**FAST_RETRIES)
    sandbox = SandboxActions(tool)
    gradebook = open_gradebook(tool, sandbox)
    gradebook.queue("student-1", 80.0)
    gradebook.queue("student-2", 70.0)
    gradebook.drain()
    sandbox.platform.fail_next.append(403)  # the LMS refuses the next score: the teacher has to see it
    gradebook.queue("student-5", 60.0)
    gradebook.drain()
    names = {sub: sandbox.platform.users[sub].name for sub in ("student-1", "student-2", "student-5")}

    home = launch_with_presentation(sandbox, "teacher")
    folds = _folds(home.text)
    summaries = [html.unescape(re.search(r"<summary>(.*?)</summary>", f, re.S).group(1)) for f in folds]
    # One fold per student on the roster (five), each student in one only.
    assert len(folds) == 5, summaries
    for name in names.values():
        assert sum(name in s for s in summaries) == 1, (name, summaries)
    # The failed one first, open, its one line counting it, its Retry inside; the others folded.
    failed, *others = folds
    assert names["student-5"] in summaries[0] and "Failed: 1" in summaries[0], summaries
    assert re.match(r"<details[^>]*\bopen\b", failed) and "Retry" in failed
    assert not [f for f in others if re.match(r"<details[^>]*\bopen\b", f)]
    synced = next(s for s in summaries if names["student-1"] in s)
    assert "Synced: 1" in synced and "Pending: 0" in synced and "Failed: 0" in synced
    # Inside a fold, a row per gradebook column, headed by the column (the student is the fold's line).
    assert '<th scope="row">Fractions</th>' in failed
