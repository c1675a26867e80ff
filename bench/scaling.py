"""Scaling curves: class view CPU as the class grows, plan page and answer CPU as the course's skills grow.

Usage: python bench/scaling.py [--students 30,300,3000] [--skills 16,100,400] [--repeat 5]
                               [--answers-per-student 2] [--database-url URL]

Builds the data through the product itself: a real app with the sandbox LMS on a loopback port (as the tests
run it), launches over HTTP, `sync_roster` for the class, `content.import_pack` for the course content,
`serving.serve_next` + `mastery.record_answer` for the students' answers. Then it requests the product's own
pages over HTTP with the launched browser and, for each, reports the median over --repeat requests of

- CPU ms: the CPU time of the thread that handled the request, from the WSGI call to the last byte of the
  body (the view, its queries' client side, the template; not the HTTP parsing);
- wall ms: as the browser saw it (loopback);
- SQL statements the request executed.

1. Class view (`GET /c/<launch>/class`, the heatmap) for a class of 30, 300 and 3,000 students on the demo
   pack (16 skills); each student has answered --answers-per-student questions on different skills.
2. For a course of 16, 100 and 400 skills (the demo pack's 16 skills copied and renamed as often as needed,
   each copy's prerequisites kept within it): a student who has answered one question on every skill opens the
   plan page (`GET /c/<launch>/`), a question (`GET .../practice/<skill>`) and answers it (`POST`). The student
   launches from a graded link (a placement, read with the launch) and answers "1", mostly wrong (the run of
   misses is read with the served question): the same statements as the plain setup of
   tests/perf/test_statement_counts.py, which measures these two setups as well.

`--database-url` takes a throwaway PostgreSQL database (its public schema is dropped and recreated); the
default is a SQLite file in a temporary folder. Prints the machine and load average: on a shared machine the
CPU figures swing, the statement counts do not.
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flask_migrate import upgrade  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from lti_tool import create_app  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.models import Course, ItemResponse, Person  # noqa: E402
from lti_tool.sandbox_mount import connect_sandbox  # noqa: E402
from lti_tool.services.content import course_pack, demo_pack_data, import_pack  # noqa: E402
from lti_tool.services.mastery import model_for, record_answer  # noqa: E402
from lti_tool.services.model_fitting import fit_course_model  # noqa: E402
from lti_tool.services.roster import sync_roster  # noqa: E402
from lti_tool.services.serving import serve_next  # noqa: E402
from tests.support import SandboxActions, parse_form, right_answer  # noqa: E402 - the tests' browser steps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import StatementCounter, empty_database, machine  # noqa: E402 - bench/common.py, beside this script

# A first launch into a big course can be slow (that is one of the things measured): wait for it.
LAUNCH_TIMEOUT = 600


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class TimedWSGI:
    """Wrap the app: the CPU seconds the handling thread spent on the last request, body included."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.last_cpu = math.nan

    def __call__(self, environ, start_response):
        started = time.thread_time()
        result = self.wsgi_app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
            self.last_cpu = time.thread_time() - started
        return [body]


class Bench:
    """A real app with the sandbox LMS on a loopback port, and ways to time its pages."""

    def __init__(self, database_url: str | None) -> None:
        self.folder = tempfile.mkdtemp(prefix="pathways-bench-scaling-")
        self.app = create_app({
            "TESTING": True, "SANDBOX_ENABLED": True, "SECRET_KEY": "bench-only", "INSTANCE_PATH": self.folder,
            "DATABASE_URL": database_url, "BASE_URL": "http://127.0.0.1:1",
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        })
        self.timed = TimedWSGI(self.app.wsgi_app)
        self.app.wsgi_app = self.timed
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.app.config["BASE_URL"] = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.context = self.app.app_context()
        self.context.push()
        empty_database(db.engine)
        upgrade()
        connect_sandbox(self.app)
        self.sandbox = self.app.extensions["sandbox_platform"]
        self.sandbox.page_size = 1000
        self.counter = StatementCounter(db.engine)
        self.browser = SandboxActions(type("Tool", (), {"platform": self.sandbox})())

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()
        db.session.remove()
        self.context.pop()

    def launch(self, sub: str, context_id: str) -> requests.Response:
        """Launch `sub` into a course over HTTP and return the landing page (its .http is the browser).

        The page's .seconds is the wall time from posting the id_token to the landing page's last byte."""
        pending = self.browser.begin(sub, context_id=context_id, resource_link_id=f"link-{context_id}")
        started = time.perf_counter()
        page = pending.http.post(pending.action, data={"id_token": pending.id_token, "state": pending.state},
                                 timeout=LAUNCH_TIMEOUT)
        page.seconds = time.perf_counter() - started
        page.http = pending.http
        if page.status_code != 200:
            raise RuntimeError(f"launch of {sub} into {context_id}: HTTP {page.status_code}: {page.text[:300]}")
        db.session.remove()
        return page

    def course(self, context_id: str, title: str) -> None:
        self.sandbox.add_course(context_id, title, context_id)
        self.sandbox.add_resource_link(f"link-{context_id}", title, context_id=context_id)
        self.sandbox.add_user(f"teacher-{context_id}", roles=["Instructor"], name="Bench Teacher",
                              context_id=context_id)

    def course_id(self, context_id: str) -> int:
        return db.session.scalar(sa.select(Course.id).where(Course.context_id == context_id))

    def skills_course(self, prefix: str, size: int, before_student=None):
        """Make a course of `size` skills (scaled_pack) with its teacher and one student, who launches into it.

        `before_student(course_id)` runs after the pack is imported and before the student's launch. Returns the
        course id, its pack, the student's landing page (its .http is their browser) and the student's person id.
        """
        context = f"{prefix}-{size}"
        self.course(context, f"{size} skills")
        student = f"{prefix}-learner-{size}"
        self.sandbox.add_user(student, roles=["Learner"], name=f"Learner {size}", context_id=context)
        self.launch(f"teacher-{context}", context)
        course_id = self.course_id(context)
        pack = import_pack(course_id, scaled_pack(size), now=now())
        if before_student is not None:
            before_student(course_id)
        db.session.remove()
        home = self.launch(student, context)
        person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == student))
        return course_id, pack, home, person_id

    def time(self, send, prepare=None) -> tuple[requests.Response, float, float, int]:
        """Send one request (after `prepare(), untimed`); return it with its CPU ms, wall ms and statements."""
        if prepare is not None:
            send = prepare()
        db.session.remove()
        before = self.counter.count
        started = time.perf_counter()
        response = send()
        wall = (time.perf_counter() - started) * 1000
        statements = self.counter.count - before
        # 200, or the 303 an answer's POST redirects to its feedback page with (`answered` checks where it leads).
        if response.status_code not in (200, 303):
            raise RuntimeError(f"{response.request.method} {response.url}: HTTP {response.status_code}")
        return response, self.timed.last_cpu * 1000, wall, statements

    def measure(self, send, repeat: int, prepare=None) -> tuple[float, float, int]:
        """Median CPU ms, median wall ms and the statements of the last of `repeat` requests (after one warm-up).

        With `prepare`, each request is what prepare() returns, made after it (prepare itself is not timed)."""
        self.time(send, prepare)
        runs = [self.time(send, prepare) for _ in range(repeat)]
        return (statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs), runs[-1][3])


def post_form(page: requests.Response, action_suffix: str, *, follow: bool = True, **values: str) -> requests.Response:
    """Submit the page's form that posts to action_suffix (with its CSRF token), as a browser would.

    follow=False: the POST's own response, not the page its redirect leads to (an answer's 303 to its feedback).
    """
    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        action, fields = parse_form(match.group(0), page.url)
        if action.split("?")[0].endswith(action_suffix):
            return page.http.post(action, data={**fields, **values}, timeout=LAUNCH_TIMEOUT, allow_redirects=follow)
    raise RuntimeError(f"no form posting to {action_suffix} on {page.url}")


def answered(response: requests.Response) -> requests.Response:
    """Return an answer's POST response, which redirects (303) to its feedback page; refuse anything else."""
    if response.status_code != 303 or "/answered/" not in response.headers.get("Location", ""):
        raise RuntimeError(f"the answer was refused: HTTP {response.status_code} at {response.url}")
    return response


def answer_everyone(course_id: int, person_ids: list[int], skills_each: int) -> None:
    """Each person answers one question on each of `skills_each` skills, through the services the pages call."""
    pack = course_pack(course_id)
    order = list(pack.skill_graph.topological_order())
    for n, person_id in enumerate(person_ids):
        for k in range(skills_each):
            skill = order[(n + k) % len(order)]
            served = serve_next(course_id, person_id, skill, pack, now=now())
            if served is None:
                continue
            given = right_answer(served.item) if n % 3 else "999999"
            record_answer(course_id, person_id, served.id, given, now=now())
    db.session.remove()


def fit_as_used(course_id: int, platform_id: int, learners: int = 60, answers: int = 40) -> int:
    """Give the course the history of `learners` earlier students (stored answers to the pack's items, right
    two times in three) and fit its model on it with the product's job, as the worker does for a course in use:
    the stored fit then holds a weight per item and skill answered. Returns the number of weights."""
    pack = course_pack(course_id)
    items = [item for _activity, item in pack.items()]
    people = [{"platform_id": platform_id, "sub": f"history-{course_id}-{n}", "name": ""} for n in range(learners)]
    db.session.execute(sa.insert(Person), people)
    ids = db.session.scalars(sa.select(Person.id).where(Person.sub.like(f"history-{course_id}-%"))).all()
    rows = []
    for n, person_id in enumerate(ids):
        for k in range(answers):
            item = items[(n * answers + k * 7) % len(items)]
            rows.append({"course_id": course_id, "person_id": person_id, "item_id": item.id,
                         "skill_ids": list(item.skills), "answer": "", "correct": (n + k) % 3 != 0,
                         "hints_used": 0, "source": "practice", "answered_at": now(), "credited": True})
    db.session.execute(sa.insert(ItemResponse), rows)
    db.session.commit()
    summary = fit_course_model(course_id, now())
    db.session.remove()
    return len(model_for(course_id).params.weights) if summary.fitted else 0


def class_view(bench: Bench, sizes: list[int], repeat: int, answers: int) -> list[str]:
    """Grow one class to each size and time the heatmap."""
    context = "scale-class"
    bench.course(context, "Class view scaling")
    teacher = bench.launch(f"teacher-{context}", context)
    course_id = bench.course_id(context)
    import_pack(course_id, demo_pack_data(), now=now())
    db.session.remove()
    lines = [f"class view (GET /class, the heatmap; demo pack, 16 skills; {answers} answers per student; "
             f"median of {repeat}):",
             f"  {'students':>8}  {'CPU ms':>8}  {'wall ms':>8}  {'statements':>10}  {'CPU µs/cell':>11}"]
    have = 0
    for size in sizes:
        for n in range(have, size):
            bench.sandbox.add_user(f"scale-s{n:05d}", roles=["Learner"], name=f"Student {n:05d}",
                                   given_name="Student", family_name=f"{n:05d}", context_id=context)
        with requests.Session() as http:
            sync_roster(course_id, secret_key="bench-only", http=http, timeout=60, store_email=False, now=now())
        new = list(db.session.scalars(sa.select(Person.id).where(Person.sub.like("scale-s%")).order_by(Person.sub)))
        answer_everyone(course_id, new[have:size], answers)
        have = size
        url = teacher.url.rstrip("/") + "/class"
        cpu, wall, statements = bench.measure(lambda url=url: teacher.http.get(url, timeout=120), repeat)
        lines.append(f"  {size:>8}  {cpu:8.1f}  {wall:8.1f}  {statements:>10}  {cpu * 1000 / (size * 16):11.1f}")
        print(lines[-1], flush=True)
    return lines


def scaled_pack(skills: int) -> dict[str, Any]:
    """Return the demo pack with its skills (and their items and activities) copied until there are `skills`."""
    base = demo_pack_data()
    copies = -(-skills // len(base["skills"]))
    pack = {k: v for k, v in base.items() if k not in ("skills", "units", "activities", "goals")}
    pack |= {"skills": [], "units": [], "activities": [], "goals": []}
    pack["course"] = {**base["course"], "title": f"Scaling: {skills} skills"}

    def renamed(value: Any, suffix: str, ids: set[str]) -> Any:
        # References to skills (prerequisites, an activity's or an item's skills, a unit's) get the suffix.
        if isinstance(value, dict):
            return {k: renamed(v, suffix, ids) for k, v in value.items()}
        if isinstance(value, list):
            return [renamed(v, suffix, ids) for v in value]
        return value + suffix if isinstance(value, str) and value in ids else value

    skill_ids = {s["id"] for s in base["skills"]}
    for c in range(copies):
        suffix = "" if c == 0 else f"-x{c}"
        for key in ("skills", "units", "activities"):
            for entry in base[key]:
                entry = renamed(copy.deepcopy(entry), suffix, skill_ids)
                entry["id"] = entry["id"] if key == "skills" else entry["id"] + suffix  # skills: renamed above
                for item in entry.get("items", []):
                    item["id"] += suffix
                if key == "skills" and c:
                    entry["name"] = f"{entry['name']} ({c + 1})"
                if key in ("units", "activities") and c:
                    entry["title"] = f"{entry['title']} ({c + 1})"
                pack[key].append(entry)
    keep = {s["id"] for s in pack["skills"][:skills]}
    pack["skills"] = [dict(s, prerequisites=[p for p in s.get("prerequisites", []) if p in keep])
                      for s in pack["skills"][:skills]]
    pack["activities"] = [a for a in pack["activities"] if set(a.get("skills", [])) <= keep
                          and all(set(i.get("skills", [])) <= keep for i in a.get("items", []))]
    pack["units"] = [dict(u, skills=[s for s in u["skills"] if s in keep]) for u in pack["units"]]
    pack["units"] = [u for u in pack["units"] if u["skills"]]
    pack["goals"] = [dict(g, skills=[s for s in g["skills"] if s in keep]) for g in base["goals"]]
    pack["goals"] = [g for g in pack["goals"] if g["skills"]]
    return pack


def skill_scaling(bench: Bench, sizes: list[int], repeat: int, fitted: bool = False) -> list[str]:
    """For each course size, a student who has answered on every skill opens the plan, a question, and answers.

    `fitted`: the course's model is first fitted on a stored history (fit_as_used), as a course in use is."""
    which = "a course fitted on 60 earlier students' 2,400 answers" if fitted else "a course never fitted"
    lines = [f"plan and answer (a student with one answer on every skill, {which}; median of {repeat}):",
             f"  {'skills':>6}  {'page':<26}  {'CPU ms':>8}  {'wall ms':>8}  {'statements':>10}"]
    for size in sizes:
        course_id, pack, home, person_id = bench.skills_course("scale-fitted" if fitted else "scale-skills", size)
        lines.append(f"  {size:>6}  {'first launch (POST + page)':<26}  {'':>8}  {home.seconds * 1000:8.1f}")
        print(lines[-1], flush=True)
        answer_everyone(course_id, [person_id], len(pack.skills))
        if fitted:
            platform_id = db.session.scalar(sa.select(Person.platform_id).where(Person.id == person_id))
            weights = fit_as_used(course_id, platform_id)
            lines.append(f"  {size:>6}  {'fitted model: weights':<26}  {weights:>8}")
            print(lines[-1], flush=True)
        skill = next(iter(pack.skill_graph.topological_order()))
        practice_url = home.url.rstrip("/") + f"/practice/{skill}"

        def plan(home=home):
            return home.http.get(home.url, timeout=LAUNCH_TIMEOUT)

        def question(practice_url=practice_url, home=home):
            page = home.http.get(practice_url, timeout=LAUNCH_TIMEOUT)
            page.http = home.http
            return page

        def answer_next(question=question, skill=skill):
            # A fresh question each time (the last one was answered, untimed); the answer's POST is what is timed.
            page = question()
            if 'name="served"' not in page.text:
                raise RuntimeError(f"no served question on {page.url}")

            def post():
                return answered(post_form(page, f"/practice/{skill}", follow=False, answer="1"))
            return post

        def feedback_next(answer_next=answer_next, home=home):
            # An answer posted untimed; the GET of its feedback page (where the POST's 303 leads) is what is timed.
            shown = urljoin(home.url, answer_next()().headers["Location"])
            return lambda: home.http.get(shown, timeout=LAUNCH_TIMEOUT)

        for label, send, prepare in (("plan page GET /", plan, None), ("question GET practice/…", question, None),
                                     ("answer POST practice/…", None, answer_next),
                                     ("feedback GET …/answered/…", None, feedback_next)):
            cpu, wall, statements = bench.measure(send, repeat, prepare)
            lines.append(f"  {size:>6}  {label:<26}  {cpu:8.1f}  {wall:8.1f}  {statements:>10}")
            print(lines[-1], flush=True)
    return lines


def parse_sizes(text: str) -> list[int]:
    sizes = [int(x) for x in text.split(",") if x.strip()]
    if not sizes or any(s < 1 for s in sizes) or sizes != sorted(sizes):
        raise argparse.ArgumentTypeError("give increasing positive sizes, e.g. 30,300,3000")
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=parse_sizes, default=[30, 300, 3000])
    parser.add_argument("--skills", type=parse_sizes, default=[16, 100, 400])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--answers-per-student", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--only", choices=("class", "skills"), default=None, help="run one of the two parts")
    parser.add_argument("--fitted", action="store_true",
                        help="skills part: fit each course's model on a stored history first, as in a course in use")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Scaling benchmark (bench/scaling.py)\nmachine: {machine()}", flush=True)
    bench = Bench(args.database_url)
    try:
        print(f"database: {db.engine.dialect.name}", flush=True)
        started = time.perf_counter()
        class_lines = [] if args.only == "skills" else class_view(bench, args.students, args.repeat,
                                                                   args.answers_per_student)
        skill_lines = [] if args.only == "class" else skill_scaling(bench, args.skills, args.repeat, args.fitted)
    finally:
        bench.close()
    print()
    for line in [*class_lines, *skill_lines]:
        print(line)
    print(f"total {time.perf_counter() - started:.0f} s; machine at the end: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
