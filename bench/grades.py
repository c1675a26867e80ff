"""Benchmark grade passback: drain 10,000 queued AGS scores into the sandbox LMS, cleanly and under failures.

Usage: python bench/grades.py [--rows 10000] [--students 500] [--concurrency 4] [--batch 100]
                              [--fail-rate 0.30] [--timeout-rate 0.05] [--database-url URL]

Starts Pathways with its sandbox LMS on a loopback port (one process, Werkzeug's threaded server, as the
tests do), enrols --students students over NRPS, adds rows/students placements, and queues one score per
student and placement. Then, twice: drain the outbox with the worker (`lti_tool.jobs.worker.drain`) and
check the LMS gradebook against what was queued.

1. clean: the sandbox answers every request.
2. failing: new scores for every student and placement; the sandbox answers --fail-rate of requests with
   500 or 429 (half each; 429 carries Retry-After: 1) and --timeout-rate with no answer in time (half hang
   and do nothing, half do the work but answer too late, so the LMS refuses the retry with 409 and the worker
   sends the same grade again with a later time).

`--backlog 2500,20000,100000` measures instead how one worker pass costs as the backlog grows: for each size,
the outbox is filled (queue_score, 500 students x as many placements as needed) until that many rows wait,
then the worker (`drain`) runs --passes passes of --batch rows against the clean sandbox and stops. Prints, per
size: the median and maximum seconds per pass, and the seconds of one `supersede_stale` call alone (the
stale-row check each pass makes first). Flat means the same at every size.

Prints, per run: rows/s, wall time, access token requests for AGS, retries, duplicates, failed rows, lost rows
(queued but neither synced nor failed) and wrong gradebook values; then the machine. Exit status 1 if any row
was lost or any gradebook value is wrong. `--database-url` takes a throwaway database (tables are created
and filled); the default is a SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lti_tool import create_app  # noqa: E402
from lti_tool.extensions import cache, db  # noqa: E402
from lti_tool.jobs.worker import drain  # noqa: E402
from lti_tool.models import Course, Person, Placement, ScoreOutbox  # noqa: E402
from lti_tool.models.base import utcnow  # noqa: E402
from lti_tool.sandbox_mount import connect_sandbox  # noqa: E402
from lti_tool.services.grades import ensure_lineitem, queue_score  # noqa: E402
from lti_tool.services.roster import sync_roster  # noqa: E402

CONTEXT = "math-7"


def machine_lines(database_url: str) -> list[str]:
    """Describe the machine: platform, CPUs, CPU model, Python, load, database."""
    from common import cpu_model  # bench/common.py, beside this script

    model = cpu_model()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return [
        f"platform:  {platform.platform()}",
        f"cpus:      {os.cpu_count()} ({model})",
        f"python:    {platform.python_version()}",
        f"load avg:  {', '.join(f'{x:.2f}' for x in load)}",
        f"database:  {database_url.split('@')[-1] if '@' in database_url else database_url.split(':')[0]}",
    ]


def start(tmp: Path, database_url: str | None, fast: dict):
    settings = {
        "SANDBOX_ENABLED": True, "TESTING": True, "SECRET_KEY": "bench-secret", "INSTANCE_PATH": str(tmp),
        "DATABASE_URL": database_url, "BASE_URL": "http://127.0.0.1:1",
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8", **fast,
    }
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    with app.app_context():
        upgrade()
        connect_sandbox(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server


def seed(app, students: int, placements: int) -> tuple[list[int], dict[int, str]]:
    """Enrol students in the sandbox course, read them over NRPS, and add placements with line items."""
    platform_ = app.extensions["sandbox_platform"]
    platform_.page_size = 1000
    for n in range(students):
        platform_.add_user(f"bench-{n:05d}", roles=["Learner"], name=f"Student {n}", context_id=CONTEXT)
    # A launch would create the course; the bench records it the way a launch does, then syncs the roster.
    from lti_tool.models import Deployment, Platform

    with app.app_context(), requests.Session() as http:
        plat = db.session.scalars(sa.select(Platform)).one()
        dep = db.session.scalars(sa.select(Deployment)).one()
        course = Course(platform_id=plat.id, deployment_id=dep.id, context_id=CONTEXT, title="Grade 7 Mathematics",
                        memberships_url=platform_.memberships_url(CONTEXT),
                        lineitems_url=platform_.lineitems_url(CONTEXT))
        db.session.add(course)
        db.session.commit()
        sync_roster(course.id, secret_key=app.config["SECRET_KEY"], http=http, timeout=30, store_email=False,
                    now=utcnow())
        ids = []
        for n in range(placements):
            placement = Placement(course_id=course.id, resource_id=f"unit-{n:03d}", title=f"Unit {n}", kind="unit",
                                  skill_ids=[], score_maximum=100.0)
            db.session.add(placement)
            db.session.commit()
            ensure_lineitem(placement.id, secret_key=app.config["SECRET_KEY"], http=http, timeout=30)
            ids.append(placement.id)
        people = {
            p.id: p.sub for p in db.session.scalars(sa.select(Person).where(Person.sub.like("bench-%")))
        }
        return ids, people


def queue_all(
    app, placement_ids: list[int], people: dict[int, str], rng: random.Random, offset: float = 0.0
) -> dict[tuple[int, str], float]:
    """Queue one new score per student and placement in one transaction; return the expected values.

    Each round uses its own offset, so every score differs from the previous round's (an equal one is not queued).
    """
    expected = {}
    with app.app_context():
        now = utcnow()
        for pid in placement_ids:
            for person_id, sub in people.items():
                value = float(rng.randint(0, 99)) + offset
                queue_score(pid, person_id, score_given=value, now=now, skill_names=["Fractions", "Ratios"])
                expected[(pid, sub)] = value
        db.session.commit()
    return expected


def check(app, expected: dict[tuple[int, str], float]) -> tuple[Counter, int]:
    """Return (outbox states, wrong gradebook values) after a drain."""
    platform_ = app.extensions["sandbox_platform"]
    book = platform_.latest_scores(CONTEXT)
    with app.app_context():
        urls = dict(db.session.execute(sa.select(Placement.id, Placement.lineitem_url)).all())
        states = Counter(dict(db.session.execute(
            sa.select(ScoreOutbox.status, sa.func.count()).group_by(ScoreOutbox.status)).all()))
        db.session.remove()
    wrong = sum(
        1 for (pid, sub), value in expected.items()
        if book.get(urls[pid], {}).get(sub, {}).get("scoreGiven") != value
    )
    return states, wrong


def ags_tokens(app) -> int:
    return len([r for r in app.extensions["sandbox_platform"].token_requests
                if r["ok"] and any("lti-ags" in s for s in r["scopes"])])


def run(app, name: str, expected, args, before: Counter) -> bool:
    platform_ = app.extensions["sandbox_platform"]
    with app.app_context():
        cache.clear()  # measure token requests from a cold cache
    tokens_before, posts_before = ags_tokens(app), sum(len(s) for s in platform_.scores.values())
    started = time.perf_counter()
    stats = drain(app, once=True, batch=args.batch, concurrency=args.concurrency, max_attempts=25)
    elapsed = time.perf_counter() - started
    states, wrong = check(app, expected)
    new = states - before
    synced, failed = new.get("synced", 0), new.get("failed", 0)
    lost = len(expected) - synced - failed
    accepted = sum(len(s) for s in platform_.scores.values()) - posts_before
    print(f"\n[{name}] {len(expected)} rows in {elapsed:.1f} s = {len(expected) / elapsed:.0f} rows/s "
          f"(batch {args.batch}, {args.concurrency} posting threads)")
    print(f"  AGS access token requests: {ags_tokens(app) - tokens_before}")
    print(f"  synced {synced}, failed {failed}, lost {lost}; wrong gradebook values: {wrong}")
    print(f"  retries scheduled: {stats.retries_scheduled}; unsuccessful attempts by answer: "
          f"{dict(sorted(stats.errors.items()))}")
    print(f"  duplicates (LMS already had a newer score of ours, 409): {stats.duplicates}; "
          f"scores the LMS accepted: {accepted}")
    return lost == 0 and wrong == 0 and failed == 0


def top_up(app, people: dict[int, str], placement_ids: list[int], size: int, rng: random.Random) -> int:
    """Add placements, each with one score per student, until at least `size` rows wait; return how many wait."""
    from lti_tool.models.outbox import PENDING

    with app.app_context(), requests.Session() as http:
        course_id = db.session.scalar(sa.select(Course.id))
        waiting = db.session.scalar(sa.select(sa.func.count()).where(ScoreOutbox.status == PENDING))
        while waiting < size:
            placement = Placement(course_id=course_id, resource_id=f"unit-{len(placement_ids):04d}",
                                  title=f"Unit {len(placement_ids)}", kind="unit", skill_ids=[], score_maximum=100.0)
            db.session.add(placement)
            db.session.commit()
            ensure_lineitem(placement.id, secret_key=app.config["SECRET_KEY"], http=http, timeout=30)
            placement_ids.append(placement.id)
            now = utcnow()
            for person_id in people:
                queue_score(placement.id, person_id, score_given=float(rng.randint(0, 99)), now=now,
                            skill_names=["Fractions", "Ratios"])
            db.session.commit()
            waiting += len(people)
        db.session.remove()
    return waiting


def backlog(app, args, sizes: list[int], rng: random.Random) -> bool:
    """Time worker passes at each backlog size; return False if a pass failed."""
    from lti_tool.jobs.worker import supersede_stale

    placement_ids, people = seed(app, args.students, 1)
    print(f"seeded {len(people)} students; one pass = claim and post {args.batch} rows with "
          f"{args.concurrency} posting threads; {args.passes} passes per size")
    print(f"  {'waiting':>8}  {'pass s (median)':>15}  {'pass s (max)':>12}  {'supersede_stale s':>17}  "
          f"{'filled in':>9}")
    ok = True
    for size in sizes:
        started = time.perf_counter()
        waiting = top_up(app, people, placement_ids, size, rng)
        filled = time.perf_counter() - started
        with app.app_context():
            t0 = time.perf_counter()
            supersede_stale(utcnow())
            alone = time.perf_counter() - t0
            db.session.remove()
        stop = threading.Event()
        marks = [time.perf_counter()]

        def on_pass(stats, marks=marks, stop=stop) -> None:
            marks.append(time.perf_counter())
            if len(marks) > args.passes:
                stop.set()

        stats = drain(app, once=True, batch=args.batch, concurrency=args.concurrency, stop=stop, on_pass=on_pass)
        passes = [b - a for a, b in zip(marks, marks[1:], strict=False)]
        ok = ok and not stats.errors and len(passes) == args.passes
        print(f"  {waiting:>8}  {statistics.median(passes):15.3f}  {max(passes):12.3f}  {alone:17.3f}  "
              f"{filled:8.0f}s" + (f"  errors {stats.errors}" if stats.errors else ""), flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--fail-rate", type=float, default=0.30)
    parser.add_argument("--timeout-rate", type=float, default=0.05)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backlog", default=None, help="time worker passes at these backlog sizes, e.g. 2500,20000")
    parser.add_argument("--passes", type=int, default=5, help="worker passes timed per backlog size (default 5)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request would dominate the timing
    rng = random.Random(args.seed)
    placements = max(1, args.rows // args.students)
    # Quick retries, and a worker timeout shorter than the sandbox's injected hang.
    fast = {"GRADE_RETRY_BASE_SECONDS": 0.05, "GRADE_RETRY_MAX_SECONDS": 2, "SERVICE_TIMEOUT_SECONDS": 0.3,
            "WORKER_POLL_SECONDS": 0.05}
    with tempfile.TemporaryDirectory(prefix="pathways-bench-grades-") as tmp:
        app, server = start(Path(tmp), args.database_url, fast)
        platform_ = app.extensions["sandbox_platform"]
        platform_.timeout_seconds = 0.6
        try:
            if args.backlog:
                ok = backlog(app, args, [int(x) for x in args.backlog.split(",")], rng)
                return finish(args, ok)
            t0 = time.perf_counter()
            placement_ids, people = seed(app, args.students, placements)
            took = time.perf_counter() - t0
            print(f"seeded {len(people)} students x {len(placement_ids)} placements in {took:.1f} s")
            t0 = time.perf_counter()
            expected = queue_all(app, placement_ids, people, rng)
            print(f"queued {len(expected)} scores in one transaction in {time.perf_counter() - t0:.2f} s")
            ok = run(app, "clean", expected, args, Counter())
            before, _ = check(app, expected)
            expected = queue_all(app, placement_ids, people, rng, offset=0.5)
            hangs = args.timeout_rate / 2
            choices = [500, 429, "timeout", "slow", None]
            weights = [args.fail_rate / 2, args.fail_rate / 2, hangs, hangs, 1 - args.fail_rate - args.timeout_rate]
            platform_.fail_next = rng.choices(choices, weights, k=len(expected) * 4)
            ok = run(app, f"failing: {args.fail_rate:.0%} 500/429, {args.timeout_rate:.0%} timeouts", expected,
                     args, before) and ok
            platform_.fail_next = []
        finally:
            server.shutdown()
            with app.app_context():
                db.engine.dispose()
    return finish(args, ok)


def finish(args, ok: bool) -> int:
    """Print the machine; return the exit status."""
    print()
    for line in machine_lines(args.database_url or "sqlite"):
        print(line)
    print(f"date:      {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
