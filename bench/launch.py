"""Benchmark complete LTI 1.3 launches of Pathways against a bare pylti1p3 + Flask tool and a floor endpoint.

Usage: python bench/launch.py [--launches 200] [--concurrency 1,32] [--warmup 24]
                              [--database-url postgresql+psycopg://USER@HOST:PORT/DB] [--redis-url URL]

Starts, all on 127.0.0.1, three tools, each with its own sandbox LMS process (bench/sandbox_server.py):

- Pathways as production runs it: `pathways serve --bind ... --workers 2` (the packaged gunicorn settings,
  lti_tool/gunicorn_conf.py: gthread workers, PATHWAYS_WEB_THREADS threads, access log), configured only
  through PATHWAYS_* variables, no sandbox inside. Before measuring, one launch creates the course and
  `pathways course import` loads the demo pack (lti_tool/demo/math7.json) into it, so every measured
  launch lands on the student's plan page, as a real student launch into a course with content does
  (the page must contain the plan's skills section);
- bench/bare_pylti1p3_app.py: pylti1p3's stock Flask classes, a one-platform ToolConfDict, no database;
- bench/floor_app.py: the same security checks (state, nonce, JWT signature against the fetched JWKS, iss,
  aud, exp, iat, LTI claims) with nothing stored anywhere: the lower bound.

The baseline and the floor run under the same gunicorn settings as Pathways
(`gunicorn -c python:lti_tool.gunicorn_conf -w 2`). Each launch is the browser's four steps, timed as one:
GET sandbox /launch/<student> (302 to the tool's login initiation) -> GET tool /lti/login (302 to the
sandbox's /auth, sets the state cookie) -> GET sandbox /auth (the auto-posting id_token form) -> POST tool
/lti/launch, following redirects to the landing page, which must answer 200 and name the student. Every
launch has its own requests.Session (its own cookies and TCP connections), as a new browser would.

Prints, per concurrency level and tool: launches/s, p50/p95/p99 latency of the whole launch, the median of
each step, and the CPU milliseconds per launch each server process group spent (workers that exited are
counted through the master's reaped-children time); then Pathways' ratios to the baseline and the floor.
Any failed launch is listed and makes the exit status non-zero.

Database: by default a SQLite file in a temporary instance folder. `--database-url` names a PostgreSQL
server: a scratch database pathways_bench_<random> is created on it and dropped at the end; nothing else
in it is touched. `--redis-url` puts Pathways' (and the baseline's) launch-state cache in Redis (as
production should); without it each uses its local default, which the report names. Subprocesses and the
temporary folder are removed on exit, error or Ctrl+C.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from markupsafe import escape

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"
CLIENT_ID = "bench-client"
DEPLOYMENT_ID = "bench-deployment-1"
WORKERS = 2
WARMUP_CONCURRENCY = 8
DEMO_PACK = REPO / "lti_tool" / "demo" / "math7.json"
CONTEXT_ID = "math-7"
# Only the student plan page has this heading: a launch that lands anywhere else does not count.
PLAN_MARKER = 'id="skills-heading"'
# The demo students seeded by SandboxPlatform.seed_demo(); launches cycle through them.
STUDENTS: tuple[tuple[str, str], ...] = (
    ("student-1", "Priya Shah"),
    ("student-2", "Liam O'Connor"),
    ("student-3", "Sofía García"),
    ("student-4", "Noah Kim"),
    ("student-5", "Zainab Hassan"),
)
STEPS = ("sandbox /launch", "tool /lti/login", "sandbox /auth", "tool /lti/launch+page")
REQUEST_TIMEOUT = 30.0
MAX_LAUNCHES = 20_000


# ---------------------------------------------------------------------------------------------------
# The driver: one launch, as a browser performs it
# ---------------------------------------------------------------------------------------------------
class AutoPostForm(HTMLParser):
    """Collect the action and hidden inputs of the first form in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record the form's action and its inputs' names and values."""
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form = True
            self.action = attributes.get("action")
        elif tag == "input" and self._in_form and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        """Stop at the end of the first form."""
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


class LaunchFailed(Exception):
    """A launch that did not reach the landing page; the message says at which step and why."""


@dataclass
class LaunchResult:
    """One launch: its total seconds, its steps' seconds, and the error if it failed."""

    seconds: float
    steps: list[float] = field(default_factory=list)
    error: str | None = None


def _expect(response: requests.Response, status: int, step: str) -> None:
    """Fail the launch at `step` unless the response has the wanted status."""
    if response.status_code != status:
        snippet = " ".join(response.text[:160].split())
        raise LaunchFailed(f"{step}: HTTP {response.status_code} (wanted {status}): {snippet}")


def launch_once(sandbox_url: str, sub: str, name: str, marker: str | None = None) -> LaunchResult:
    """Perform one complete launch of `sub` from the sandbox and return its timings.

    The landing page must name the person and, when given, contain `marker`."""
    steps: list[float] = []
    start = mark = time.perf_counter()

    def lap() -> None:
        nonlocal mark
        now = time.perf_counter()
        steps.append(now - mark)
        mark = now

    try:
        with requests.Session() as browser:
            response = browser.get(f"{sandbox_url}/launch/{sub}", allow_redirects=False, timeout=REQUEST_TIMEOUT)
            _expect(response, 302, STEPS[0])
            lap()
            response = browser.get(response.headers["Location"], allow_redirects=False, timeout=REQUEST_TIMEOUT)
            _expect(response, 302, STEPS[1])
            lap()
            auth_url = urljoin(response.url, response.headers["Location"])
            response = browser.get(auth_url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
            _expect(response, 200, STEPS[2])
            form = AutoPostForm()
            form.feed(response.text)
            if not form.action or "id_token" not in form.fields or "state" not in form.fields:
                raise LaunchFailed(f"{STEPS[2]}: no auto-post form with id_token and state")
            lap()
            response = browser.post(
                urljoin(auth_url, form.action), data=form.fields, allow_redirects=True, timeout=REQUEST_TIMEOUT
            )
            _expect(response, 200, STEPS[3])
            if name not in response.text and str(escape(name)) not in response.text:
                raise LaunchFailed(f"{STEPS[3]}: the landing page does not name {name!r}")
            if marker and marker not in response.text:
                raise LaunchFailed(f"{STEPS[3]}: the landing page ({response.url}) lacks {marker!r}")
            lap()
    except LaunchFailed as exc:
        return LaunchResult(time.perf_counter() - start, steps, str(exc))
    except (requests.RequestException, KeyError) as exc:
        step = STEPS[len(steps)] if len(steps) < len(STEPS) else "after the launch"
        return LaunchResult(time.perf_counter() - start, steps, f"{step}: {type(exc).__name__}: {exc}")
    return LaunchResult(time.perf_counter() - start, steps)


# ---------------------------------------------------------------------------------------------------
# Processes: start, wait for, measure and stop the servers
# ---------------------------------------------------------------------------------------------------
def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A server subprocess in its own process group, with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 25) -> str:
        """Return the last lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _group_ticks(self) -> list[tuple[int, int, int]]:
        """Return (pid, own user+system ticks, reaped children's ticks) for each live process in the group."""
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            # After the command name: state ppid pgrp session ... utime stime cutime cstime (12th-15th).
            if int(fields[2]) == self.process.pid:
                found.append((int(entry.name), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])))
        return found

    def cpu_seconds(self) -> float:
        """Return the CPU seconds spent so far by the server's process group.

        The user+system time of every live process in the group, plus the time of the children they have
        reaped (gunicorn's master reaps workers that max_requests recycled)."""
        return sum(own + reaped for _, own, reaped in self._group_ticks()) / os.sysconf("SC_CLK_TCK")

    def cpu_by_process(self) -> list[float]:
        """Return the CPU seconds each live process of the group has spent, the group leader first."""
        ordered = sorted(self._group_ticks(), key=lambda p: (p[0] != self.process.pid, p[0]))
        return [own / os.sysconf("SC_CLK_TCK") for _, own, _ in ordered]

    def stop(self) -> None:
        """Stop the server's whole process group: TERM, then KILL after a grace period."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_server(
    stack: ExitStack, name: str, argv: Sequence[str], env: dict[str, str], workdir: Path, logs: Path
) -> Server:
    """Start a server in a new process group (so it and its workers stop together) and register its stop."""
    log_path = logs / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(argv), env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, process, log_path)
    stack.callback(server.stop)
    return server


def wait_until_up(server: Server, url: str, timeout: float = 60.0) -> None:
    """Poll url until it answers 200; fail with the server's log if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            response = requests.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer {url} within {timeout:.0f}s ({last}):\n{server.log_tail()}")


def run_cli(argv: Sequence[str], env: dict[str, str], workdir: Path) -> None:
    """Run a `pathways` CLI command; fail with its output if it fails."""
    done = subprocess.run(list(argv), env=env, cwd=workdir, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def base_env() -> dict[str, str]:
    """Return this process's environment without PATHWAYS_*, BARE_* and GUNICORN_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PATHWAYS_", "BARE_", "GUNICORN_"))} | {
        "PYTHONUNBUFFERED": "1"
    }


def write_rsa_key(path: Path) -> None:
    """Write a new 2048-bit RSA private key as PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)


@contextmanager
def scratch_postgres_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server of server_url, yield its URL, and drop it afterwards."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    if not url.drivername.startswith("postgres"):
        raise SystemExit("--database-url must be a PostgreSQL URL (SQLite is the default; pass nothing).")
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = "pathways_bench_" + secrets.token_hex(4)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def delete_redis_keys(redis_url: str, prefix: str) -> None:
    """Delete the keys under a prefix only this run used (pylti1p3 keeps launch data for a day)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=prefix + "*", count=500):
            client.delete(key)
    finally:
        client.close()


@dataclass
class Target:
    """A tool under test: its name, its server, its sandbox and the sandbox's base URL."""

    name: str
    tool: Server
    sandbox: Server
    sandbox_url: str
    marker: str | None = None


def start_sandbox(
    stack: ExitStack, name: str, tool_url: str, workdir: Path, logs: Path, key_file: Path | None = None
) -> tuple[Server, str]:
    """Start a sandbox LMS process registered with the tool at tool_url; return it and its URL."""
    port = free_port()
    argv = [
        sys.executable,
        str(BENCH / "sandbox_server.py"),
        "--port",
        str(port),
        "--tool-base-url",
        tool_url,
        "--client-id",
        CLIENT_ID,
        "--deployment-id",
        DEPLOYMENT_ID,
    ]
    if key_file is not None:
        argv += ["--key-file", str(key_file)]
    server = start_server(stack, name, argv, base_env(), workdir, logs)
    return server, f"http://{HOST}:{port}"


def gunicorn_argv(port: int, app: str, extra: Sequence[str] = ()) -> list[str]:
    """Return the gunicorn command line with Pathways' packaged settings, WORKERS workers on 127.0.0.1:port."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return [gunicorn, "-c", "python:lti_tool.gunicorn_conf", "-w", str(WORKERS), "-b", f"{HOST}:{port}", *extra, app]


def gunicorn_settings() -> str:
    """Describe the packaged gunicorn settings every tool runs under."""
    from lti_tool.settings import DEFAULTS  # the servers' environment carries no PATHWAYS_WEB_* (base_env)

    return (f"gunicorn -c python:lti_tool.gunicorn_conf -w {WORKERS} (gthread, {DEFAULTS['WEB_THREADS']} "
            "threads per worker, access log on), one per tool")


def start_pathways(
    stack: ExitStack, tmp: Path, logs: Path, database_url: str | None, redis_url: str | None, out: Callable[[str], None]
) -> Target:
    """Prepare Pathways with its CLI, serve it with `pathways serve`, and give the course the demo pack."""
    port = free_port()
    tool_url = f"http://{HOST}:{port}"
    sandbox, sandbox_url = start_sandbox(stack, "pathways-sandbox", tool_url, tmp, logs)
    instance = tmp / "pathways-instance"
    instance.mkdir()
    env = base_env() | {
        "PATHWAYS_BASE_URL": tool_url,
        "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48),
        "PATHWAYS_INSTANCE_PATH": str(instance),
        "PATHWAYS_DATABASE_URL": database_url or "sqlite:///" + str(instance / "pathways.sqlite"),
        "PATHWAYS_LOG_LEVEL": "WARNING",
    }
    if redis_url:
        env["PATHWAYS_REDIS_URL"] = redis_url
    cli = str(Path(sys.executable).with_name("pathways"))
    run_cli([cli, "db", "upgrade"], env, REPO)
    run_cli([cli, "keys", "rotate"], env, REPO)
    run_cli(
        [
            cli,
            "platform",
            "add",
            "--issuer",
            sandbox_url,
            "--client-id",
            CLIENT_ID,
            "--deployment-id",
            DEPLOYMENT_ID,
            "--login-url",
            sandbox_url + "/auth",
            "--token-url",
            sandbox_url + "/token",
            "--jwks-url",
            sandbox_url + "/jwks",
            "--name",
            "Bench sandbox",
        ],
        env,
        REPO,
    )
    out(f"Pathways:  launch-state cache {describe_cache(env)}")
    argv = [cli, "serve", "--bind", f"{HOST}:{port}", "--workers", str(WORKERS)]
    tool = start_server(stack, "pathways-gunicorn", argv, env, REPO, logs)
    wait_until_up(sandbox, sandbox_url + "/")
    wait_until_up(tool, tool_url + "/healthz")
    # The first launch creates the course (as in real use); then the teacher's import gives it content.
    first = launch_once(sandbox_url, *STUDENTS[0])
    if first.error:
        raise RuntimeError(f"the first Pathways launch failed: {first.error}\n{tool.log_tail()}")
    run_cli([cli, "course", "import", str(DEMO_PACK), "--context", CONTEXT_ID, "--platform", sandbox_url], env, REPO)
    return Target("Pathways", tool, sandbox, sandbox_url, marker=PLAN_MARKER)


def describe_cache(env: dict[str, str]) -> str:
    """Name the cache Pathways holds launch state in under this environment, as its app factory chooses it."""
    code = ("from lti_tool import create_app; c = create_app().config; "
            "print(c['CACHE_TYPE'], c.get('CACHE_DIR') or c.get('CACHE_REDIS_URL') or '')")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"could not build the app to read its cache setting:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def start_bare(stack: ExitStack, tmp: Path, logs: Path, redis_url: str | None) -> Target:
    """Start the bare pylti1p3 tool under gunicorn and its sandbox."""
    port = free_port()
    tool_url = f"http://{HOST}:{port}"
    sandbox, sandbox_url = start_sandbox(stack, "bare-sandbox", tool_url, tmp, logs)
    key_file = tmp / "bare-tool-key.pem"
    write_rsa_key(key_file)
    cache_dir = tmp / "bare-cache"
    cache_dir.mkdir()
    env = base_env() | {
        "BARE_BASE_URL": tool_url,
        "BARE_ISSUER": sandbox_url,
        "BARE_CLIENT_ID": CLIENT_ID,
        "BARE_DEPLOYMENT_ID": DEPLOYMENT_ID,
        "BARE_AUTH_URL": sandbox_url + "/auth",
        "BARE_TOKEN_URL": sandbox_url + "/token",
        "BARE_JWKS_URL": sandbox_url + "/jwks",
        "BARE_KEY_FILE": str(key_file),
        "BARE_SECRET_KEY": secrets.token_urlsafe(48),
    }
    if redis_url:
        prefix = f"bare-bench-{secrets.token_hex(4)}:"
        env |= {"BARE_REDIS_URL": redis_url, "BARE_CACHE_PREFIX": prefix}
        stack.callback(delete_redis_keys, redis_url, prefix)
    else:
        env["BARE_CACHE_DIR"] = str(cache_dir)
    argv = gunicorn_argv(port, "bare_pylti1p3_app:create_app()", ["--pythonpath", str(BENCH)])
    tool = start_server(stack, "bare-gunicorn", argv, env, tmp, logs)
    wait_until_up(sandbox, sandbox_url + "/")
    wait_until_up(tool, tool_url + "/")
    return Target("bare pylti1p3", tool, sandbox, sandbox_url)


def start_floor(stack: ExitStack, tmp: Path, logs: Path) -> Target:
    """Start the floor endpoint (bench/floor_app.py) under the same gunicorn settings, and its sandbox."""
    port = free_port()
    tool_url = f"http://{HOST}:{port}"
    sandbox, sandbox_url = start_sandbox(stack, "floor-sandbox", tool_url, tmp, logs)
    env = base_env() | {
        "FLOOR_BASE_URL": tool_url,
        "FLOOR_ISSUER": sandbox_url,
        "FLOOR_CLIENT_ID": CLIENT_ID,
        "FLOOR_DEPLOYMENT_ID": DEPLOYMENT_ID,
        "FLOOR_AUTH_URL": sandbox_url + "/auth",
        "FLOOR_JWKS_URL": sandbox_url + "/jwks",
        "FLOOR_SECRET_KEY": secrets.token_urlsafe(48),
    }
    argv = gunicorn_argv(port, "floor_app:create_app()", ["--pythonpath", str(BENCH)])
    tool = start_server(stack, "floor-gunicorn", argv, env, tmp, logs)
    wait_until_up(sandbox, sandbox_url + "/")
    wait_until_up(tool, tool_url + "/")
    return Target("floor", tool, sandbox, sandbox_url)


# ---------------------------------------------------------------------------------------------------
# Measuring and reporting
# ---------------------------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Return the nearest-rank p-th percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LevelResult:
    """The launches of one tool at one concurrency level, with wall time and CPU spent."""

    target: str
    concurrency: int
    results: list[LaunchResult]
    wall_seconds: float
    cpu: dict[str, float]

    @property
    def ok(self) -> list[LaunchResult]:
        """Return the launches that reached the landing page."""
        return [r for r in self.results if r.error is None]

    @property
    def failures(self) -> list[LaunchResult]:
        """Return the launches that failed."""
        return [r for r in self.results if r.error is not None]

    @property
    def throughput(self) -> float:
        """Return successful launches per second of wall time."""
        return len(self.ok) / self.wall_seconds if self.wall_seconds > 0 else math.nan

    def latency(self, p: float) -> float:
        """Return the p-th percentile of successful launches' total seconds."""
        return percentile(sorted(r.seconds for r in self.ok), p)

    @property
    def cpu_per_launch(self) -> float:
        """Return the tool's CPU seconds per launch (all of its processes; failed launches count too)."""
        return self.cpu["tool"] / len(self.results) if self.results else math.nan

    def step_median(self, index: int) -> float:
        """Return the median seconds of one step over successful launches."""
        return percentile(sorted(r.steps[index] for r in self.ok), 50)


def run_level(target: Target, n: int, concurrency: int, max_seconds: float, first: int = 0) -> LevelResult:
    """Run n launches with `concurrency` at a time; launches not started within max_seconds fail."""
    jobs = [STUDENTS[(first + i) % len(STUDENTS)] for i in range(n)]
    cpu_before = {"tool": target.tool.cpu_seconds(), "sandbox": target.sandbox.cpu_seconds()}
    driver_before = time.process_time()
    results: list[LaunchResult] = []
    start = time.perf_counter()
    pool = cf.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="launch")
    try:
        futures = [pool.submit(launch_once, target.sandbox_url, sub, name, target.marker) for sub, name in jobs]
        done, pending = cf.wait(futures, timeout=max_seconds)
        for future in pending:
            future.cancel()
        for future in futures:
            if future in done or not future.cancelled():
                results.append(future.result())
            else:
                results.append(LaunchResult(math.nan, [], f"not run: the level's {max_seconds:.0f}s limit passed"))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    wall = time.perf_counter() - start
    cpu = {
        "tool": target.tool.cpu_seconds() - cpu_before["tool"],
        "sandbox": target.sandbox.cpu_seconds() - cpu_before["sandbox"],
        "driver": time.process_time() - driver_before,
    }
    return LevelResult(target.name, concurrency, results, wall, cpu)


def machine_lines() -> list[str]:
    """Describe the machine: platform, CPUs, CPU model, Python, load."""
    from common import cpu_model  # bench/common.py, beside this script

    model = cpu_model()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"platform:  {platform.platform()}",
        f"CPUs:      {os.cpu_count()} x {model}",
        f"Python:    {sys.version.split()[0]} ({platform.python_implementation()})",
        f"load avg:  {load} (1/5/15 min, at start; the machine may be shared)",
    ]


def versions_line() -> str:
    """Name the versions of the libraries under test."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for dist in ("gunicorn", "flask", "pylti1p3", "requests", "sqlalchemy"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} ?")
    return "versions:  " + ", ".join(parts)


def ms(seconds: float) -> str:
    """Format seconds as milliseconds."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def ratio(ours: float, base: float) -> str:
    """Format ours / base, or n/a when either is missing."""
    if math.isnan(ours) or math.isnan(base) or base == 0:
        return "n/a"
    return f"{ours / base:.2f}"


def report_level(level: LevelResult, out: Callable[[str], None]) -> None:
    """Print one tool's figures at one concurrency level."""
    n_ok = len(level.ok)
    out(
        f"  {level.target:<14} {n_ok:>5}/{len(level.results):<5} ok  {level.throughput:7.1f} launches/s  "
        f"p50 {ms(level.latency(50)):>7}  p95 {ms(level.latency(95)):>7}  p99 {ms(level.latency(99)):>7} ms"
        f"  (wall {level.wall_seconds:.1f}s)"
    )
    if n_ok:
        steps = ", ".join(f"{STEPS[i]} {ms(level.step_median(i))}" for i in range(len(STEPS)))
        out(f"  {'':<14} median step ms: {steps}")
        per = {k: v / len(level.results) for k, v in level.cpu.items()}
        out(
            f"  {'':<14} CPU ms/launch: tool (gunicorn, all workers) {ms(per['tool'])}, "
            f"sandbox {ms(per['sandbox'])}, driver {ms(per['driver'])}"
        )
    if level.failures:
        kinds = Counter(r.error for r in level.failures)
        out(f"  !!! {len(level.failures)} FAILED launches for {level.target} at concurrency {level.concurrency}:")
        for error, count in kinds.most_common(8):
            out(f"  !!!   {count} x {error}")


def parse_levels(text: str) -> list[int]:
    """Parse "1,32" into [1, 32]."""
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not levels or any(c < 1 or c > 256 for c in levels):
        raise argparse.ArgumentTypeError("concurrency levels must be between 1 and 256")
    return levels


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=200, help="launches per tool and level (default 200)")
    parser.add_argument("--concurrency", type=parse_levels, default=[1, 32], help="levels, e.g. 1,32")
    parser.add_argument("--warmup", type=int, default=24,
                        help=f"unmeasured launches per tool first, {WARMUP_CONCURRENCY} at a time (default 24)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="time limit per tool and level")
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server URL; a scratch database is created on it and dropped"
    )
    parser.add_argument("--redis-url", default=None, help="use Redis for the launch-state cache")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temporary folder (logs, SQLite)")
    args = parser.parse_args(argv)
    if not 1 <= args.launches <= MAX_LAUNCHES:
        parser.error(f"--launches must be between 1 and {MAX_LAUNCHES}")
    if not 0 <= args.warmup <= 100:
        parser.error("--warmup must be between 0 and 100")
    return args


def _terminate_on_sigterm(signum: int, frame: Any) -> None:
    """Turn SIGTERM into KeyboardInterrupt so the same cleanup runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def benchmark(args: argparse.Namespace, stack: ExitStack, out: Callable[[str], None]) -> int:
    """Start everything, warm up, measure every level for both tools, report; return the exit status."""
    tmp = Path(tempfile.mkdtemp(prefix="pathways-launch-bench-"))
    if args.keep_temp:
        out(f"temporary folder (kept): {tmp}")
    else:
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    logs = tmp / "logs"
    logs.mkdir()

    database_url = None
    if args.database_url:
        database_url = stack.enter_context(scratch_postgres_database(args.database_url))
        from sqlalchemy.engine import make_url

        database = f"PostgreSQL, scratch database {make_url(database_url).render_as_string(hide_password=True)}"
    else:
        database = "SQLite file in a temporary instance folder (default)"
    cache = "Redis " + args.redis_url if args.redis_url else "each tool's local default (named below)"
    levels = ", ".join(str(c) for c in args.concurrency)
    out(
        f"settings:  N={args.launches} launches per tool per level, concurrency {levels}, "
        f"warm-up {args.warmup} per tool"
    )
    out(f"database:  {database} (Pathways; the baseline and the floor have none)")
    out(f"cache:     {cache}; bare pylti1p3: {'Redis' if args.redis_url else 'FileSystemCache'}; floor: none")
    out(f"servers:   {gunicorn_settings()} (Pathways through `pathways serve`); one sandbox LMS process "
        "per tool (werkzeug, threaded)")
    out(f"content:   Pathways' course has the demo pack ({DEMO_PACK.name}); its launches must land on the plan page")
    out(
        "note:      the driver, the sandboxes and the gunicorns share this machine's CPUs; only one tool is "
        "driven at a time"
    )

    targets = [
        start_pathways(stack, tmp, logs, database_url, args.redis_url, out),
        start_bare(stack, tmp, logs, args.redis_url),
        start_floor(stack, tmp, logs),
    ]
    for target in targets:
        if args.warmup:
            # Several at a time, so every gunicorn worker gets some: each worker's first request into the course
            # loads its content into the process's cache, a one-off cost that is not what a launch costs.
            warm = run_level(target, args.warmup, WARMUP_CONCURRENCY, args.max_seconds)
            per_process = ", ".join(f"{cpu:.2f}" for cpu in target.tool.cpu_by_process())
            out(f"warm-up:   {target.name}: {args.warmup} launches, {WARMUP_CONCURRENCY} at a time; CPU seconds so "
                f"far per tool process (master first; each worker should have had its share): {per_process}")
            if warm.failures:
                out(f"!!! warm-up of {target.name} failed: {warm.failures[0].error}")
                out(f"--- {target.tool.name} log ---\n{target.tool.log_tail()}")
                out(f"--- {target.sandbox.name} log ---\n{target.sandbox.log_tail()}")
                return 2

    by_level: dict[int, dict[str, LevelResult]] = {}
    for concurrency in args.concurrency:
        out("")
        out(f"concurrency {concurrency}:")
        by_level[concurrency] = {}
        for target in targets:
            level = run_level(target, args.launches, concurrency, args.max_seconds, first=args.warmup)
            by_level[concurrency][target.name] = level
            report_level(level, out)
        ours = by_level[concurrency]["Pathways"]
        for other in ("bare pylti1p3", "floor"):
            base = by_level[concurrency][other]
            out(
                f"  Pathways / {other}: throughput x{ratio(ours.throughput, base.throughput)}, "
                f"p95 latency x{ratio(ours.latency(95), base.latency(95))}, "
                f"tool CPU per launch x{ratio(ours.cpu_per_launch, base.cpu_per_launch)}"
            )

    failures = sum(len(level.failures) for per in by_level.values() for level in per.values())
    out("")
    if failures:
        out(f"!!! {failures} LAUNCHES FAILED — the figures above count only successful launches. !!!")
        for target in targets:
            out(f"--- last lines of {target.tool.name} log ---\n{target.tool.log_tail(40)}")
        return 1
    out("all launches succeeded.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and return the exit status."""
    args = parse_args(argv)
    # Stop cleanly on Ctrl+C even when started in the background by a shell that ignores SIGINT there.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate_on_sigterm)

    def out(line: str) -> None:
        print(line, flush=True)

    out("Pathways launch benchmark (bench/launch.py)")
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
