"""The CPU of a practice answer's POST (`POST /c/<launch>/practice/<skill>`), and where it goes (cProfile).

Usage: python bench/answer_profile.py [--answers 80] [--skills 16] [--profile FILE] [--database-url URL]

Builds the same course as bench/scaling.py's skill part (the demo pack's skills copied up to --skills, a student
who has answered one question on every skill, launched from a graded link) and posts --answers answers of "1"
(mostly wrong, as scaling.py does), each to a fresh question fetched untimed. Prints the CPU milliseconds of the
thread that handled each POST (p25, median, mean, min): the answer recorded and its 303 to the feedback page
(since 2026-12-04 the feedback is that page's GET, which bench/scaling.py times apart; before, the POST drew it).
With --profile FILE, the POSTs run under cProfile with
the CPU-time clock and the statistics go to FILE (read them with `python -m pstats FILE`); profiling inflates
the figures several times, so read the profile for proportions and time without it.

It measures the tree it sits in (bench/scaling.py puts its own tree first on the path): to compare with an
older tree, copy this file into that tree's bench/ folder and run both, alternating, on the same machine.
--database-url names a PostgreSQL database that is EMPTIED: give it a scratch database.
"""

from __future__ import annotations

import argparse
import cProfile
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

import sqlalchemy as sa  # noqa: E402 - after the path above
from scaling import Bench, answer_everyone, answered, now, post_form, scaled_pack  # noqa: E402

from lti_tool.extensions import db  # noqa: E402
from lti_tool.models import Person  # noqa: E402
from lti_tool.services.content import import_pack  # noqa: E402


class ProfiledPosts:
    """Wrap the app: the handling thread's CPU for each POST while on (under cProfile with --profile)."""

    def __init__(self, wsgi_app, profile: cProfile.Profile | None) -> None:
        self.wsgi_app = wsgi_app
        self.profile = profile
        self.on = False
        self.cpu_ms: list[float] = []

    def __call__(self, environ, start_response):
        if not self.on or environ["REQUEST_METHOD"] != "POST":
            return self.wsgi_app(environ, start_response)
        started = time.thread_time()
        if self.profile is not None:
            self.profile.enable()
        try:
            result = self.wsgi_app(environ, start_response)
            body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
        finally:
            if self.profile is not None:
                self.profile.disable()
            self.cpu_ms.append((time.thread_time() - started) * 1000)
        return [body]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=80)
    parser.add_argument("--skills", type=int, default=16)
    parser.add_argument("--profile", default=None, help="write cProfile statistics (CPU clock) to this file")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    profile = cProfile.Profile(time.thread_time) if args.profile else None
    bench = Bench(args.database_url)
    posts = ProfiledPosts(bench.app.wsgi_app, profile)
    bench.app.wsgi_app = posts
    try:
        context = "answer-profile"
        bench.course(context, "Answer profile")
        student = "answer-profile-learner"
        bench.sandbox.add_user(student, roles=["Learner"], name="Learner", context_id=context)
        bench.launch(f"teacher-{context}", context)
        course_id = bench.course_id(context)
        pack = import_pack(course_id, scaled_pack(args.skills), now=now())
        db.session.remove()
        home = bench.launch(student, context)
        person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == student))
        answer_everyone(course_id, [person_id], len(pack.skills))
        skill = next(iter(pack.skill_graph.topological_order()))
        practice_url = home.url.rstrip("/") + f"/practice/{skill}"
        for n in range(args.answers + 5):  # five warm-up answers first
            page = home.http.get(practice_url, timeout=30)
            page.http = home.http
            posts.on = n >= 5
            answered(post_form(page, f"/practice/{skill}", follow=False, answer="1"))
            posts.on = False
            db.session.remove()
    finally:
        bench.close()
    cpu = sorted(posts.cpu_ms)
    print(f"answer POST CPU ms ({args.skills} skills, {len(cpu)} answers{', profiled' if profile else ''}): "
          f"p25 {cpu[len(cpu) // 4]:.2f}, median {statistics.median(cpu):.2f}, mean {statistics.mean(cpu):.2f}, "
          f"min {cpu[0]:.2f}")
    if profile is not None:
        profile.dump_stats(args.profile)
        print(f"profile written to {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
