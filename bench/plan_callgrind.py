"""Count the instructions of a student's plan page (`GET /c/<launch>/`) with callgrind, request by request.

Usage: valgrind --tool=callgrind --collect-atstart=no --instr-atstart=no \\
           python bench/plan_callgrind.py [--skills 400] [--requests 20] [--warmup 10] [--never-fitted]
                                          [--locale es] [--query unit=<id>] [--within module:function ...]
                                          [--save-html FILE]

Builds the course bench/plan_split.py builds (bench/scaling.py's scaled pack of --skills skills, a student with
one answer on every skill who launched from a graded link, the model fitted on a stored history unless
--never-fitted), then requests the plan page over HTTP (the sandbox LMS's browser session, the app behind
werkzeug's server on a loopback port) and collects only while the app's WSGI callable handles a request, the
body joined (as bench/scaling.py's CPU figure): the HTTP parsing and the client are not counted. It prints the
instructions per request. Each --within (e.g. lti_tool.services.plan:plan_for) adds a pass that counts only that
function's calls, to split the page. --save-html writes the last page's body (to compare trees byte for byte).
Without valgrind the client requests do nothing: the script runs, and counts nothing. Needs a C compiler and
valgrind's headers (as bench/launch_callgrind.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import sqlalchemy as sa  # noqa: E402
from launch_callgrind import Counter, marks_library, print_dumps  # noqa: E402 - bench/ is on the path above
from scaling import Bench, answer_everyone, fit_as_used  # noqa: E402

from lti_tool.extensions import db  # noqa: E402
from lti_tool.models import Person  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=400)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--never-fitted", action="store_true", help="leave the course's model unfitted")
    parser.add_argument("--query", default="", help="the page's query string, e.g. unit=<id>")
    parser.add_argument("--locale", default="en", help="the LMS language the launches claim, e.g. es")
    parser.add_argument("--within", action="append", default=[], help="module:function: a pass counting only its calls")
    parser.add_argument("--save-html", default=None, help="write the last page's body here")
    parser.add_argument("--dumps", default="callgrind.out.{pid}.*", help="the dumps (callgrind's default names)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        marks = marks_library(folder)
        bench = Bench(None)
        begin = bench.browser.begin
        bench.browser.begin = lambda *a, **k: begin(*a, locale=args.locale, **k)
        try:
            course_id, pack, home, person_id = bench.skills_course("callgrind", args.skills)
            answer_everyone(course_id, [person_id], len(pack.skills))
            if not args.never_fitted:
                fit_as_used(course_id, db.session.scalar(sa.select(Person.platform_id).where(Person.id == person_id)))
            url = home.url + (("&" if "?" in home.url else "?") + args.query if args.query else "")
            # What is counted now: "page" (the WSGI call) or a --within function's calls. Run with
            # --instr-atstart=no: building the course goes at valgrind's uninstrumented speed (cg_start below).
            counter = Counter(marks)
            timed = bench.timed  # TimedWSGI: joins the body inside its call, so the template's work is counted
            app_call = timed.__call__
            bench.app.wsgi_app = lambda environ, start_response: counter("page", app_call, environ, start_response)
            counter.within(args.within)

            def plan():
                return home.http.get(url, timeout=600)

            marks.cg_start()  # a no-op unless valgrind runs with --instr-atstart=no
            for _ in range(args.warmup):
                bench.time(plan)
            page = None
            for label in ["page", *args.within]:
                counter.now = label
                for _ in range(args.requests):
                    page = bench.time(plan)[0]
                counter.now = None
                marks.cg_dump(label.encode())
            if args.save_html and page is not None:
                Path(args.save_html).write_bytes(page.content)
        finally:
            bench.close()
    print(f"plan page, {args.skills} skills ({'never fitted' if args.never_fitted else 'fitted'}), "
          f"locale {args.locale}, query {args.query or '-'}: instructions per request, {args.requests} requests a pass")
    print_dumps(args.dumps.format(pid=os.getpid()), args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
