"""Benchmark: sync a 10,000-member course roster from the sandbox LMS over NRPS.

Starts Pathways on a loopback port and the sandbox LMS in its own process (bench/sandbox_server.py, as
bench/launch.py does), registers each with the other, enrols N members in the sandbox course besides the demo's
seven, launches as the teacher (the launch records the course and its NRPS endpoint), then times `sync_roster`
twice: the first sync inserts everyone, the second finds nothing changed. Prints seconds, SQL statements,
token requests, memory and the machine.

    python bench/roster.py [--members 10000] [--page-size 100] [--database-url URL] [--trace-memory]

Timing runs untraced. Memory is the growth of the tool process's peak RSS during each sync: its peak (VmHWM) is
reset to its RSS just before the sync, so the setup's own peak does not hide the sync's. The sandbox's peak
growth, measured the same way in its process, is printed beside it; neither is counted in the other. `--trace-memory`
also traces the tool's Python allocations with tracemalloc and prints their peak; tracing slows the sync
several-fold, so the seconds of a traced run are not comparable and are marked as such.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
import tracemalloc
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flask_migrate import upgrade  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from lti_tool import create_app  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.models import Course, Enrollment  # noqa: E402
from lti_tool.services.registry import add_platform, ensure_tool_key  # noqa: E402
from lti_tool.services.roster import sync_roster  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/common.py and bench/launch.py, beside this script: the launch driver and process helpers bench/launch.py uses.
from common import StatementCounter, empty_database, machine  # noqa: E402
from launch import CLIENT_ID, DEPLOYMENT_ID, base_env, free_port, launch_once, start_server, wait_until_up  # noqa: E402

#: The demo course's members besides the students: its teacher and teaching assistant.
DEMO_STAFF = 2
DEMO_STUDENTS = 5
TEACHER = ("teacher", "Amara Okafor")


def memory_mb(pid: int | str, field: str) -> float:
    """Return a process's VmRSS (resident now) or VmHWM (peak resident since the last reset), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def reset_peak(pid: int | str) -> float:
    """Reset a process's peak RSS to its current RSS (Linux: `5` into clear_refs) and return that RSS in MB.

    Without it an earlier, higher peak (the setup's) would hide whatever the sync itself needs below it.
    """
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return memory_mb(pid, "VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--trace-memory", action="store_true", help="trace Python allocations (slows the sync)")
    args = parser.parse_args()
    # The tool serves the launch in this process: keep its access log out of the output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    instance = Path(tempfile.mkdtemp(prefix="pathways-bench-roster-"))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench-only", "INSTANCE_PATH": str(instance),
        "DATABASE_URL": args.database_url, "BASE_URL": "http://127.0.0.1:1",
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    tool_url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = tool_url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with ExitStack() as stack:
        stack.callback(server.server_close)
        stack.callback(thread.join, timeout=5)
        stack.callback(server.shutdown)
        # The sandbox LMS in its own process: its pages and its `differences` snapshot are not the tool's memory.
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox = start_server(stack, "roster-sandbox", [
            sys.executable, str(REPO / "bench" / "sandbox_server.py"), "--port", str(sandbox_port),
            "--tool-base-url", tool_url, "--client-id", CLIENT_ID, "--deployment-id", DEPLOYMENT_ID,
            "--students", str(args.members + DEMO_STUDENTS), "--page-size", str(args.page_size),
        ], base_env(), REPO, instance)
        wait_until_up(sandbox, sandbox_url + "/", timeout=600)
        with app.app_context():
            empty_database(db.engine)
            upgrade()
            ensure_tool_key(app.config["SECRET_KEY"])
            add_platform(issuer=sandbox_url, client_id=CLIENT_ID, deployment_ids=[DEPLOYMENT_ID],
                         login_url=sandbox_url + "/auth", token_url=sandbox_url + "/token",
                         jwks_url=sandbox_url + "/jwks", name="Bench sandbox")
            db.session.remove()
        # A teacher launch records the course and its NRPS endpoint, as in real use.
        launched = launch_once(sandbox_url, *TEACHER)
        if launched.error:
            raise RuntimeError(f"the teacher's launch failed: {launched.error}")
        with app.app_context():
            course_id = db.session.scalar(sa.select(Course.id))
            counter = StatementCounter(db.engine)
            results = []
            for label in ("first sync (all new)", "second sync (no changes)"):
                db.session.remove()
                counter.count = 0
                if args.trace_memory:
                    tracemalloc.start()
                rss_before = reset_peak("self")
                sandbox_before = reset_peak(sandbox.process.pid)
                started = time.perf_counter()
                result = sync_roster(course_id, secret_key="bench-only", http=app.extensions["pathways_http"],
                                     timeout=30, store_email=False, now=datetime.now(UTC).replace(tzinfo=None))
                seconds = time.perf_counter() - started
                rss_growth = memory_mb("self", "VmHWM") - rss_before
                sandbox_growth = memory_mb(sandbox.process.pid, "VmHWM") - sandbox_before
                traced = None
                if args.trace_memory:
                    traced = tracemalloc.get_traced_memory()[1] / 1e6
                    tracemalloc.stop()
                results.append((label, seconds, counter.count, rss_growth, sandbox_growth, traced, result))
            enrolled = db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)
                                         .where(Enrollment.course_id == course_id, Enrollment.active.is_(True)))
            dialect = db.engine.dialect.name
        sandbox_rss = memory_mb(sandbox.process.pid, "VmRSS")

    members = args.members + DEMO_STUDENTS + DEMO_STAFF
    pages = -(-members // args.page_size)
    print(f"Roster sync benchmark: {args.members} extra members + {DEMO_STUDENTS + DEMO_STAFF} demo members, "
          f"{args.page_size} per NRPS page ({pages} pages), database {dialect}, sandbox LMS in its own process")
    print(f"machine: {machine()}")
    for label, seconds, statements, rss_growth, sandbox_growth, traced, result in results:
        timing = f"{seconds:7.2f} s" + (" (traced: not comparable)" if traced is not None else "")
        memory = f"tool peak RSS {rss_growth:+6.1f} MB" + (f", traced Python peak {traced:6.1f} MB" if traced else "")
        print(f"  {label:26s} {timing}  {statements:6d} SQL statements  {memory}  "
              f"(sandbox peak RSS {sandbox_growth:+6.1f} MB)  "
              f"(members {result.members}, new {result.added}, deactivated {result.deactivated})")
    print(f"  active enrolments afterwards: {enrolled}")
    print(f"  RSS afterwards: tool process {memory_mb('self', 'VmRSS'):.0f} MB, sandbox process {sandbox_rss:.0f} MB")
    if enrolled != members:
        print(f"ERROR: expected {members} active enrolments, found {enrolled}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
