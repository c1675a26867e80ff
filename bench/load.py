"""Hold many simulated users on Pathways under gunicorn for a while: launch, plan, practice, class heatmap.

Usage: python bench/load.py [--users 200] [--seconds 60] [--ramp-seconds 10] [--think-seconds 1.0]
                            [--database-url postgresql+psycopg://USER@HOST:PORT/DB] [--redis-url URL]
                            [--workers W] [--threads T] [--no-worker] [--keep-temp]

Starts, all on 127.0.0.1: Pathways as production runs it, `pathways serve` (gunicorn with the packaged
settings, lti_tool/gunicorn_conf.py: gthread workers), one `pathways worker` (grade posts, roster syncs), and
a sandbox LMS process (bench/sandbox_server.py --students/--teachers) holding the course "Grade 7
Mathematics" with enough people. New courses get the demo course pack (PATHWAYS_DEFAULT_COURSE_PACK=demo);
one teacher launch creates the course before the users start.

Each user has its own browser (requests.Session), starts within the ramp, launches (the full LTI 1.3 flow of
bench/launch.py: sandbox /launch -> tool /lti/login -> sandbox /auth -> POST tool /lti/launch -> landing
page), then loops until the time is up, pausing think-seconds (x0.5..1.5, random) between pages:
- a student (24 of every 25 users): opens the plan page, picks a "Practise" link, GETs the question and POSTs
  an answer (the first choice, or "1");
- a teacher (1 of every 25 users): opens the course page and the class heatmap.

Prints: the machine and settings, the error count (every distinct error, with its count), throughput
(HTTP requests/s), p50/p95/p99/max per page, CPU seconds per process group, and consistency checks read
from the database afterwards (answers recorded = answers the users saw accepted; the outbox's rows by
status). Exit status 1 when any error occurred.

The driver is plain threads (one per user) in one CPython process: on a 2-core machine it competes for the
same CPUs as gunicorn, PostgreSQL, the sandbox and the worker, and the GIL caps it at one core. Its CPU share
is printed; read the figures as a floor of what the tool can do.

Database: by default a SQLite file in a temporary instance folder (expect "database is locked" errors with
several workers: production uses PostgreSQL). `--database-url` names a PostgreSQL server: a scratch database
pathways_bench_<random> is created on it and dropped at the end. Subprocesses and the temporary folder are
removed on exit, error or Ctrl+C; the run stops by itself after ramp + seconds (+ one request timeout).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests
from markupsafe import escape

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

# Reused from the launch benchmark: the browser's launch steps, process handling, scratch database, report bits.
from launch import (  # noqa: E402 - bench/ is on the path above
    CLIENT_ID,
    DEPLOYMENT_ID,
    HOST,
    REPO,
    STEPS,
    STUDENTS,
    AutoPostForm,
    LaunchFailed,
    Server,
    _expect,
    _terminate_on_sigterm,
    base_env,
    free_port,
    machine_lines,
    percentile,
    run_cli,
    scratch_postgres_database,
    start_server,
    versions_line,
    wait_until_up,
)

PAGES = ("launch", "plan", "question", "answer", "class view", "teacher home")
TEACHER_EVERY = 25
REQUEST_TIMEOUT = 30.0
MAX_USERS = 1000
MAX_SECONDS = 600
PRACTICE_LINK = re.compile(r'href="([^"]*/practice/[^"?#]+)"')
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)


# ---------------------------------------------------------------------------------------------------
# What the users saw
# ---------------------------------------------------------------------------------------------------
@dataclass
class Tally:
    """Timings per page, errors and request counts from every user thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    http_requests: int = 0
    answers_accepted: int = 0

    def ok(self, page: str, seconds: float, requests_made: int) -> None:
        """Record a page that answered as expected."""
        with self.lock:
            self.seconds[page].append(seconds)
            self.http_requests += requests_made
            if page == "answer":
                self.answers_accepted += 1

    def error(self, page: str, message: str, requests_made: int = 1) -> None:
        """Record a page that failed; the message has no per-user detail, so equal failures group."""
        with self.lock:
            self.errors[f"{page}: {message}"] += 1
            self.http_requests += requests_made


class PageFailed(Exception):
    """A page that did not answer as a browser would expect."""


def _requests_in(response: requests.Response) -> int:
    return len(response.history) + 1


def _check(response: requests.Response, page: str, redirected_to: str = "") -> None:
    """Refuse a page that failed or was sent elsewhere (`redirected_to`: the one redirect this page makes)."""
    if response.status_code != 200:
        snippet = " ".join(re.sub(r"<[^>]+>", " ", response.text[:2000]).split())[:160]
        raise PageFailed(f"HTTP {response.status_code}: {snippet}")
    if redirected_to and len(response.history) == 1 and redirected_to in response.url:
        return
    if response.history:
        raise PageFailed(f"redirected to {response.url.split('/c/')[-1].split('/', 1)[-1] or 'the course page'}")


def launch_in(browser: requests.Session, sandbox_url: str, sub: str, name: str | None) -> tuple[str, int]:
    """Launch `sub` from the sandbox in this browser (bench/launch.py's steps); return (landing URL, requests)."""
    made = 0
    response = browser.get(f"{sandbox_url}/launch/{sub}", allow_redirects=False, timeout=REQUEST_TIMEOUT)
    made += 1
    _expect(response, 302, STEPS[0])
    response = browser.get(response.headers["Location"], allow_redirects=False, timeout=REQUEST_TIMEOUT)
    made += 1
    _expect(response, 302, STEPS[1])
    auth_url = urljoin(response.url, response.headers["Location"])
    response = browser.get(auth_url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
    made += 1
    _expect(response, 200, STEPS[2])
    form = AutoPostForm()
    form.feed(response.text)
    if not form.action or "id_token" not in form.fields or "state" not in form.fields:
        raise LaunchFailed(f"{STEPS[2]}: no auto-post form with id_token and state")
    response = browser.post(urljoin(auth_url, form.action), data=form.fields, timeout=REQUEST_TIMEOUT)
    made += _requests_in(response)
    _expect(response, 200, STEPS[3])
    if "/c/" not in response.url:
        raise LaunchFailed(f"{STEPS[3]}: landed outside a course")
    if name and name not in response.text and str(escape(name)) not in response.text:
        raise LaunchFailed(f"{STEPS[3]}: the landing page does not name the person")
    return response.url, made


def answer_fields(page: str) -> tuple[str, dict[str, str]] | None:
    """Return the practice form's action and fields with an answer filled in, or None when there is no question."""
    for match in FORM.finditer(page):
        form = AutoPostForm()
        form.feed(match.group(0))
        if form.action and "/practice/" in form.action:
            fields = dict(form.fields)
            # Radio buttons: the parser keeps the last choice's value, which is as good as any. Text: a number.
            if not fields.get("answer"):
                fields["answer"] = "1"
            return form.action, fields
    return None


class SimulatedUser:
    """One person in one browser: launch once, then work until the deadline."""

    def __init__(self, sub: str, name: str | None, teacher: bool, *, sandbox_url: str, start_at: float,
                 deadline: float, think: float, tally: Tally, seed: int) -> None:
        self.sub, self.name, self.teacher = sub, name, teacher
        self.sandbox_url, self.start_at, self.deadline, self.think = sandbox_url, start_at, deadline, think
        self.tally = tally
        self.rng = random.Random(seed)
        self.browser = requests.Session()
        self.home: str | None = None

    def pause(self) -> None:
        """Think for a while (never past the deadline)."""
        wait = self.think * self.rng.uniform(0.5, 1.5)
        time.sleep(max(0.0, min(wait, self.deadline - time.monotonic())))

    def timed(self, page: str, action: Callable[[], tuple[object, int]]) -> object | None:
        """Run one page visit, record its time or its error, and return its result (None on error)."""
        started = time.perf_counter()
        try:
            result, made = action()
        except (PageFailed, LaunchFailed) as exc:
            self.tally.error(page, str(exc))
            return None
        except (requests.RequestException, KeyError) as exc:
            self.tally.error(page, f"{type(exc).__name__}: {str(exc)[:160]}")
            return None
        self.tally.ok(page, time.perf_counter() - started, made)
        return result

    def get(self, url: str, page: str) -> tuple[requests.Response, int]:
        response = self.browser.get(url, timeout=REQUEST_TIMEOUT)
        _check(response, page)
        return response, _requests_in(response)

    def run(self) -> None:
        """Launch, then loop over the pages of a student or a teacher."""
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        try:
            while time.monotonic() < self.deadline:
                if self.home is None:
                    self.home = self.timed("launch", lambda: launch_in(self.browser, self.sandbox_url, self.sub,
                                                                       self.name))  # type: ignore[assignment]
                elif self.teacher:
                    self.teacher_round()
                else:
                    self.student_round()
                self.pause()
        finally:
            self.browser.close()

    def teacher_round(self) -> None:
        assert self.home is not None
        self.timed("teacher home", lambda: self.get(self.home, "teacher home"))
        if time.monotonic() >= self.deadline:
            return
        self.pause()
        self.timed("class view", lambda: self.get(self.home.rstrip("/") + "/class", "class view"))

    def student_round(self) -> None:
        assert self.home is not None
        plan = self.timed("plan", lambda: self.get(self.home, "plan"))
        if plan is None or time.monotonic() >= self.deadline:
            return
        links = PRACTICE_LINK.findall(plan.text)  # type: ignore[attr-defined]
        if not links:
            self.tally.error("plan", "no Practise link on the plan page", 0)
            return
        self.pause()
        question_url = urljoin(self.home, self.rng.choice(links))
        question = self.timed("question", lambda: self.get(question_url, "question"))
        if question is None or time.monotonic() >= self.deadline:
            return
        form = answer_fields(question.text)  # type: ignore[attr-defined]
        if form is None:
            self.tally.error("question", "no practice question form on the page", 0)
            return
        self.pause()
        action, fields = form

        def post() -> tuple[requests.Response, int]:
            # The answer's POST redirects (303) to its feedback page, as a browser follows: both are the wait.
            response = self.browser.post(urljoin(question_url, action), data=fields, timeout=REQUEST_TIMEOUT)
            _check(response, "answer", redirected_to="/answered/")
            return response, _requests_in(response)

        self.timed("answer", post)


def run_users(users: list[SimulatedUser], deadline: float) -> int:
    """Run these users, one thread each, until the deadline; return how many threads were still stuck after it."""
    threads = [threading.Thread(target=u.run, name=f"user-{i}", daemon=True) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline + REQUEST_TIMEOUT + 5 - time.monotonic()))
    return sum(1 for t in threads if t.is_alive())


def drive(users: list[SimulatedUser], processes: int, tally: Tally, deadline: float) -> tuple[int, float]:
    """Run the users in this many driver processes; merge their figures into tally; return (stuck, their CPU s).

    One process's threads share one GIL, so with hundreds of users a thread whose response has arrived waits
    for its turn, and the users' figures would count that wait as the tool's. Forked processes each run a
    share of the users (every 25th is still a teacher: the shares interleave) and send their tallies back.
    """
    if processes <= 1:
        return run_users(users, deadline), 0.0
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def child(share: list[SimulatedUser]) -> None:
        stuck = run_users(share, deadline)
        with share[0].tally.lock:
            results.put((dict(share[0].tally.seconds), Counter(share[0].tally.errors), share[0].tally.http_requests,
                         share[0].tally.answers_accepted, stuck, time.process_time()))

    shares = [users[i::processes] for i in range(processes) if users[i::processes]]
    children = [context.Process(target=child, args=(share,), daemon=True) for share in shares]
    for process in children:
        process.start()
    stuck = 0
    cpu = 0.0
    for _ in children:
        seconds, errors, made, accepted, stuck_here, cpu_here = results.get(
            timeout=max(1.0, deadline + REQUEST_TIMEOUT + 30 - time.monotonic()))
        with tally.lock:
            for page, values in seconds.items():
                tally.seconds[page].extend(values)
            tally.errors.update(errors)
            tally.http_requests += made
            tally.answers_accepted += accepted
        stuck += stuck_here
        cpu += cpu_here
    for process in children:
        process.join(timeout=10)
    return stuck, cpu


def people(users: int) -> list[tuple[str, str | None, bool]]:
    """Return (sub, display name or None, is teacher) per user, in start order: every 25th is a teacher."""
    demo = dict(STUDENTS)
    result: list[tuple[str, str | None, bool]] = []
    teachers = students = 0
    for index in range(users):
        if index % TEACHER_EVERY == 0:
            teachers += 1
            # Teacher pages need not name the teacher; the sandbox knows them as teacher, teacher-2, ...
            result.append(("teacher" if teachers == 1 else f"teacher-{teachers}", None, True))
        else:
            students += 1
            sub = f"student-{students}"
            result.append((sub, demo.get(sub, f"Student {students}"), False))
    return result


# ---------------------------------------------------------------------------------------------------
# The servers
# ---------------------------------------------------------------------------------------------------
@dataclass
class Stack:
    """The running servers and their URLs."""

    tool: Server
    sandbox: Server
    worker: Server | None
    tool_url: str
    sandbox_url: str
    database_url: str


def start_stack(args: argparse.Namespace, stack: ExitStack, tmp: Path, logs: Path, database_url: str,
                students: int, teachers: int) -> Stack:
    """Prepare the database and keys with the CLI; start the sandbox, gunicorn and the worker."""
    port, sandbox_port = free_port(), free_port()
    tool_url, sandbox_url = f"http://{HOST}:{port}", f"http://{HOST}:{sandbox_port}"
    sandbox_argv = [
        sys.executable, str(BENCH / "sandbox_server.py"), "--port", str(sandbox_port), "--tool-base-url", tool_url,
        "--client-id", CLIENT_ID, "--deployment-id", DEPLOYMENT_ID,
        "--students", str(students), "--teachers", str(teachers), "--placement", "load-plan",
    ]
    sandbox = start_server(stack, "sandbox", sandbox_argv, base_env(), tmp, logs)
    instance = tmp / "pathways-instance"
    instance.mkdir()
    env = base_env() | {
        "PATHWAYS_BASE_URL": tool_url,
        "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48),
        "PATHWAYS_INSTANCE_PATH": str(instance),
        "PATHWAYS_DATABASE_URL": database_url,
        "PATHWAYS_LOG_LEVEL": "WARNING",
        "PATHWAYS_DEFAULT_COURSE_PACK": "demo",
    }
    if args.threads:
        env["PATHWAYS_WEB_THREADS"] = str(args.threads)
    if args.redis_url:
        env["PATHWAYS_REDIS_URL"] = args.redis_url
    cli = str(Path(sys.executable).with_name("pathways"))
    run_cli([cli, "db", "upgrade"], env, REPO)
    run_cli([cli, "keys", "rotate"], env, REPO)
    run_cli([cli, "platform", "add", "--issuer", sandbox_url, "--client-id", CLIENT_ID, "--deployment-id",
             DEPLOYMENT_ID, "--login-url", sandbox_url + "/auth", "--token-url", sandbox_url + "/token",
             "--jwks-url", sandbox_url + "/jwks", "--name", "Load sandbox"], env, REPO)
    serve = [cli, "serve", "--bind", f"{HOST}:{port}", *(["--workers", str(args.workers)] if args.workers else [])]
    tool = start_server(stack, "gunicorn", serve, env, REPO, logs)
    worker = None if args.no_worker else start_server(stack, "worker", [cli, "worker"], env, REPO, logs)
    wait_until_up(sandbox, sandbox_url + "/")
    wait_until_up(tool, tool_url + "/healthz")
    return Stack(tool, sandbox, worker, tool_url, sandbox_url, database_url)


def database_facts(database_url: str) -> tuple[int, dict[str, int]]:
    """Return (answers recorded, outbox rows by status) read from the tool's database."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            answers = conn.execute(sa.text("SELECT count(*) FROM item_response")).scalar_one()
            outbox = dict(conn.execute(sa.text("SELECT status, count(*) FROM score_outbox GROUP BY status")).all())
    finally:
        engine.dispose()
    return answers, outbox


def cpu_ticks() -> tuple[int, int]:
    """Return (busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(x) for x in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy(before: tuple[int, int]) -> float:
    """Return the percentage of all CPUs busy since `before`."""
    busy, total = cpu_ticks()
    return (busy - before[0]) / max(total - before[1], 1) * 100


# ---------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------
# The packaged access log line: '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss' (lti_tool/gunicorn_conf.py).
ACCESS_LINE = re.compile(r'"(GET|POST) (\S+)" \d{3} \S+ ([\d.]+)s$')


def request_kind(method: str, path: str) -> str | None:
    """Name the kind of tool request an access-log line is, as the users' pages map onto it (None: not counted)."""
    if path.startswith("/lti/"):
        return f"{method} {path}"
    if not path.startswith("/c/"):
        return None  # /healthz and static files
    rest = path.split("/", 3)[3] if path.count("/") >= 3 else ""
    if rest == "":
        return "GET course page (plan / teacher home)" if method == "GET" else None
    if rest.startswith("class"):
        return "GET class view" if method == "GET" else None
    if rest.startswith("practice/"):
        if method != "GET":
            return "POST answer"
        return "GET feedback (after the answer)" if "/answered/" in rest else "GET question"
    return None


def server_times(log_path: Path) -> dict[str, list[float]]:
    """Return the seconds gunicorn spent on each kind of tool request (from reading it to writing the response)."""
    times: dict[str, list[float]] = defaultdict(list)
    for line in log_path.read_text(errors="replace").splitlines():
        found = ACCESS_LINE.search(line)
        if found:
            kind = request_kind(found.group(1), found.group(2))
            if kind:
                times[kind].append(float(found.group(3)))
    return times


def ms(seconds: float) -> str:
    """Format seconds as milliseconds."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def gunicorn_shape(args: argparse.Namespace) -> str:
    """Describe the gunicorn processes as config/gunicorn.conf.py will make them."""
    workers = args.workers or os.cpu_count() * 2 + 1
    return f"pathways serve: {workers} gthread workers x {args.threads or 4} threads"


def benchmark(args: argparse.Namespace, stack: ExitStack, out: Callable[[str], None]) -> int:
    """Start everything, hold the users for the given time, report; return the exit status."""
    tmp = Path(tempfile.mkdtemp(prefix="pathways-load-"))
    if args.keep_temp:
        out(f"temporary folder (kept): {tmp}")
    else:
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    logs = tmp / "logs"
    logs.mkdir()
    if args.database_url:
        database_url = stack.enter_context(scratch_postgres_database(args.database_url))
        from sqlalchemy.engine import make_url

        database = f"PostgreSQL, scratch database {make_url(database_url).database} (dropped at the end)"
    else:
        database_url = "sqlite:///" + str(tmp / "pathways-instance" / "pathways.sqlite")
        database = "SQLite file in a temporary folder (several gunicorn workers on SQLite: expect locking)"
    crowd = people(args.users)
    n_teachers = sum(1 for _, _, teacher in crowd if teacher)
    n_students = args.users - n_teachers
    out(f"settings:  {args.users} users ({n_students} students, {n_teachers} teachers = 1 in {TEACHER_EVERY}), "
        f"{args.seconds:.0f} s after a {args.ramp_seconds:.0f} s ramp-up, think time {args.think_seconds:g} s "
        f"(x0.5-1.5) between pages, request timeout {REQUEST_TIMEOUT:.0f} s")
    out(f"servers:   {gunicorn_shape(args)}; "
        f"{'no worker' if args.no_worker else 'one `pathways worker`'}; one sandbox LMS process (werkzeug, threaded)")
    out(f"database:  {database}")
    out(f"cache:     {'Redis ' + args.redis_url if args.redis_url else 'filesystem (FileSystemCache)'}")
    out("content:   PATHWAYS_DEFAULT_COURSE_PACK=demo (Grade 7 Mathematics demo pack); the course link opens a "
        "placement, so mastery changes queue grades for the worker to post to the sandbox")
    out(f"driver:    one thread per user, in {args.driver_processes} process(es) (each with its own GIL, "
        "switch interval 0.5 ms), on the same 2 CPUs as every server")

    servers = start_stack(args, stack, tmp, logs, database_url, n_students, n_teachers)
    # The first teacher launch creates the course (and its demo content) before the crowd arrives.
    with requests.Session() as browser:
        try:
            launch_in(browser, servers.sandbox_url, "teacher", None)
        except (LaunchFailed, requests.RequestException, KeyError) as exc:
            out(f"!!! the set-up launch failed: {exc}\n--- gunicorn log ---\n{servers.tool.log_tail()}")
            return 2

    tally = Tally()
    groups = {"gunicorn": servers.tool, "sandbox": servers.sandbox}
    if servers.worker:
        groups["worker"] = servers.worker
    cpu_before = {name: server.cpu_seconds() for name, server in groups.items()}
    driver_before = time.process_time()
    stat_before = cpu_ticks()
    began = time.monotonic()
    deadline = began + args.ramp_seconds + args.seconds
    users = [
        SimulatedUser(sub, name, teacher, sandbox_url=servers.sandbox_url,
                      start_at=began + args.ramp_seconds * i / len(crowd), deadline=deadline,
                      think=args.think_seconds, tally=tally, seed=i)
        for i, (sub, name, teacher) in enumerate(crowd)
    ]
    stuck, children_cpu = drive(users, args.driver_processes, tally, deadline)
    wall = time.monotonic() - began
    cpu = {name: server.cpu_seconds() - cpu_before[name] for name, server in groups.items()}
    cpu["driver"] = time.process_time() - driver_before + children_cpu
    if stuck:
        tally.error("run", f"{stuck} user threads still waiting after the deadline + timeout", 0)

    with tally.lock:
        errors = sum(tally.errors.values())
        out("")
        out(f"errors:      {errors}")
        for message, count in tally.errors.most_common():
            out(f"  !!! {count} x {message}")
        out(f"throughput:  {tally.http_requests} HTTP requests in {wall:.1f} s = {tally.http_requests / wall:.1f} "
            f"requests/s (a launch is 5 requests: 2 to the sandbox, 3 to the tool)")
        out(f"{'page':<14} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for page in PAGES:
            values = sorted(tally.seconds.get(page, []))
            out(f"{page:<14} {len(values):>6} {ms(percentile(values, 50)):>8} {ms(percentile(values, 95)):>8} "
                f"{ms(percentile(values, 99)):>8} {ms(values[-1] if values else math.nan):>8}")
        answers_seen = tally.answers_accepted
    # What the tool itself took, against what the users saw: the rest is waiting (for a free worker thread, for a
    # CPU, or in the driver, whose threads share one GIL).
    out(f"{'as gunicorn timed them':<40} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, values in sorted(server_times(servers.tool.log_path).items(), key=lambda kv: -len(kv[1])):
        values.sort()
        out(f"{kind:<40} {len(values):>6} {ms(percentile(values, 50)):>8} {ms(percentile(values, 95)):>8} "
            f"{ms(percentile(values, 99)):>8}")
    cores = os.cpu_count() or 1
    out("CPU seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
        + f" (of {wall * cores:.0f} available on {cores} cores; PostgreSQL's own not counted)")
    driver_share = cpu["driver"] / max(sum(cpu.values()), 1e-9) * 100
    out(f"machine:     {machine_busy(stat_before):.0f}% of all {cores} cores busy during the run (everything on the "
        "machine, PostgreSQL and other people's work included)")
    out(f"driver:      used {cpu['driver'] / wall * 100:.0f}% of one core ({driver_share:.0f}% of the CPU counted "
        "above). It runs on the same cores as the servers, so the figures understate what the tool could do alone.")

    # Answers the users saw accepted must all be in the database; the worker's progress on the grades.
    # A little grace: the last answers may still be committing when the deadline ends the threads.
    time.sleep(1)
    recorded, outbox = database_facts(servers.database_url)
    out(f"database:    {recorded} answers recorded, {answers_seen} accepted by the users"
        + ("" if recorded >= answers_seen else "  !!! MISSING ANSWERS"))
    out("outbox:      " + (", ".join(f"{status} {count}" for status, count in sorted(outbox.items())) or "empty")
        + (" (rows still pending when the run stopped are normal: the worker posts after the answers)"))
    if recorded < answers_seen:
        errors += 1
    if errors:
        out(f"--- last lines of the gunicorn log ---\n{servers.tool.log_tail(30)}")
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="concurrent simulated users (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to hold them after the ramp (60)")
    parser.add_argument("--ramp-seconds", type=float, default=10.0, help="users start spread over this (10)")
    parser.add_argument("--think-seconds", type=float, default=1.0, help="mean pause between pages (1.0)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server URL; a scratch database is created on it and dropped")
    parser.add_argument("--redis-url", default=None, help="use Redis for the launch-state cache")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: the config's 2*CPUs+1)")
    parser.add_argument("--threads", type=int, default=0, help="threads per gunicorn worker (default: 4)")
    parser.add_argument("--no-worker", action="store_true", help="do not run `pathways worker`")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary folder (logs, SQLite)")
    parser.add_argument("--driver-processes", type=int, default=4,
                        help="processes the simulated users are spread over (default 4; 1: threads in this one)")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= MAX_USERS:
        parser.error(f"--users must be between 1 and {MAX_USERS}")
    if not 1 <= args.seconds <= MAX_SECONDS or not 0 <= args.ramp_seconds <= 120:
        parser.error(f"--seconds must be between 1 and {MAX_SECONDS}, --ramp-seconds between 0 and 120")
    if not 0 <= args.think_seconds <= 60:
        parser.error("--think-seconds must be between 0 and 60")
    if not 1 <= args.driver_processes <= 32:
        parser.error("--driver-processes must be between 1 and 32")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the load test and return the exit status."""
    args = parse_args(argv)
    # Hundreds of user threads share this process's GIL; at the default 5 ms switch interval a thread whose
    # response has arrived can wait several slices for it, time the users' figures would count as the tool's
    # (measured: p50 421 -> 230 ms at 200 users). The driver's own waiting is not what this bench measures.
    sys.setswitchinterval(0.0005)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate_on_sigterm)

    def out(line: str) -> None:
        print(line, flush=True)

    out("Pathways load test (bench/load.py)")
    for line in [*machine_lines(), versions_line()]:
        out(line)
    with ExitStack() as stack:
        try:
            return benchmark(args, stack, out)
        except KeyboardInterrupt:
            out("interrupted; stopping servers")
            return 130
        except RuntimeError as exc:
            out(f"!!! {exc}")
            return 2


if __name__ == "__main__":
    sys.exit(main())
