"""Benchmark: sync a 10,000-member course roster from the sandbox LMS over NRPS.

Starts Pathways with the sandbox platform on a loopback port (the same wiring the tests use), enrols N
members in the sandbox course, launches as the teacher, then times `sync_roster` twice: the first sync
inserts everyone, the second finds nothing changed. Prints seconds, SQL statements, NRPS pages, token
requests, memory and the machine.

    python bench/roster.py [--members 10000] [--page-size 100] [--database-url URL] [--trace-memory]

Timing runs untraced. Memory is the growth of the process's peak RSS during each sync (the sandbox LMS
lives in the same process, so its pages count too). `--trace-memory` also traces Python allocations with
tracemalloc and prints their peak; tracing slows the sync several-fold, so the seconds of a traced run are
not comparable and are marked as such.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from lti_tool import create_app  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.models import Course, Enrollment  # noqa: E402
from lti_tool.sandbox_mount import connect_sandbox  # noqa: E402
from lti_tool.services.roster import sync_roster  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import StatementCounter, machine  # noqa: E402 - bench/common.py, beside this script


def max_rss_mb() -> float:
    """Return the process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--trace-memory", action="store_true", help="trace Python allocations (slows the sync)")
    args = parser.parse_args()
    # The sandbox serves NRPS pages in this process: an access-log line per page would be timed with the sync.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    instance = tempfile.mkdtemp(prefix="pathways-bench-roster-")
    app = create_app({
        "TESTING": True, "SANDBOX_ENABLED": True, "SECRET_KEY": "bench-only", "INSTANCE_PATH": instance,
        "DATABASE_URL": args.database_url, "BASE_URL": "http://127.0.0.1:1",
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                    conn.execute(sa.text("CREATE SCHEMA public"))
            upgrade()
            connect_sandbox(app)
            sandbox = app.extensions["sandbox_platform"]
            sandbox.page_size = args.page_size
            for n in range(args.members):
                sandbox.add_user(f"bench-{n:06d}", roles=["Learner"], name=f"Student {n:06d}",
                                 given_name="Student", family_name=f"{n:06d}", context_id="math-7")
            # A teacher launch records the course and its NRPS endpoint, as in real use.
            from tests.support import SandboxActions  # the same browser steps the tests take

            class _Tool:
                platform = sandbox

            assert SandboxActions(_Tool()).launch("teacher").status_code == 200
            course_id = db.session.scalar(sa.select(Course.id))
            counter = StatementCounter(db.engine)
            results = []
            for label in ("first sync (all new)", "second sync (no changes)"):
                db.session.remove()
                counter.count = 0
                tokens_before = len([r for r in sandbox.token_requests if r["ok"]])
                if args.trace_memory:
                    tracemalloc.start()
                rss_before = max_rss_mb()
                started = time.perf_counter()
                result = sync_roster(course_id, secret_key="bench-only", http=app.extensions["pathways_http"],
                                     timeout=30, store_email=False, now=datetime.now(UTC).replace(tzinfo=None))
                seconds = time.perf_counter() - started
                rss_growth = max_rss_mb() - rss_before
                traced = None
                if args.trace_memory:
                    traced = tracemalloc.get_traced_memory()[1] / 1e6
                    tracemalloc.stop()
                tokens = len([r for r in sandbox.token_requests if r["ok"]]) - tokens_before
                results.append((label, seconds, counter.count, rss_growth, traced, tokens, result))
            enrolled = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)
                                         .where(Enrollment.course_id == course_id, Enrollment.active.is_(True)))
            dialect = db.engine.dialect.name
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    pages = -(-(args.members + 7) // args.page_size)
    print(f"Roster sync benchmark: {args.members} extra members + 7 demo members, {args.page_size} per NRPS page "
          f"({pages} pages), database {dialect}")
    print(f"machine: {machine()}")
    for label, seconds, statements, rss_growth, traced, tokens, result in results:
        timing = f"{seconds:7.2f} s" + (" (traced: not comparable)" if traced is not None else "")
        memory = f"peak RSS +{rss_growth:5.1f} MB" + (f", traced Python peak {traced:6.1f} MB" if traced else "")
        print(f"  {label:26s} {timing}  {statements:6d} SQL statements  {memory}  token requests {tokens}  "
              f"(members {result.members}, new {result.added}, deactivated {result.deactivated})")
    print(f"  active enrolments afterwards: {enrolled}")
    print(f"  process max RSS: {max_rss_mb():.0f} MB")
    expected = args.members + 7
    if enrolled != expected:
        print(f"ERROR: expected {expected} active enrolments, found {enrolled}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
