"""Test actions that read as user stories: `sandbox.launch(as_="teacher")`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import jwt
import requests

from lti_tool.sandbox.platform import DEMO_STUDENTS, DEMO_TA, DEMO_TEACHER

PEOPLE = {"teacher": DEMO_TEACHER, "ta": DEMO_TA, "student": DEMO_STUDENTS[0]}
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


class _FormParser(HTMLParser):
    """Collect the first form's action and its inputs (the auto-posting launch form)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False
        self._select: str | None = None
        self._option_value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and not self._done and self.action is None:
            self.action = attributes.get("action") or ""
            self._in_form = True
        elif tag in ("input", "textarea") and self._in_form and attributes.get("name"):
            if attributes.get("type") in ("checkbox", "radio"):
                # Browsers send only checked boxes, with "on" when they have no value.
                if "checked" in attributes:
                    self.fields[attributes["name"]] = attributes.get("value") or "on"
                return
            self.fields[attributes["name"]] = attributes.get("value") or ""
        elif tag == "select" and self._in_form and attributes.get("name"):
            self._select = attributes["name"]
        elif tag == "option" and self._select:
            # The first option is what a browser submits unless another is selected.
            if "selected" in attributes:
                self.fields.pop(self._select, None)
            if self._select not in self.fields or "selected" in attributes:
                if attributes.get("value") is not None:
                    self.fields[self._select] = attributes["value"] or ""
                else:
                    self._option_value = ""

    def handle_data(self, data: str) -> None:
        if self._option_value == "" and self._select:
            # <option>text</option> without a value attribute submits its text, like a browser.
            self.fields.setdefault(self._select, data.strip())
            self._option_value = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


def parse_form(html: str, base_url: str = "") -> tuple[str, dict[str, str]]:
    """Return (absolute action URL, fields) of the first form in a page."""
    parser = _FormParser()
    parser.feed(html)
    assert parser.action is not None, f"no form in page: {html[:500]}"
    return urljoin(base_url, parser.action), parser.fields


@dataclass
class PendingLaunch:
    """A launch stopped just before the id_token is posted to the tool, for tampering with."""

    http: requests.Session
    action: str
    id_token: str
    state: str
    platform: Any
    claims: dict = field(init=False)
    header: dict = field(init=False)

    def __post_init__(self) -> None:
        self.claims = jwt.decode(self.id_token, options={"verify_signature": False})
        self.header = jwt.get_unverified_header(self.id_token)

    def post(self, id_token: str | None = None, state: str | None = None, **extra: str) -> requests.Response:
        """POST the (possibly replaced) id_token and state to the tool's launch URL."""
        data = {"id_token": self.id_token if id_token is None else id_token,
                "state": self.state if state is None else state, **extra}
        response = self.http.post(self.action, data=data, allow_redirects=True, timeout=30)
        response.http = self.http  # the browser that made it, for following forms on the page
        return response

    def resign(self, **changes: Any) -> str:
        """Return the launch's claims re-signed by the platform with some claims changed (None deletes)."""
        claims = dict(self.claims)
        for name, value in changes.items():
            name = name.replace("__", "/")
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return self.platform.sign(claims)


class SandboxActions:
    """What a person does in the sandbox LMS, over real HTTP."""

    def __init__(self, tool) -> None:
        self.tool = tool
        self.platform = tool.platform

    def sub(self, as_: str) -> str:
        return PEOPLE.get(as_, as_)

    def begin(self, as_: str = "student", http: requests.Session | None = None, **launch: Any) -> PendingLaunch:
        """Run login initiation and platform authorization; stop before posting the id_token."""
        http = http or requests.Session()
        login_url = self.platform.start_launch(self.sub(as_), **launch)
        to_platform = http.get(login_url, allow_redirects=False, timeout=30)
        assert to_platform.status_code == 302, (to_platform.status_code, to_platform.text[:500])
        auth = http.get(to_platform.headers["Location"], allow_redirects=False, timeout=30)
        assert auth.status_code == 200, (auth.status_code, auth.text[:500])
        action, fields = parse_form(auth.text, auth.url)
        return PendingLaunch(http, action, fields["id_token"], fields["state"], self.platform)

    def launch(self, as_: str = "student", http: requests.Session | None = None, **launch: Any) -> requests.Response:
        """Launch the tool as someone and return the page they land on."""
        return self.begin(as_, http=http, **launch).post()


LAUNCH_PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"


def launch_with_presentation(sandbox, as_: str = "student", http: requests.Session | None = None,
                             **presentation: Any) -> requests.Response:
    """Launch with the launch_presentation claim replaced, e.g. locale="es" (no locale at all when none is given)."""
    pending = sandbox.begin(as_, http=http)
    return pending.post(pending.resign(**{LAUNCH_PRESENTATION: {"document_target": "iframe", **presentation}}))


def submit_form(page: requests.Response, action_suffix: str, **values: str) -> requests.Response:
    """Submit the page's form whose action ends with action_suffix (with its CSRF token), like a browser."""
    import re

    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        action, fields = parse_form(match.group(0), page.url)
        if action.split("?")[0].endswith(action_suffix):
            response = page.http.post(action, data={**fields, **values}, timeout=30)
            response.http = page.http
            return response
    raise AssertionError(f"no form posting to {action_suffix} in {page.url}")


def press(page: requests.Response, label: str) -> requests.Response:
    """Press the button labelled `label`: post its form with the form's fields (its CSRF token), like a click."""
    import re

    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        if re.search(r"<button[^>]*>\s*" + re.escape(label) + r"\s*</button>", match.group(0)):
            action, fields = parse_form(match.group(0), page.url)
            response = page.http.post(action, data=fields, timeout=30)
            response.http = page.http
            return response
    raise AssertionError(f"no button {label!r} in {page.url}")



def open_in_launch(page: requests.Response, tool, path: str, **params: Any) -> requests.Response:
    """Open another page of the same launch (a path under its /c/<id>, or a full /c/ path), in the same browser."""
    import re

    base = re.search(r"/c/[^/]+", page.url).group(0)
    response = page.http.get(tool.url(path if path.startswith("/c/") else base + path), params=params, timeout=30)
    response.http = page.http
    return response


def start_in_launch(page: requests.Response, tool, path: str) -> requests.Response:
    """Open a page that starts something on its button (a unit check, the review: `path`) and press it, as the
    plan's button does; a page that shows the one under way instead has no button to press."""
    opened = open_in_launch(page, tool, path)
    return submit_form(opened, path + "/start") if f"{path}/start" in opened.text else opened


def teacher_with_demo_pack(sandbox: SandboxActions, as_: str = "teacher", **launch: Any) -> requests.Response:
    """Launch as a teacher and give the course the demo pack; return the page after it."""
    page = submit_form(sandbox.launch(as_, **launch), "/content/demo")
    assert "The course now uses" in page.text
    return page


def demo_first_goal_due(tool, days: int = -1) -> None:
    """Stand in for the calendar: the demo pack's first goal falls due `days` from today (yesterday by default), in
    every course that has content.

    The demo's goals lie weeks ahead, so its default grade (what is due so far) has no number yet, and a score
    without a number is not sent to the LMS before a number was (there is nothing to clear). Tests that need a
    number in the gradebook make a goal due first.
    """
    from datetime import timedelta

    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import CourseContent
    from lti_tool.models.base import utcnow

    with tool.app.app_context():
        for content in db.session.scalars(sa.select(CourseContent)):
            data = dict(content.pack)
            goals = [dict(goal) for goal in data["goals"]]
            goals[0]["due"] = (utcnow().date() + timedelta(days=days)).isoformat()
            content.pack = {**data, "goals": goals}
            content.updated_at = utcnow()  # the parsed pack is cached by course and updated_at
        db.session.commit()
        db.session.remove()


def teacher_of_another_course(sandbox: SandboxActions) -> requests.Response:
    """Add a second course (Grade 8 Science) with its own instructor on the same LMS; return their page."""
    platform = sandbox.platform
    platform.add_course("science-8", "Grade 8 Science", "SCI8")
    platform.add_user("teacher-sci", roles=["Instructor"], name="Sam Lee", context_id="science-8")
    platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    return teacher_with_demo_pack(sandbox, as_="teacher-sci", context_id="science-8")

AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
_AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
#: The AGS scopes Moodle grants a tool that may sync grades but not manage gradebook columns.
AGS_SCOPES_WITHOUT_COLUMNS = [_AGS_SCOPE + "lineitem.readonly", _AGS_SCOPE + "result.readonly", _AGS_SCOPE + "score"]


def moodle_launch(sandbox, as_: str, **launch) -> requests.Response:
    """Launch as Moodle does when Pathways may sync grades but not manage columns."""
    pending = sandbox.begin(as_, **launch)
    ags = dict(pending.claims[AGS_CLAIM], scope=AGS_SCOPES_WITHOUT_COLUMNS)
    return pending.post(pending.resign(**{AGS_CLAIM: ags}))


def grade_rows(page_text: str, name: str) -> list[str]:
    """Return the course page's grade table rows (`<tr>…</tr>`, one per gradebook column) of one student, whose
    fold (`<details data-testid="grade-student">`) opens with their name."""
    import re

    for fold in re.findall(r'<details[^>]*data-testid="grade-student".*?</details>', page_text, re.S):
        if f"<strong>{name}</strong>" in fold:
            return re.findall(r"<tr><th scope=\"row\">.*?</tr>", fold, re.S)
    return []


def drain_outbox(tool):
    """Run one pass of the grade worker against the tool, as `pathways worker --once` would."""
    from lti_tool.jobs.worker import drain

    with tool.app.app_context():
        return drain(tool.app, once=True)


def one_sitting_pack() -> dict:
    """Return the demo pack set to credit Mastered within one sitting (the default asks for two, an hour apart)."""
    from lti_tool.services.content import demo_pack_data

    data = demo_pack_data()
    data["mastery"]["evidence"] = {"min_sessions_mastered": 1}
    return data


#: A link for a resource hosted elsewhere: `.invalid` never resolves (RFC 2606), so nothing can answer it.
LINKED_VIDEO = "https://videos.pathways.invalid/equivalent-fractions"


def pack_with_a_linked_resource(url: str = LINKED_VIDEO) -> dict:
    """Return the demo pack plus a video on another site for Equivalent fractions.

    The demo's own resources are texts that open in place; a course's pack may also link to what it hosts elsewhere.
    """
    from lti_tool.services.content import demo_pack_data

    data = demo_pack_data()
    data["activities"].append({"id": "linked-video-equivalent-fractions", "title": "Video: equivalent fractions",
                               "kind": "resource", "modality": "video", "skills": ["frac-equivalent"], "url": url})
    return data


def upload_file(page: requests.Response, action_suffix: str, filename: str, body: bytes,
                field: str = "pack") -> requests.Response:
    """Upload a file through the page's form whose action ends with action_suffix, like a browser."""
    import re

    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        action, fields = parse_form(match.group(0), page.url)
        if action.endswith(action_suffix):
            response = page.http.post(action, data={k: v for k, v in fields.items() if k != field},
                                      files={field: (filename, body)}, timeout=30)
            response.http = page.http
            return response
    raise AssertionError(f"no form posting to {action_suffix}")


def start_registered_lms(tool, name: str, client_id: str, deployment_id: str, *, path: str = ""):
    """Start another sandbox LMS on its own loopback server, registered with the tool both ways.

    With a path (e.g. "/canvas"), the LMS is served under it and its issuer ends with it: an issuer naming
    Canvas makes the tool treat the LMS as Canvas.
    """
    import threading

    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server

    from lti_tool.sandbox import SandboxPlatform, create_sandbox_app
    from lti_tool.services.registry import add_platform

    other = SandboxPlatform(name=name)
    app = create_sandbox_app(other)
    server = make_server("127.0.0.1", 0, DispatcherMiddleware(NotFound(), {path: app}) if path else app,
                         threaded=True)
    other.base_url = f"http://127.0.0.1:{server.server_port}{path}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    other.seed_demo()
    with tool.app.app_context():
        add_platform(issuer=other.issuer, client_id=client_id, deployment_ids=[deployment_id],
                     login_url=other.auth_url, token_url=other.token_url, jwks_url=other.jwks_url, name=name)
    other.register_tool(client_id=client_id, deployment_id=deployment_id, login_url=tool.url("/lti/login"),
                        redirect_uris=[tool.url("/lti/launch")], jwks_url=tool.url("/lti/jwks"),
                        target_link_uri=tool.url("/lti/launch"))
    return other, server


def add_sandbox_deployment(tool, deployment_id: str = "deployment-2") -> None:
    """Install the tool a second time on the sandbox LMS (another deployment, both ways); its launches use it next.

    The same context ids (math-7) then name other courses for Pathways: LTI makes them unique per deployment.
    """
    from lti_tool.services.registry import add_platform

    with tool.app.app_context():
        add_platform(issuer=tool.platform.issuer, client_id="pathways-sandbox", deployment_ids=[deployment_id],
                     login_url=tool.platform.auth_url, token_url=tool.platform.token_url,
                     jwks_url=tool.platform.jwks_url)
    registered = tool.platform.tool
    tool.platform.register_tool(client_id=registered.client_id, deployment_id=deployment_id,
                                login_url=registered.login_url, redirect_uris=registered.redirect_uris,
                                jwks_url=registered.jwks_url, target_link_uri=registered.target_link_uri)


def served_answer(tool, page: requests.Response, *, right: bool = True) -> str:
    """Return a right (or wrong) answer to the question a practice or placement page shows: its served variant."""
    import re

    return answer_for_served(tool, int(re.search(r'name="served" value="(\d+)"', page.text).group(1)), right=right)


#: Tools started by the `make_tool` fixture, newest last: browser tests find the served variant through them.
LIVE_TOOLS: list = []


def served_item(tool, served_id: int, language: str = "en"):
    """Return the question a served row stands for, written out for its variant (a template's numbers).

    With a language, its texts are those a student launched in that language reads.
    """
    tool = tool or LIVE_TOOLS[-1]
    from lti_tool.extensions import db
    from lti_tool.learning.coursepack import instantiate
    from lti_tool.models import ServedItem
    from lti_tool.services.content import course_pack

    with tool.app.app_context():
        row = db.session.get(ServedItem, int(served_id))
        return instantiate(course_pack(row.course_id, language).item(row.item_id), row.params or {})


def answer_for_served(tool, served_id: int | str, *, right: bool = True) -> str:
    """Return a right (or wrong) answer to a served question."""
    item = served_item(tool, int(served_id))
    if item.type == "multiple_choice":
        return item.answer if right else next(c.id for c in item.choices if c.id != item.answer)
    return right_answer(item) if right else "no idea 98765"


def right_answer(item) -> str:
    """Return a right answer to a question (a course pack's Item, or a served variant of one)."""
    if item.type == "multiple_choice":
        return item.answer
    return str(item.answer) if item.type == "numeric" else item.answers[0]


def answer_wrong_until_stuck(student: requests.Response, tool) -> tuple[str, list[requests.Response]]:
    """Answer the plan's first practice skill wrong nine times (stuck); return its id and the feedback pages."""
    import re

    practise = re.search(r'href="([^"]*/practice/([^"/]+))"', student.text)
    skill_id = practise.group(2)
    pages = []
    for _ in range(9):
        page = student.http.get(tool.url(practise.group(1)), timeout=30)
        page.http = student.http
        pages.append(submit_form(page, f"/practice/{skill_id}", answer="definitely wrong 12345"))
    return skill_id, pages


#: The issuer the hosted sandbox LMS names itself by: no host of its own, as https://canvas.instructure.com and
#: https://blackboard.com are not the hosts a school's pages and services are on.
HOSTED_ISSUER = "https://hosted-lms.example"


def start_hosted_lms(tool, *, client_id: str = "hosted-client", deployment_id: str = "hosted-1",
                     register_school: bool = True):
    """Start a sandbox LMS played as a hosted one (Canvas Cloud, Blackboard SaaS), registered with the tool both ways.

    Its issuer is on no host of its own (HOSTED_ISSUER); its login, token and key set are on one server ("sso",
    the platform's base_url); the school's pages, roster, gradebook and Deep Linking return on another (the school's
    host, `school_url`: another origin). With register_school the admin registered the school's host as a service
    origin, as docs/admin/canvas.md says; without, only the issuer and the sso endpoints. Returns the platform
    and a function that stops both servers.
    """
    import threading

    from werkzeug.serving import make_server

    from lti_tool.sandbox import SandboxPlatform, create_sandbox_app
    from lti_tool.services.registry import add_platform

    hosted = SandboxPlatform(name="Hosted LMS")
    hosted.fixed_issuer = HOSTED_ISSUER
    app = create_sandbox_app(hosted)
    sso, school = (make_server("127.0.0.1", 0, app, threaded=True) for _ in range(2))
    hosted.base_url = f"http://127.0.0.1:{sso.server_port}"
    hosted.school_url = f"http://127.0.0.1:{school.server_port}"
    for server in (sso, school):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    hosted.seed_demo()
    with tool.app.app_context():
        add_platform(issuer=hosted.issuer, client_id=client_id, deployment_ids=[deployment_id],
                     login_url=hosted.auth_url, token_url=hosted.token_url, jwks_url=hosted.jwks_url,
                     name="Hosted LMS", service_origins=[hosted.school_url] if register_school else None)
    hosted.register_tool(client_id=client_id, deployment_id=deployment_id, login_url=tool.url("/lti/login"),
                         redirect_uris=[tool.url("/lti/launch")], jwks_url=tool.url("/lti/jwks"),
                         target_link_uri=tool.url("/lti/launch"))

    def stop() -> None:
        for server in (sso, school):
            server.shutdown()
            server.server_close()

    return hosted, stop


@contextmanager
def logged_warnings(name: str) -> Iterator[list[str]]:
    """Collect the warnings a logger writes meanwhile (caplog would lose them: migrations reconfigure logging)."""
    import logging

    lines: list[str] = []

    class _Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger, handler = logging.getLogger(name), _Lines(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def class_override(view: requests.Response, **fields: str) -> requests.Response:
    """Set a level with the class view's "Set a level" form, as a teacher who chose the student and the skill.

    The form's menus start at "Choose …"; unless `person_id` or `skill_id` is given, the first student and the first
    skill in its menus are chosen (in a class of one, that student).
    """
    import re

    form = re.search(r'<form[^>]*class="override-form">.*?</form>', view.text, re.S).group(0)
    for name in ("person_id", "skill_id"):
        if name not in fields:
            menu = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', form, re.S).group(1)
            fields[name] = re.search(r'<option value="([^"]+)"', menu).group(1)
    return submit_form(view, "/class/override", **fields)


def statements_sent(tool, request) -> list[str]:
    """Return the SQL statements the tool's engine sends while `request()` runs (SQLAlchemy's
    `before_cursor_execute`), for tests that count a page's statements."""
    import sqlalchemy as sa

    from lti_tool.extensions import db

    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    with tool.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return seen
