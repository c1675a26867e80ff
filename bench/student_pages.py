"""Time the student's goals page (its pace) and the feedback page's "Next up" as the course's skills grow.

Usage: python bench/student_pages.py [--skills 16,100,400] [--repeat 15] [--database-url URL]

Issue 14: the goals page's pace (services/pacing.pace_for) explained every skill's level to read the levels, and
the feedback page after an answer that reaches Mastered built the whole plan to show one "Next up" link. For each
course size (bench/scaling.py's copies of the demo pack), a student launches from a graded link and answers one
question on every skill, then three more on each skill of the map's first half, all right, through the product's
own services (serving.serve_next, mastery.record_answer), so the plan has steps to choose among; the course gets
an end date (the goals page then plans the pace). Then, median (least, most) over --repeat
after one warm-up:

- goals page: `GET /c/<launch>/goals` over HTTP, the CPU ms of the handling thread (body included), wall ms and
  SQL statements (bench/scaling.Bench);
- next up: what the feedback route runs to find its "Next up" (this tree's `services.next_up.next_up` when it
  has one, otherwise the route's former `plan_for(...).next_steps`, first other step), called in process for
  the first skill of the map: thread CPU ms, wall ms and statements. The rest of the feedback page is the same
  in both trees, and reaching Mastered on every timed POST would need a fresh student each time.

It times the tree it sits in (bench/scaling.py puts that tree first on the path): to compare two trees, copy
this script into the other tree's bench/ and run both back to back.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import scaling  # noqa: E402 - bench/scaling.py, beside this script (puts its tree on the path)
from common import machine  # noqa: E402
from scaling import LAUNCH_TIMEOUT, Bench, now, parse_sizes, right_answer  # noqa: E402

from lti_tool.extensions import db  # noqa: E402
from lti_tool.services.goals import set_course_end  # noqa: E402
from lti_tool.services.mastery import record_answer  # noqa: E402
from lti_tool.services.serving import serve_next  # noqa: E402

try:
    from lti_tool.services.next_up import next_up  # noqa: E402
    WHICH = "services.next_up.next_up"
except ImportError:  # the tree before issue 14's fix: the route built the plan
    from lti_tool.services.plan import plan_for  # noqa: E402

    def next_up(course_id, person_id, besides, *, now, language="en"):
        steps = plan_for(course_id, person_id, now=now, language=language).next_steps
        return next((step for step in steps if step.skill_id != besides), None)

    WHICH = "plan_for(...).next_steps"


def practise(course_id: int, person_id: int, pack) -> None:
    """One answer on every skill, then three more on each of the first half's, all right."""
    order = list(pack.skill_graph.topological_order())
    for skill in order + order[:len(order) // 2] * 3:
        served = serve_next(course_id, person_id, skill, pack, now=now())
        if served is None:
            continue
        record_answer(course_id, person_id, served.id, right_answer(served.item), now=now())
    db.session.remove()


def in_process(bench: Bench, call, repeat: int) -> tuple[list[tuple[float, float, int]], object]:
    """Run call() `repeat` times after one warm-up, each in a fresh session: (CPU ms, wall ms, statements)."""
    runs, value = [], None
    for n in range(repeat + 1):
        db.session.remove()
        before = bench.counter.count
        started_cpu, started = time.thread_time(), time.perf_counter()
        value = call()
        cpu, wall = (time.thread_time() - started_cpu) * 1000, (time.perf_counter() - started) * 1000
        if n:
            runs.append((cpu, wall, bench.counter.count - before))
    db.session.remove()
    return runs, value


def line(size: int, label: str, runs: list[tuple[float, float, int]]) -> str:
    cpu = [r[0] for r in runs]
    return (f"{size:>6}  {label:<12}  {statistics.median(cpu):7.2f}  {min(cpu):7.2f}  {max(cpu):7.2f}  "
            f"{statistics.median(r[1] for r in runs):7.2f}  {runs[-1][2]:>10}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=parse_sizes, default=[16, 100, 400])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--save-pages", type=Path, default=None,
                        help="write each goals page's HTML and each next step here, to compare two trees")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Student pages (bench/student_pages.py), lti_tool from {Path(scaling.REPO)}; next up: {WHICH}\n"
          f"machine: {machine()}", flush=True)
    bench = Bench(args.database_url)
    lines = [f"{'skills':>6}  {'page':<12}  {'CPU ms':>7}  {'min CPU':>7}  {'max CPU':>7}  {'wall ms':>7}  "
             f"{'statements':>10}"]
    shown = {}
    try:
        print(f"database: {db.engine.dialect.name}", flush=True)
        for size in args.skills:
            course_id, pack, home, person_id = bench.skills_course(
                "student-pages", size,
                lambda course: set_course_end(course, (now() + timedelta(days=120)).date().isoformat(), now=now()))
            practise(course_id, person_id, pack)
            goals_url = home.url.rstrip("/") + "/goals"

            def goals(url=goals_url, http=home.http):
                return http.get(url, timeout=LAUNCH_TIMEOUT)

            bench.time(goals)  # warm-up
            runs = []
            for _ in range(args.repeat):
                response, cpu, wall, statements = bench.time(goals)
                runs.append((cpu, wall, statements))
            shown[f"goals-{size}"] = response.text
            lines.append(line(size, "goals page", runs))
            print(lines[-1], flush=True)
            first = next(iter(pack.skill_graph.topological_order()))
            runs, step = in_process(bench, lambda c=course_id, p=person_id, s=first: next_up(c, p, s, now=now()),
                                    args.repeat)
            shown[f"next-up-{size}"] = f"{step.skill_id} {step.skill_name} {step.why}" if step else "none"
            lines.append(line(size, "next up", runs))
            print(lines[-1], flush=True)
    finally:
        bench.close()
    print(f"\nmedian (least and most CPU) of {args.repeat} (after one warm-up)")
    for text in lines:
        print(text)
    if args.save_pages:
        args.save_pages.mkdir(parents=True, exist_ok=True)
        for key, value in shown.items():
            (args.save_pages / f"{key}.{'txt' if key.startswith('next-up') else 'html'}").write_text(value)
    for key, value in shown.items():
        if key.startswith("next-up"):
            print(f"{key}: {value}")
        else:
            start = value.find("pace")
            print(f"{key}: page of {len(value)} characters; pace text: {value[start:start + 160]!r}")
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
