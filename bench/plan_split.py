"""Where a plan page's CPU goes, part by part, without a profiler's distortion.

Usage: python bench/plan_split.py [--skills 16,100,400] [--repeat 300] [--database-url URL] [--fitted]

cProfile makes Jinja's generators and small calls look far costlier than they are (a plan page takes about five
times as long under it). This script builds the courses bench/scaling.py builds (a student with one answer on
every skill, launched from a graded link), then requests the plan page `--repeat` times over HTTP and reports,
per request, the median CPU of the handling thread and the mean CPU spent inside each named part: the launch
load, the plan service and its steps, the template, Flask's request and response work, the SQL (ORM and driver,
each statement's driver time by its start), and the garbage collector. Parts nest (the plan includes its
queries), so the figures do not add up; each is inclusive. A wrapped call costs a microsecond or so more.

To compare two trees, run it from each with PYTHONPATH naming that tree, back to back.
"""

from __future__ import annotations

import argparse
import collections
import functools
import gc
import importlib
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import sqlalchemy as sa  # noqa: E402
from scaling import Bench, answer_everyone, fit_as_used, parse_sizes  # noqa: E402

from lti_tool.extensions import db  # noqa: E402

# (module, attribute): the parts timed. A function a module imports inside another is wrapped where it lives.
PARTS = (
    ("lti_tool.web.course", "open_launch"), ("lti_tool.web.course", "plan_for"),
    ("lti_tool.web.course", "render_template"), ("lti_tool.web.course", "placement_check_status"),
    ("lti_tool.services.plan", "standing"), ("lti_tool.services.mastery", "_rows"),
    ("lti_tool.services.mastery", "Standing.views"), ("lti_tool.services.plan", "plan_next_steps"),
    ("lti_tool.services.plan", "unit_progress"), ("lti_tool.services.unit_check", "unit_offers"),
    ("lti_tool.services.goals", "student_plan_goals"), ("lti_tool.services.reviews", "due_reviews"),
    ("lti_tool.services.assignments", "assigned_skills"), ("lti_tool.services.skill_map", "student_skill_map"),
    ("flask.app", "Flask.preprocess_request"), ("flask.app", "Flask.finalize_request"),
    ("flask.ctx", "RequestContext.push"), ("flask.ctx", "RequestContext.pop"),
    ("sqlalchemy.orm.session", "Session.execute"), ("sqlalchemy.orm.session", "Session.scalars"),
)


class Split:
    """Inclusive thread CPU per named part, and how often each ran."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = collections.defaultdict(float)
        self.calls: dict[str, int] = collections.defaultdict(int)
        self._gc_started = 0.0

    def clear(self) -> None:
        self.cpu.clear()
        self.calls.clear()

    def add(self, part: str, seconds: float) -> None:
        self.cpu[part] += seconds
        self.calls[part] += 1

    def wrap(self, module_name: str, attribute: str) -> None:
        """Replace module.attribute (or module.Class.method) with a timed wrapper."""
        owner: object = importlib.import_module(module_name)
        name = attribute
        if "." in attribute:
            class_name, name = attribute.split(".")
            owner = getattr(owner, class_name)
        original: Callable = getattr(owner, name)
        part = f"{module_name.rsplit('.', 1)[-1]}.{attribute}"

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(part, time.thread_time() - started)

        setattr(owner, name, timed)

    def gc_callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            self.add(f"garbage collector, generation {info['generation']}", time.thread_time() - self._gc_started)

    def statements(self, engine: sa.Engine) -> None:
        """Time each statement's driver call (cursor.execute), by the statement's start."""
        @sa.event.listens_for(engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_started"] = time.thread_time()

        @sa.event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            self.add("driver: " + " ".join(statement.split())[:60], time.thread_time() - conn.info.pop("bench_started"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=parse_sizes, default=[16, 100, 400])
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="a throwaway PostgreSQL database (emptied)")
    parser.add_argument("--fitted", action="store_true", help="fit each course's model first, as in a course in use")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    split = Split()
    for module_name, attribute in PARTS:
        split.wrap(module_name, attribute)
    gc.callbacks.append(split.gc_callback)
    bench = Bench(args.database_url)
    split.statements(db.engine)
    from common import machine  # bench/common.py

    print(f"Plan page split (bench/plan_split.py)\nmachine: {machine()}\ndatabase: {db.engine.dialect.name}")
    try:
        for size in args.skills:
            course_id, pack, home, person_id = bench.skills_course("split-skills", size)
            answer_everyone(course_id, [person_id], len(pack.skills))
            if args.fitted:
                from lti_tool.models import Person

                fit_as_used(course_id, db.session.scalar(sa.select(Person.platform_id).where(Person.id == person_id)))

            def plan(home=home):
                return home.http.get(home.url, timeout=600)

            for _ in range(10):  # warm-up: the pack parsed, the statements compiled
                bench.time(plan)
            split.clear()
            cpu = []
            for _ in range(args.repeat):
                bench.time(plan)
                cpu.append(bench.timed.last_cpu * 1000)
            print(f"\n{size} skills: plan page CPU ms median {statistics.median(cpu):.2f}, least {min(cpu):.2f} "
                  f"({args.repeat} requests); per request, inclusive:")
            for part, seconds in sorted(split.cpu.items(), key=lambda item: -item[1]):
                print(f"  {part:70s} {seconds / args.repeat * 1000:7.3f} ms  ×{split.calls[part] / args.repeat:.1f}")
    finally:
        bench.close()
    print(f"\nmachine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
