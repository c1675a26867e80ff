"""Every page and every form of a teacher's and a student's launch, with PostgreSQL gone at each of its queries in
turn, or with Redis gone: a 503 page (or the page itself, for Redis), never a 500 or a stack trace.

The pages and forms are found the way a person finds them: the links and forms of each launch's home page and of
the pages those link to. A request is sent again, with the database cut one query later each time, until it runs
to its end without meeting the outage; so an outage is met at every point of every request, the end included.
"""

from __future__ import annotations

import html
import re

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from tests.support import SandboxActions, open_in_launch, served_answer, submit_form

from .proxy import FaultProxy
from .test_redis_outage import wait_for

#: Forms that end what the others need (the launch, the goal they change): sent last.
LAST = ("sign-out", "delete")
#: The sandbox LMS shares the tool's database: its token endpoint meets the outage too, and the roster sync then
#: says on the course page that the LMS did not answer (a redirect), having saved nothing.
ASKS_THE_LMS = ("/roster/sync",)


def _pages_and_forms(page: requests.Response, tool) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Return the launch's pages (home, what it links to, and what those link to) and each form on them.

    One page of each kind: one student's answers, not every student's and skill's.
    """
    from tests.support import parse_form

    base = tool.url(re.search(r"/c/[^/?]+", page.url).group(0))
    pages, kinds, forms, to_open = [], set(), {}, [(page.url, 0)]
    while to_open:
        url, depth = to_open.pop(0)
        kind = re.sub(r"/skills/[^/]+|/students/\d+|\?.*", "/*", url)
        if kind in kinds or not url.startswith(base) or any(word in url for word in LAST):
            continue
        kinds.add(kind)
        opened = page.http.get(url, timeout=30)
        if opened.status_code != 200:
            continue
        pages.append(url)
        if "html" not in opened.headers.get("Content-Type", ""):
            continue  # a download (the class CSV, a privacy export)
        for match in re.finditer(r"<form[^>]*>.*?</form>", opened.text, re.S):
            action, fields = parse_form(match.group(0), opened.url)
            forms.setdefault(action.split("?")[0], fields)
        if depth < 2:
            to_open += [(tool.url(html.unescape(href).split("#")[0]), depth + 1)
                        for href in re.findall(r'href="(/c/[^"]+)"', opened.text)]
    return pages, dict(sorted(forms.items(), key=lambda form: any(word in form[0] for word in LAST)))


# security._platform_origins' statement, as the driver gets it.
_FRAMING_ORIGINS_READ = "SELECT platform.id, platform.auth_login_url, platform.issuer, platform.client_id, "


class _CutAtQuery:
    """Cut the database's proxy just before the request's n-th query (statements as the driver sends them)."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy, self.at, self.seen, self.met = proxy, 0, 0, False

    def __call__(self, conn, cursor, statement, *args) -> None:
        if statement.startswith(_FRAMING_ORIGINS_READ):
            # Every response's header reads the platforms' framing origins when its few-second copy has lapsed (a
            # slow, loaded run meets that more often), and by design an outage there gives no origins, not a
            # failed response: after a form's commit that read's cut rightly leaves its 303. Not counted, so
            # which query is cut does not depend on the clock.
            return
        self.seen += 1
        if self.seen == self.at:
            self.met = True
            self.proxy.cut()

    def arm(self, at: int) -> None:
        self.at, self.seen, self.met = at, 0, False


def _course_with_work(tool) -> tuple[requests.Response, requests.Response]:
    """The demo course, a student with an answer and a goal; return the student's and a teacher's launch."""
    sandbox = SandboxActions(tool)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    practice = open_in_launch(student, tool, re.search(r'href="/c/[^/]+(/practice/[^"]+)"', student.text).group(1))
    submit_form(practice, practice.url.split("/", 3)[3], answer=served_answer(tool, practice))
    submit_form(open_in_launch(student, tool, "/goals"), "/goals", title="Fractions", why="", by_date="",
                skill_ids=[])
    return student, sandbox.launch("teacher")


def _send(who: requests.Response, method: str, url: str, fields: dict[str, str] | None) -> requests.Response:
    return who.http.request(method, url, data=fields, timeout=30, allow_redirects=False)


def test_every_page_and_form_meeting_a_database_outage_at_any_query_answers_503(make_tool, postgres):
    tool = make_tool(DATABASE_URL=postgres.url)
    student, teacher = _course_with_work(tool)
    sent, wrong = cut_at_every_query(tool, postgres, (student, teacher))
    assert sent > 200, sent  # the pages and forms were found
    assert wrong == []
    # Nothing to restart: a launch works once the pool has let the dropped connections go.
    assert wait_for(lambda: SandboxActions(tool).launch("student").status_code == 200, 15) < 10


def cut_at_every_query(tool, postgres, launches) -> tuple[int, list[str]]:
    """Send each page and form of these launches again and again, the database cut one query later each time;
    return how many requests were sent and those that answered other than 503 (or with a stack trace)."""
    with tool.app.app_context():
        engine = db.engine
    cutter, wrong, sent = _CutAtQuery(postgres.proxy), [], 0
    sa.event.listen(engine, "before_cursor_execute", cutter)
    try:
        for who in launches:
            pages, forms = _pages_and_forms(who, tool)
            requests_ = [("GET", url, None) for url in pages] + [("POST", url, f) for url, f in forms.items()]
            for method, url, fields in requests_:
                for at in range(1, 200):
                    cutter.arm(at)
                    try:
                        answer = _send(who, method, url, fields)
                    finally:
                        met = cutter.met
                        cutter.arm(0)
                        postgres.proxy.restore()
                    sent += 1
                    if not met:
                        break  # the request ran to its end: every query of it has met the outage
                    expected = {503, 303} if url.endswith(ASKS_THE_LMS) else {503}
                    if answer.status_code not in expected or "Traceback" in answer.text:
                        wrong.append(f"{method} {url.split('/', 5)[-1]} cut at query {at}: {answer.status_code}")
                        break
    finally:
        sa.event.remove(engine, "before_cursor_execute", cutter)
    return sent, wrong


def test_every_page_and_form_of_an_open_launch_keeps_working_with_redis_down(make_tool, redis_server):
    tool = make_tool(REDIS_URL=redis_server.url)
    wrong = []
    for who in _course_with_work(tool):
        pages, forms = _pages_and_forms(who, tool)
        redis_server.proxy.cut()
        try:
            for method, url, fields in [("GET", url, None) for url in pages] + [("POST", url, f)
                                                                               for url, f in forms.items()]:
                answer = _send(who, method, url, fields)
                if answer.status_code >= 500 or "Traceback" in answer.text:
                    wrong.append(f"{method} {url.split('/', 5)[-1]}: {answer.status_code}")
        finally:
            redis_server.proxy.restore()
    assert wrong == []
