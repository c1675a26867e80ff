"""Time and profile the teacher's two pages, the course page (`/`) and the class view (`/class`), in process.

Usage: python bench/teacher_pages.py [--students 30,200] [--repeat 15] [--answers-per-student 8]
                                     [--history 0,1000] [--leavers-percent 10] [--profile DIR]
                                     [--database-url URL]

bench/load.py measures these pages among 200 users under gunicorn; this script says where their time goes.
It builds classes through the product itself, as bench/scaling.py does (its `Bench`: a real app with the
sandbox LMS on a loopback port, launches over HTTP, `sync_roster`, `import_pack`, `serve_next` +
`record_answer`), with what a class's teacher pages show in a real course:

- the course's link is a graded placement (no gradebook column: the page shows its gradebook gap), so the
  students' level changes queue grades; a third of the students' newest grade rows are then marked synced
  and a few failed, the rest stay pending (no worker runs);
- each student answers --answers-per-student questions (a third of them wrong), so they have levels, level
  changes and some need help;
- with --history N (one class per N, per class size), each student also has N older answers on the skills they
  answered, spread over the 120 days before them (written in bulk, no level changes: months of practice before
  the levels they have now; every third student answers a tenth of them after instead, so some are stuck), so
  the pages can be timed as a class's history grows (issue 14); the needs-help list (`/class/needs-help`) is
  timed with the two pages that show its count;
- --leavers-percent of the class left: they were synced in, answered, then dropped from the LMS roster and a
  second sync made them inactive (the course page lists them; their grade rows stay).

For each class size it reports, per page, the median (and the least and most) over --repeat requests (after
one warm-up) of the CPU
time of the thread that handled the request (view, queries' client side, template, body), the wall time,
the CPU time the garbage collector ran during the request (gc.callbacks) and the SQL statements. With --profile
DIR, cProfile (CPU clock of the handling thread) writes DIR/<page>-<students>.pstats over the repeats.

--database-url takes a throwaway PostgreSQL database (its public schema is dropped and recreated); the
default is a SQLite file in a temporary folder. It times the tree it sits in (bench/scaling.py puts that tree
first on the path): to compare two trees, copy this script into the other tree's bench/ and run both back to
back. --save-pages DIR keeps each page's HTML (DIR/<page>-<students>.html) to compare what two trees show.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import logging
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import requests  # noqa: E402
import scaling  # noqa: E402 - bench/scaling.py, beside this script (puts its tree on the path)
import sqlalchemy as sa  # noqa: E402
from common import machine  # noqa: E402
from scaling import Bench, TimedWSGI, answer_everyone, now, parse_sizes  # noqa: E402

from lti_tool.extensions import db  # noqa: E402
from lti_tool.models import Enrollment, ItemResponse, Person, ScoreOutbox  # noqa: E402
from lti_tool.services.content import demo_pack_data, import_pack  # noqa: E402
from lti_tool.services.roster import sync_roster  # noqa: E402

PAGES = {"teacher home": "/", "class view": "/class", "needs help": "/class/needs-help"}


class GCTimer:
    """Sum the CPU seconds the garbage collector runs (every generation, in the thread that set it off)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started
            self.full += info["generation"] == 2


class ProfiledWSGI(TimedWSGI):
    """TimedWSGI that can also run cProfile (thread CPU clock) around each request."""

    def __init__(self, wsgi_app) -> None:
        super().__init__(wsgi_app)
        self.profile: cProfile.Profile | None = None

    def __call__(self, environ, start_response):
        profile = self.profile
        if profile is None:
            return super().__call__(environ, start_response)
        profile.enable()
        try:
            return super().__call__(environ, start_response)
        finally:
            profile.disable()


@contextmanager
def shown_statements(engine: sa.Engine, show: bool, title: str) -> Iterator[None]:
    """Print the statements the engine runs inside the block (when `show`), shortened to a line each."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    if show:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        if show:
            sa.event.remove(engine, "before_cursor_execute", record)
            print(f"  statements of {title}:", *(f"    {s[:200]}" for s in seen), sep="\n", flush=True)


def full_collection_ms() -> float:
    """Return the median CPU ms of three full collections of this process, as it stands."""
    runs = []
    for _ in range(3):
        started = time.thread_time()
        gc.collect()
        runs.append((time.thread_time() - started) * 1000)
    return statistics.median(runs)


def add_history(course_id: int, per_student: int) -> int:
    """Give every student of the course `per_student` older answers on the skills they answered; return how many.

    Every third student (those whose answers were wrong) answers a tenth of them after their levels rose
    instead (microseconds after their last answer), so some are stuck: the needs-help list has tries to count.
    """
    answered = defaultdict(list)
    first, last = {}, {}
    for person_id, skill_ids, at in db.session.execute(
        sa.select(ItemResponse.person_id, ItemResponse.skill_ids, ItemResponse.answered_at)
        .where(ItemResponse.course_id == course_id).order_by(ItemResponse.id)
    ):
        answered[person_id].append(skill_ids)
        first.setdefault(person_id, at)
        last[person_id] = at
    rows = []
    for index, (person_id, lists) in enumerate(sorted(answered.items())):
        start = first[person_id] - timedelta(days=120)
        step = timedelta(days=120) / per_student
        later = per_student // 10 if index % 3 == 0 else 0
        times = [start + n * step for n in range(per_student - later)]
        times += [last[person_id] + timedelta(microseconds=n + 1) for n in range(later)]
        rows += [{"course_id": course_id, "person_id": person_id, "item_id": "history",
                  "skill_ids": lists[n % len(lists)], "answer": "x", "correct": n % 3 != 0, "hints_used": 0,
                  "source": "practice", "answered_at": at, "credited": True}
                 for n, at in enumerate(times)]
    for at in range(0, len(rows), 5000):
        db.session.execute(sa.insert(ItemResponse), rows[at:at + 5000])
    db.session.commit()
    return len(rows)


def build_class(bench: Bench, size: int, answers: int, leavers_percent: int, history: int = 0) -> requests.Response:
    """Make a course of `size` active students (and its leavers) with answers and grade rows; return the
    teacher's landing page (its .http is the teacher's browser)."""
    context = f"teacher-pages-{size}-{history}"
    bench.course(context, f"Teacher pages, {size} students")
    teacher = bench.launch(f"teacher-{context}", context)  # the link's first launch makes the placement
    course_id = bench.course_id(context)
    import_pack(course_id, demo_pack_data(), now=now())
    db.session.remove()
    leavers = size * leavers_percent // 100
    subs = [f"{context}-s{n:05d}" for n in range(size + leavers)]
    for n, sub in enumerate(subs):
        bench.sandbox.add_user(sub, roles=["Learner"], name=f"Student {n:05d}", given_name="Student",
                               family_name=f"{n:05d}", context_id=context)

    def sync() -> None:
        with requests.Session() as http:
            sync_roster(course_id, secret_key="bench-only", http=http, timeout=60, store_email=False, now=now())
        db.session.remove()

    sync()
    ids = dict(db.session.execute(sa.select(Person.sub, Person.id).where(Person.sub.in_(subs))).all())
    answer_everyone(course_id, [ids[sub] for sub in subs], answers)
    older = add_history(course_id, history) if history else 0
    members = bench.sandbox.courses[context].members
    for sub in subs[size:]:
        members.remove(sub)
    sync()
    # Grade rows as a course has them between worker runs: most pending, some synced, a few failed.
    newest = list(db.session.scalars(sa.select(ScoreOutbox.id).where(ScoreOutbox.course_id == course_id,
                                                                      ScoreOutbox.status == "pending")
                                     .order_by(ScoreOutbox.id)))
    synced, failed = newest[::3], newest[1::17]
    db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.id.in_(synced))
                       .values(status="synced", synced_at=now(), attempts=1))
    db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.id.in_(failed))
                       .values(status="failed", attempts=5, last_error="HTTP 503 from the LMS"))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh planner statistics, as autovacuum gathers after a bulk load: without them PostgreSQL takes a
        # class's thousands of answers for a handful and plans their grouping (sort, not hash) accordingly.
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    active = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).where(
        Enrollment.course_id == course_id, Enrollment.role == "student", Enrollment.active.is_(True)))
    grades = db.session.scalar(sa.select(sa.func.count()).select_from(ScoreOutbox).where(
        ScoreOutbox.course_id == course_id))
    db.session.remove()
    print(f"  class of {size}: {active} active students, {leavers} leavers, {grades} grade rows, {older} older "
          f"answers", flush=True)
    return teacher


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=parse_sizes, default=[30, 200])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--answers-per-student", type=int, default=8)
    parser.add_argument("--history", type=lambda text: [int(x) for x in text.split(",")], default=[0],
                        help="older answers per student, one class per value (e.g. 0,300,1000)")
    parser.add_argument("--leavers-percent", type=int, default=10)
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile file per page and size here")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--show-statements", action="store_true", help="print each page's SQL statements once")
    parser.add_argument("--save-pages", type=Path, default=None, help="write each page's HTML here")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="once the app is made, freeze it out of the garbage collector as the packaged gunicorn "
                             "settings do in each worker (lti_tool/gunicorn_conf.py, post_worker_init)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Teacher pages (bench/teacher_pages.py), lti_tool from {Path(scaling.REPO)}\nmachine: {machine()}",
          flush=True)
    bench = Bench(args.database_url)
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    timed = bench.app.wsgi_app = bench.timed = ProfiledWSGI(bench.timed.wsgi_app)
    gc_timer = GCTimer()
    lines = [f"{'students':>8}  {'history':>7}  {'page':<12}  {'CPU ms':>7}  {'min CPU':>7}  {'max CPU':>7}  "
             f"{'wall ms':>7}  {'gc ms':>6}  {'full gc':>7}  {'statements':>10}"]
    try:
        print(f"database: {db.engine.dialect.name}; gc.freeze() after the app was made: "
              f"{'yes' if args.gc_freeze else 'no'}", flush=True)
        for size, history in ((size, history) for size in args.students for history in args.history):
            teacher = build_class(bench, size, args.answers_per_student, args.leavers_percent, history)
            base = teacher.url.rstrip("/")
            for page, path in PAGES.items():
                url = base + path if path != "/" else teacher.url

                def send(url=url, http=teacher.http):
                    return http.get(url, timeout=120)

                with shown_statements(db.engine, args.show_statements, f"{page}, {size} students"):
                    bench.time(send)  # warm-up
                profile = cProfile.Profile(time.thread_time) if args.profile else None
                runs, gc_ms, full = [], [], 0
                for _ in range(args.repeat):
                    timed.profile = profile
                    gc_before, full_before = gc_timer.seconds, gc_timer.full
                    runs.append(bench.time(send))
                    timed.profile = None
                    gc_ms.append((gc_timer.seconds - gc_before) * 1000)
                    full += gc_timer.full - full_before
                if page == "class view":
                    full_ms = full_collection_ms()
                    print(f"  a full collection now: {full_ms:.1f} ms CPU, {len(gc.get_objects())} objects "
                          f"tracked, {gc.get_freeze_count()} frozen", flush=True)
                if args.save_pages:
                    args.save_pages.mkdir(parents=True, exist_ok=True)
                    (args.save_pages / f"{page.replace(' ', '-')}-{size}-{history}.html").write_text(runs[-1][0].text)
                lines.append(f"{size:>8}  {history:>7}  {page:<12}  {statistics.median(r[1] for r in runs):7.1f}  "
                             f"{min(r[1] for r in runs):7.1f}  {max(r[1] for r in runs):7.1f}  "
                             f"{statistics.median(r[2] for r in runs):7.1f}  "
                             f"{statistics.mean(gc_ms):6.1f}  {full:>7}  {runs[-1][3]:>10}")
                print(lines[-1], flush=True)
                if profile is not None:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    profile.dump_stats(str(args.profile / f"{page.replace(' ', '-')}-{size}.pstats"))
    finally:
        bench.close()
    print(f"\nmedian (least and most CPU) of {args.repeat} requests (gc ms: mean CPU per request; full gc: "
          f"generation-2 collections over all {args.repeat}){' (profiled)' if args.profile else ''}")
    for line in lines:
        print(line)
    print(f"machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
