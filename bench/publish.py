"""The grade passback's cost in a graded course: one student's level change, and a class's republish.

Usage: python bench/publish.py [--placements 3] [--per-skill] [--students 300] [--changes 40] [--republishes 5]
                               [--database-url URL]

Builds the demo course (16 skills) on a fresh database, launched from a graded link (its placement), with
--placements placements in all (the plan, then the demo's units, added as rows), per-skill columns with
--per-skill, and --students students (a roster sync) each with a level on four skills (rows written directly:
the setup is not what is measured). Then, through the services the pages call:

- level change: --changes times, one student's level on a skill moves (Familiar and Proficient in turn) and
  `publishing.publish_mastery` queues the changed scores, then commits (what an answer that changes a level adds
  to the request). Prints the median CPU ms of the calling thread, wall ms and SQL statements.
- republish: --republishes times, the grading scheme flips (so every placement column changes) and
  `publishing.queue_course` recalculates the whole class, then commits (the teacher's "recalculate and resend").

It measures the tree it sits in (bench/scaling.py puts its own tree first on the path): to compare with an
older tree, copy this file into that tree's bench/ folder and run both, alternating, on the same machine.
--database-url names a PostgreSQL database that is EMPTIED: give it a scratch database.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
if str(BENCH.parent) not in sys.path:
    sys.path.append(str(BENCH.parent))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402 - after the path above
from scaling import Bench, now  # noqa: E402

from lti_tool.extensions import db  # noqa: E402
from lti_tool.learning.mastery import Level, SkillState  # noqa: E402
from lti_tool.models import CourseContent, Enrollment, Placement, SkillMastery  # noqa: E402
from lti_tool.services.content import demo_pack_data, import_pack  # noqa: E402
from lti_tool.services.publishing import publish_mastery, queue_course  # noqa: E402
from lti_tool.services.roster import sync_roster  # noqa: E402


def timed(call) -> tuple[float, float, int]:
    """Run call() and commit; return its CPU ms (this thread), wall ms and statements."""
    before = Bench.statements
    cpu, wall = time.thread_time(), time.perf_counter()
    call()
    db.session.commit()
    return (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000, Bench.statements - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--placements", type=int, default=3)
    parser.add_argument("--per-skill", action="store_true")
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--republishes", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    bench = Bench(args.database_url)
    Bench.statements = 0

    def count(*_args) -> None:
        Bench.statements += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        context = "publish"
        bench.course(context, "Publish")
        for n in range(args.students):
            bench.sandbox.add_user(f"publish-s{n:04d}", roles=["Learner"], name=f"Student {n:04d}",
                                   context_id=context)
        bench.launch(f"teacher-{context}", context)  # a graded link: its first launch makes the first placement
        course_id = bench.course_id(context)
        pack = import_pack(course_id, demo_pack_data(), now=now())
        for unit in pack.units[: args.placements - 1]:
            db.session.add(Placement(course_id=course_id, resource_id=f"bench-{unit.id}", title=unit.title,
                                     kind="unit", skill_ids=list(unit.skills), score_maximum=100.0))
        db.session.get(CourseContent, course_id).per_skill_grades = args.per_skill
        db.session.commit()
        with requests.Session() as http:
            sync_roster(course_id, secret_key="bench-only", http=http, timeout=60, store_email=False, now=now())
        people = list(db.session.scalars(sa.select(Enrollment.person_id).where(
            Enrollment.course_id == course_id, Enrollment.role == "student").order_by(Enrollment.person_id)))
        skills = list(pack.skill_graph.topological_order())
        levels = [Level.ATTEMPTED, Level.FAMILIAR, Level.PROFICIENT, Level.MASTERED]
        db.session.execute(sa.insert(SkillMastery), [
            {"course_id": course_id, "person_id": person_id, "skill_id": skills[(n + k) % len(skills)],
             "state": SkillState(skills[(n + k) % len(skills)]).to_dict(), "level": levels[k].value, "reason": "",
             "overridden": False, "updated_at": now()}
            for n, person_id in enumerate(people) for k in range(4)])
        db.session.commit()
        queue_course(course_id, now=now())  # everyone's first scores: the outbox has rows to compare with
        db.session.commit()

        learner, skill = people[0], skills[0]
        change = []
        for n in range(args.changes):
            db.session.execute(sa.update(SkillMastery).where(
                SkillMastery.course_id == course_id, SkillMastery.person_id == learner,
                SkillMastery.skill_id == skill).values(level=(Level.PROFICIENT if n % 2 else Level.FAMILIAR).value))
            change.append(timed(lambda: publish_mastery(course_id, learner, now=now())))
        schemes = ["proficiency_share", "four_point"]
        republish = []
        for n in range(args.republishes):
            db.session.get(CourseContent, course_id).grading_scheme = schemes[n % 2]
            db.session.commit()
            republish.append(timed(lambda: queue_course(course_id, now=now())))
    finally:
        bench.close()
    shape = (f"{args.placements} placements{', per-skill columns' if args.per_skill else ''}, "
             f"{len(people)} students")
    for name, runs in (("level change (publish_mastery)", change), ("republish (queue_course)", republish)):
        cpu, wall, statements = (statistics.median(column) for column in zip(*runs, strict=True))
        print(f"{name}, {shape}: median CPU {cpu:.2f} ms, wall {wall:.2f} ms, {statements:.0f} statements "
              f"({len(runs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
