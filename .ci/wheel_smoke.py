"""Smoke-test an installed Pathways wheel from outside the source tree (run by .ci/run).

    python wheel_smoke.py demo                 # `pathways demo`: the sandbox page, a teacher and a student launch
    python wheel_smoke.py serve DATABASE_URL [REDIS_URL]
        # an env file from `pathways example`, given with -e: `pathways serve` on PostgreSQL (and Redis): /healthz,
        # launches, a grade `pathways worker --once` posts, `pathways doctor`

Run it with the Python of a venv that has only the wheel installed, from an empty directory: everything the
app reads must then come from the installed package. Launches go over HTTP through the sandbox LMS, following
its auto-posting forms as a browser would (like tests/support.py). Exits non-zero on the first failure.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

import requests

PATHWAYS = str(Path(sys.executable).with_name("pathways"))
SUPPORT = Path(__file__).resolve().parents[1] / "tests" / "support.py"


def test_support():
    """Load tests/support.py by path (its form helpers), without putting the source tree on sys.path."""
    spec = importlib.util.spec_from_file_location("pathways_test_support", SUPPORT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATHWAYS_", "PYTHON"))}
    return env | extra


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"FAIL: the server exited with {process.returncode} before {url} answered")
        try:
            response = requests.get(url, timeout=5)
            if response.status_code < 500:
                return response
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"FAIL: {url} did not answer within {seconds:.0f} s")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit("FAIL: " + message)
    print("ok  ", message)


def launch(start_url: str) -> requests.Response:
    """Open a launch link and post the LMS's auto-submitting forms until the tool's page shows."""
    http = requests.Session()
    response = http.get(start_url, timeout=30)
    response.session = http
    for _ in range(5):
        form = re.search(r'<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>(.*?)</form>', response.text, re.S)
        if response.status_code != 200 or not form or 'name="id_token"' not in form.group(2):
            return response
        fields = {html.unescape(name): html.unescape(value) for name, value in
                  re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2))}
        response = http.post(urljoin(response.url, html.unescape(form.group(1))), data=fields, timeout=30)
        response.session = http
    return response


def check_launch(start_url: str, who: str) -> requests.Response:
    page = launch(start_url)
    check(page.status_code == 200, f"{who} launch answers 200 (got {page.status_code} at {page.url})")
    check("TemplateNotFound" not in page.text and "<html" in page.text.lower(), f"{who} sees a Pathways page")
    return page


def check_grade_reaches_the_lms(base: str) -> None:
    """The demo's background worker posts a grade the teacher's change queued to the sandbox gradebook."""
    lms = base + "/sandbox"
    queue_a_grade(lms)
    check_the_gradebook_shows_a_grade(lms, "the demo's worker posts the grade to the sandbox gradebook")


def queue_a_grade(lms: str) -> None:
    """Teacher places Pathways by Deep Linking, a student opens it, the teacher sets the student's level and grades
    on the share of skills reached: a grade waits in the outbox."""
    support = test_support()
    picker = launch(lms + "/launch/teacher?context_id=math-7&message_type=LtiDeepLinkingRequest")
    returning = support.submit_form(_with_session(picker), "/deep-link")
    action, fields = support.parse_form(returning.text, returning.url)
    done = requests.post(action, data=fields, timeout=30)
    check(done.status_code == 200, "teacher places Pathways in the course by Deep Linking")
    link = re.search(r'name="resource_link_id" value="([^"]+)"', requests.get(lms + "/", timeout=10).text)
    check(link is not None, "the course shows the placed link")
    check_launch(f"{lms}/launch?context_id=math-7&resource_link_id={link.group(1)}&sub=student-1",
                 "student opening the placed link")
    teacher = _with_session(launch(f"{lms}/launch?context_id=math-7&resource_link_id={link.group(1)}&sub=teacher"))
    course = urljoin(teacher.url, re.search(r"/c/[^/]+/", teacher.url).group(0))
    class_view = teacher.http.get(course + "class", timeout=30)
    class_view.http = teacher.http
    # The form's menus start at "Choose …": the helper chooses the class's first student and skill, as a teacher would.
    overridden = support.class_override(class_view, level="Mastered", note="Smoke test")
    check(overridden.status_code == 200, "teacher sets a student's level in the class view")
    # The default grade (what is due so far) has no number while the demo's goals lie ahead, and a score without a
    # number is not sent where none was sent before: the share of skills reached makes one now.
    grading = teacher.http.get(course + "teacher/grading", timeout=30)
    grading.http = teacher.http
    saved = support.submit_form(grading, "/teacher/grading", scheme="proficiency_share")
    check(saved.status_code == 200 and "Grades recalculated" in saved.text,
          "teacher grades on the share of skills reached, and the grades are recalculated")


def check_the_gradebook_shows_a_grade(lms: str, message: str) -> None:
    posted = re.compile(r"<strong>[0-9.]+ / [0-9.]+</strong><br>\s*"
                        r'<span class="muted">\w+, (?:FullyGraded|PendingManual)</span>')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        book = requests.get(lms + "/gradebook", timeout=10).text
        if posted.search(book):
            break
        time.sleep(1)
    check(posted.search(book) is not None, message)


def _with_session(page: requests.Response) -> requests.Response:
    page.http = page.http if hasattr(page, "http") else page.session
    return page


def smoke_demo() -> None:
    port = free_port()
    base = f"http://{HOST}:{port}"
    server = subprocess.Popen([PATHWAYS, "demo", "--port", str(port)], env=clean_env())
    try:
        home = wait_for(base + "/sandbox/", server)
        check(home.status_code == 200 and "Launch Pathways as" in home.text, "pathways demo serves /sandbox/")
        check_launch(base + "/sandbox/launch/teacher?context_id=math-7", "teacher")
        check_launch(base + "/sandbox/launch/student-1?context_id=math-7", "student")
        check(requests.get(base + "/sandbox/gradebook", timeout=10).status_code == 200, "the gradebook opens")
        check_grade_reaches_the_lms(base)
        check(Path("instance/secret_key").is_file(), "the demo keeps its secret in ./instance")
        listing = subprocess.run([PATHWAYS, "platform", "list"], env=clean_env(), capture_output=True, text=True)
        check(listing.returncode == 0 and "sandbox-deployment-1" in listing.stdout,
              "`pathways platform list` in the demo folder uses the demo's secret")
    finally:
        server.terminate()
        server.wait(timeout=30)


def smoke_serve(database_url: str, redis_url: str = "") -> None:
    from werkzeug.serving import make_server

    from lti_tool.sandbox import SandboxPlatform, create_sandbox_app

    tool_port, lms_port = free_port(), free_port()
    tool, lms = f"http://{HOST}:{tool_port}", f"http://{HOST}:{lms_port}"
    platform = SandboxPlatform(base_url=lms)
    platform.seed_demo()
    platform.register_tool(client_id="smoke", deployment_id="smoke-1", login_url=tool + "/lti/login",
                           redirect_uris=[tool + "/lti/launch"], jwks_url=tool + "/lti/jwks",
                           target_link_uri=tool + "/lti/launch")
    lms_server = make_server(HOST, lms_port, create_sandbox_app(platform), threaded=True)
    threading.Thread(target=lms_server.serve_forever, daemon=True).start()

    # As the docs say: the env file starts from the example the wheel carries, and every command is given it (-e).
    # The sandbox LMS listens on loopback, which production refuses to call unless an admin lists it.
    example = subprocess.run([PATHWAYS, "example", "pathways.example.env"], env=clean_env(), capture_output=True,
                             text=True)
    check(example.returncode == 0 and "PATHWAYS_SECRET_KEY=" in example.stdout,
          "`pathways example pathways.example.env` prints the example env file")
    settings = {"PATHWAYS_DATABASE_URL": database_url, "PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48),
                "PATHWAYS_BASE_URL": tool, "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
                "PATHWAYS_DEFAULT_COURSE_PACK": "demo", "PATHWAYS_REDIS_URL": redis_url}
    lines = [line for line in example.stdout.splitlines() if line.split("=", 1)[0] not in settings]
    Path("pathways.env").write_text("\n".join([*lines, *(f"{k}='{v}'" for k, v in settings.items())]) + "\n")
    for name in ("pathways-web.service", "pathways-worker.service"):
        unit = subprocess.run([PATHWAYS, "example", name], env=clean_env(), capture_output=True, text=True)
        check(unit.returncode == 0 and "ExecStart=" in unit.stdout, f"`pathways example {name}` prints the unit")
    env = clean_env()
    for args in (["db", "upgrade"], ["keys", "rotate"],
                 ["platform", "add", "--issuer", platform.issuer, "--client-id", "smoke", "--deployment-id",
                  "smoke-1", "--login-url", platform.auth_url, "--token-url", platform.token_url,
                  "--jwks-url", platform.jwks_url]):
        done = subprocess.run([PATHWAYS, "-e", "pathways.env", *args], env=env, capture_output=True, text=True)
        check(done.returncode == 0, f"pathways {' '.join(args[:2])}" + (f" ({done.stderr.strip()[-300:]})"
                                                                         if done.returncode else ""))
    server = subprocess.Popen([PATHWAYS, "-e", "pathways.env", "serve", "--bind", f"{HOST}:{tool_port}",
                               "--workers", "2"], env=env)
    try:
        health = wait_for(tool + "/healthz", server)
        check(health.status_code == 200 and health.json()["status"] == "ok", "pathways serve answers /healthz ok")
        check_launch(lms + "/launch/student-1?context_id=math-7", "student (under gunicorn, PostgreSQL)")
        check_launch(lms + "/launch/teacher?context_id=math-7", "teacher (under gunicorn, PostgreSQL)")
        # As deployed: grades wait in the outbox until a `pathways worker` process (not the server) posts them.
        queue_a_grade(lms)
        worker = subprocess.run([PATHWAYS, "-e", "pathways.env", "worker", "--once"], env=env, capture_output=True,
                                text=True, timeout=300)
        check(worker.returncode == 0 and re.search(r"Posted [1-9]\d* score", worker.stdout),
              f"pathways worker --once posts a score ({(worker.stdout + worker.stderr).strip()[-300:]})")
        check_the_gradebook_shows_a_grade(lms, "the grade is in the LMS's gradebook")
        doctor = subprocess.run([PATHWAYS, "-e", "pathways.env", "doctor"], env=env, capture_output=True, text=True)
        check("Traceback" not in doctor.stderr and "ok       Schema is up to date" in doctor.stdout
              and "ok       1 platform(s) registered" in doctor.stdout,
              f"pathways doctor sees the schema and the platform ({doctor.stdout.strip()[-300:]})")
    finally:
        server.terminate()
        server.wait(timeout=30)
        lms_server.shutdown()


if __name__ == "__main__":
    if Path.cwd().joinpath("lti_tool").exists() or Path.cwd().joinpath("templates").exists():
        raise SystemExit("run this from an empty directory outside the source tree")
    import lti_tool

    check(Path(lti_tool.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()),
          f"Pathways is imported from the installed wheel ({Path(lti_tool.__file__).parent})")
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "demo":
        smoke_demo()
    elif mode == "serve" and len(sys.argv) in (3, 4):
        smoke_serve(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
    print(f"wheel smoke test ({mode}) passed")
