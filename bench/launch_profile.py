"""Split a Pathways launch's CPU into its three tool requests, in one process, and optionally profile each.

Usage: python bench/launch_profile.py [--launches 150] [--profile DIR]
                                      [--database-url postgresql+psycopg://USER@HOST:PORT/DB] [--redis-url URL]

bench/launch.py measures whole launches through gunicorn; this script says where a launch's CPU goes. The tool
runs in this process (Flask's test client, no gunicorn) with the settings production uses (no sandbox inside,
not TESTING); a sandbox LMS serves on a loopback port from a thread. After a first teacher launch creates the
course and the demo pack is imported, each launch is: login initiation (302), the id_token POST (303), the plan
page (200, must show the skills section). The CPU time of this thread is summed per step (the sandbox's work is
in its own thread and not counted). With --profile DIR, cProfile (CPU-time clock) writes login.pstats,
launch.pstats and page.pstats there; profiling inflates the figures, so read them for proportions.

--database-url names a PostgreSQL database that is EMPTIED (its public schema dropped) and migrated: give it a
scratch database. Without it, a SQLite file in a temporary folder is used.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))  # the shared bench helpers
if str(BENCH.parent) not in sys.path:
    # This clone's lti_tool, unless PYTHONPATH names another tree (to compare two trees with one script).
    sys.path.append(str(BENCH.parent))

import requests  # noqa: E402 - after the path above
import sqlalchemy as sa  # noqa: E402
from common import empty_database, machine  # noqa: E402 - bench/ is on the path above
from launch import AutoPostForm  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from lti_tool import create_app  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.sandbox import SandboxPlatform, create_sandbox_app  # noqa: E402

TOOL_URL = "http://127.0.0.1:5999"  # never dialled: the test client serves these paths
STEPS = ("login", "launch", "page")
STUDENTS = ("student-1", "student-2", "student-3", "student-4", "student-5")
PLAN_MARKER = b'id="skills-heading"'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile file per step here")
    parser.add_argument("--database-url", default=None, help="a scratch PostgreSQL database (emptied)")
    parser.add_argument("--redis-url", default=None)
    return parser.parse_args(argv)


def start_sandbox() -> SandboxPlatform:
    """Serve a seeded sandbox LMS on a free loopback port, with the tool registered."""
    platform = SandboxPlatform(base_url="http://127.0.0.1:1")
    server = make_server("127.0.0.1", 0, create_sandbox_app(platform), threaded=True)
    platform.base_url = f"http://127.0.0.1:{server.server_port}"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    platform.seed_demo()
    platform.register_tool(client_id="bench-client", deployment_id="bench-deployment-1",
                           login_url=TOOL_URL + "/lti/login", redirect_uris=[TOOL_URL + "/lti/launch"],
                           jwks_url=TOOL_URL + "/lti/jwks", target_link_uri=TOOL_URL + "/lti/launch")
    return platform


def build_tool(platform: SandboxPlatform, folder: str, database_url: str | None, redis_url: str | None):
    """Create the app as production configures it, migrate, make a key and register the sandbox."""
    from flask_migrate import upgrade

    from lti_tool.services.registry import add_platform, rotate_tool_key

    settings = {"INSTANCE_PATH": folder, "BASE_URL": TOOL_URL, "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": database_url or f"sqlite:///{folder}/pathways.sqlite",
                "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8", "LOG_LEVEL": "WARNING"}
    if redis_url:
        settings["REDIS_URL"] = redis_url
    app = create_app(settings)
    with app.app_context():
        empty_database(db.engine)
        upgrade()
        rotate_tool_key(app.config["SECRET_KEY"])
        add_platform(issuer=platform.issuer, client_id="bench-client", deployment_ids=["bench-deployment-1"],
                     login_url=platform.auth_url, token_url=platform.token_url, jwks_url=platform.jwks_url,
                     name="Bench sandbox")
    return app


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


class Launcher:
    """Launch students one after another, timing (and optionally profiling) each tool request."""

    def __init__(self, app, platform: SandboxPlatform) -> None:
        self.app = app
        self.platform = platform
        self.cpu = dict.fromkeys(STEPS, 0.0)
        self.profiles: dict[str, cProfile.Profile] | None = None

    def _tool(self, step: str, call: Callable):
        profile = self.profiles[step] if self.profiles else None
        started = time.thread_time()
        if profile:
            profile.enable()
        try:
            return call()
        finally:
            if profile:
                profile.disable()
            self.cpu[step] += time.thread_time() - started

    def launch(self, sub: str, *, page: bool = True) -> None:
        """Run one launch of `sub` (a new browser) and check where it lands."""
        client, browser = self.app.test_client(), requests.Session()
        login = self.platform.start_launch(sub)
        response = self._tool("login", lambda: client.get(_path(login)))
        assert response.status_code == 302, response.status_code
        auth = browser.get(urljoin(TOOL_URL, response.headers["Location"]), timeout=30)
        form = AutoPostForm()
        form.feed(auth.text)
        response = self._tool("launch", lambda: client.post(_path(form.action), data=form.fields))
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        if page:
            location = response.headers["Location"]
            response = self._tool("page", lambda: client.get(_path(location)))
            assert response.status_code == 200 and PLAN_MARKER in response.data, response.status_code


def main(argv: list[str] | None = None) -> int:
    """Set up, warm up, measure; print the CPU per step."""
    args = parse_args(argv)
    platform = start_sandbox()
    with tempfile.TemporaryDirectory() as folder:
        app = build_tool(platform, folder, args.database_url, args.redis_url)
        launcher = Launcher(app, platform)
        launcher.launch("teacher", page=False)  # creates the course
        with app.app_context():
            from lti_tool.models import Course
            from lti_tool.services.content import demo_pack_data, import_pack

            import_pack(db.session.scalars(sa.select(Course.id)).one(), demo_pack_data(),
                        now=datetime.now(UTC).replace(tzinfo=None))
        for n in range(args.warmup):
            launcher.launch(STUDENTS[n % len(STUDENTS)])
        launcher.cpu = dict.fromkeys(STEPS, 0.0)
        if args.profile:
            launcher.profiles = {step: cProfile.Profile(time.thread_time) for step in STEPS}
        for n in range(args.launches):
            launcher.launch(STUDENTS[n % len(STUDENTS)])
        per_launch = {step: seconds / args.launches * 1000 for step, seconds in launcher.cpu.items()}
        print(f"machine:  {machine()}")
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, cache {app.config['CACHE_TYPE']}"
              f"; {args.launches} launches after {args.warmup} warm-up, in one process (no gunicorn)")
        print("CPU ms per launch: " + ", ".join(f"{step} {ms:.2f}" for step, ms in per_launch.items())
              + f"; total {sum(per_launch.values()):.2f}" + (" (profiled)" if args.profile else ""))
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for step, profile in launcher.profiles.items():
                profile.dump_stats(str(args.profile / f"{step}.pstats"))
            print(f"profiles: {args.profile}/{{login,launch,page}}.pstats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
