"""Count the instructions and round trips of a student's hot requests: a launch's three, plan, question, answer.

Usage: valgrind --tool=callgrind --collect-atstart=no \\
           python bench/request_callgrind.py [--rounds 20] [--warmup 10] [--within module:function ...] [--no-steps]
       python bench/request_callgrind.py --trips [--database-url postgresql+psycopg://…] [--redis-url redis://…]

Sets up as bench/launch_profile.py does (the tool as production configures it, not TESTING; the demo pack; a
sandbox LMS on a loopback port; Flask's test client), then runs rounds of one student's requests: the login
initiation (302), the id_token POST (303), the landing plan page (200), the plan page again, a practice question
(GET /c/<launch>/practice/<skill>), its answer (POST, "1", mostly wrong; 303) and the feedback page the answer
redirects to (GET …/answered/<id>; before 2026-12-04 the POST drew the feedback itself). Under callgrind it
collects during one kind of request a pass and prints instructions per request for each
(bench/launch_callgrind.py's client requests). With --trips (no valgrind) it prints per request the SQL
statements (each a round trip on PostgreSQL),
the commits and rollbacks, PostgreSQL's round trips (statements,
BEGIN, COMMIT, ROLLBACK, the pool's pre-ping), and the Redis commands the tool sent (each a round trip).

--database-url names a PostgreSQL database that is EMPTIED: give it a scratch database.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections import Counter as Tally
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import launch_profile as lp  # noqa: E402 - bench/ is on the path above
import sqlalchemy as sa  # noqa: E402
from launch_callgrind import Counter, count_passes, marks_library, print_dumps  # noqa: E402

STEPS = ("login", "launch", "page", "plan", "question", "answer", "feedback")
SKILL = "frac-equivalent"  # the demo pack's first skill (no prerequisites)


class Rounds(lp.Launcher):
    """A launch (three tool requests), then the plan page, a question and its answer, each through `_tool`."""

    def round(self, sub: str) -> None:
        self.client = None
        self.launch(sub)
        client, home = self.client, self.home
        response = self._tool("plan", lambda: client.get(home))
        assert response.status_code == 200 and lp.PLAN_MARKER in response.data, response.status_code
        practice = home.split("?")[0].rstrip("/") + f"/practice/{SKILL}"
        response = self._tool("question", lambda: client.get(practice))
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'name="served"' in page, response.status_code
        fields = dict(re.findall(r'<input type="hidden" name="(csrf_token|served|hints)" value="([^"]*)"', page))
        response = self._tool("answer", lambda: client.post(practice, data={**fields, "answer": "1"}))
        # The answer is recorded and redirected (303) to its feedback page, drawn by its own GET (since 2026-12-04).
        assert response.status_code == 303 and "/answered/" in response.headers["Location"], response.status_code
        shown = response.headers["Location"]
        response = self._tool("feedback", lambda: client.get(shown))
        assert response.status_code == 200, response.status_code

    def __init__(self, app, platform) -> None:
        super().__init__(app, platform)
        self.cpu = dict.fromkeys(STEPS, 0.0)


def _remember_client(rounds: Rounds) -> None:
    """Keep the test client and the landing page's path of each launch (Launcher.launch makes a client per launch)."""
    app = rounds.app
    make_client = app.test_client

    def test_client(*args, **kwargs):
        rounds.client = make_client(*args, **kwargs)
        return rounds.client

    app.test_client = test_client
    tool = rounds._tool

    def tool_step(step, call):
        response = tool(step, call)
        if step == "launch":
            rounds.home = lp._path(response.headers["Location"])
        return response

    rounds._tool = tool_step


def set_up(folder: str, database_url: str | None, redis_url: str | None) -> Rounds:
    platform = lp.start_sandbox()
    app = lp.build_tool(platform, folder, database_url, redis_url)
    rounds = Rounds(app, platform)
    rounds.launch("teacher", page=False)
    with app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course
        from lti_tool.services.content import demo_pack_data, import_pack

        import_pack(db.session.scalars(sa.select(Course.id)).one(), demo_pack_data(),
                    now=datetime.now(UTC).replace(tzinfo=None))
    _remember_client(rounds)
    return rounds


def count_trips(rounds: Rounds, n: int) -> None:
    """Print the statements, commits/rollbacks and Redis commands per request of each step."""
    import redis.connection

    from lti_tool.extensions import db

    tally: Tally = Tally()
    now: list[str | None] = [None]

    def note(kind: str):
        def listener(*_args, **_kwargs):
            if now[0]:
                tally[(now[0], kind)] += 1
        return listener

    with rounds.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note("statements"))
    sa.event.listen(engine, "commit", note("commits"))
    sa.event.listen(engine, "rollback", note("rollbacks"))
    send = redis.connection.AbstractConnection.send_packed_command

    def send_counted(self, command, check_health=True):
        note("redis")()
        return send(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = send_counted
    if engine.dialect.name == "postgresql":
        # Each call of psycopg's `execute` generator sends what is queued and waits for its results: one round
        # trip, whether a statement, BEGIN, COMMIT, ROLLBACK or the pool's pre-ping.
        import psycopg._connection_base
        import psycopg._cursor_base
        import psycopg.generators

        def counted_execute(inner):
            def execute(*args, **kwargs):
                note("pg round trips")()
                return inner(*args, **kwargs)
            return execute

        psycopg.generators.execute = counted_execute(psycopg.generators.execute)
        psycopg._cursor_base.execute = counted_execute(psycopg._cursor_base.execute)
    tool = rounds._tool

    def counted(step, call):
        now[0] = step
        try:
            return tool(step, call)
        finally:
            now[0] = None

    rounds._tool = counted
    for k in range(n):
        rounds.round(lp.STUDENTS[k % len(lp.STUDENTS)])
    print(f"database {engine.dialect.name}, cache {rounds.app.config['CACHE_TYPE']}; per request, {n} rounds")
    columns = (("statements", 10), ("commits", 8), ("rollbacks", 9), ("pg round trips", 14), ("redis", 6))
    print(f"  {'request':<10} " + " ".join(f"{kind:>{width}}" for kind, width in columns))
    for step in STEPS:
        print(f"  {step:<10} " + " ".join(f"{tally[(step, kind)] / n:{width}.2f}" for kind, width in columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--trips", action="store_true", help="count round trips instead (no valgrind)")
    parser.add_argument("--database-url", default=None, help="a scratch PostgreSQL database (emptied)")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--within", action="append", default=[], help="module:function: a pass counting only its calls")
    parser.add_argument("--no-steps", action="store_true", help="only the --within passes")
    parser.add_argument("--dumps", default="callgrind.out.{pid}.*", help="the dumps (callgrind's default names)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        rounds = set_up(folder, args.database_url, args.redis_url)
        for k in range(args.warmup):
            rounds.round(lp.STUDENTS[k % len(lp.STUDENTS)])
        if args.trips:
            count_trips(rounds, args.rounds)
            return 0
        marks = marks_library(folder)
        counter = Counter(marks)
        tool = rounds._tool
        rounds._tool = lambda step, call: tool(step, lambda: counter(step, call))
        counter.within(args.within)
        labels = [*([] if args.no_steps else STEPS), *args.within]
        count_passes(counter, labels, lambda k: rounds.round(lp.STUDENTS[k % len(lp.STUDENTS)]), args.rounds)
    print(f"instructions per request, {args.rounds} rounds a pass (SQLite unless --database-url)")
    print_dumps(args.dumps.format(pid=os.getpid()), args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
