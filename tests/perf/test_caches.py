"""Per-process caches (issue 14) never serve what an admin or teacher has just changed, here or elsewhere."""

from __future__ import annotations

import datetime
import json
import re

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course
from lti_tool.services.content import course_pack, demo_pack_data, import_pack
from tests.support import served_answer, submit_form

NOW = datetime.datetime(2026, 12, 1, 9, 0)


def _renamed(name: str) -> dict:
    data = demo_pack_data()
    data["skills"][0]["name"] = name
    return data


def test_a_pack_replaced_by_another_process_is_what_the_next_page_here_shows(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    page = sandbox.launch("student")
    assert "Equivalent fractions" in page.text
    # Another Pathways process (a second gunicorn worker) replaces the pack: only the database changes here.
    other_process = sa.create_engine(tool.app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other_process.begin() as conn:
            conn.execute(sa.text("UPDATE course_content SET pack = :pack, updated_at = :at"),
                         {"pack": json.dumps(_renamed("Fractions that are equal")),
                          "at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None)})
    finally:
        other_process.dispose()
    again = page.http.get(page.url, timeout=30)
    assert "Fractions that are equal" in again.text


def test_the_parsed_pack_is_kept_between_requests_and_dropped_when_this_process_replaces_it(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    with tool.app.app_context():
        course_id = db.session.scalars(sa.select(Course.id)).one()
        import_pack(course_id, _renamed("First name"), now=NOW)
    with tool.app.app_context():
        first = course_pack(course_id)
    with tool.app.app_context():
        assert course_pack(course_id) is first  # a later request parses nothing again
        # A replacement within the same microsecond (the key's timestamp is unchanged) is still seen here.
        import_pack(course_id, _renamed("Second name"), now=NOW)
    with tool.app.app_context():
        assert course_pack(course_id).skills[0].name == "Second name"



def test_registry_changes_by_an_admin_count_from_the_very_next_login(sandbox, tool):
    from lti_tool.sandbox_mount import SANDBOX_CLIENT_ID, SANDBOX_DEPLOYMENT_ID
    from lti_tool.services.registry import add_platform, remove_platform

    lms = tool.platform
    assert sandbox.launch("student").status_code == 200
    # The CLI in another process deletes the deployment: the next login here is refused.
    other_process = sa.create_engine(tool.app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other_process.begin() as conn:
            conn.execute(sa.text("DELETE FROM deployment"))
    finally:
        other_process.dispose()
    login = requests.get(lms.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=30)
    assert login.status_code == 403, login.status_code
    with tool.app.app_context():
        remove_platform(lms.issuer, SANDBOX_CLIENT_ID)
    login = requests.get(lms.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=30)
    assert login.status_code in (400, 403), login.status_code
    with tool.app.app_context():
        add_platform(issuer=lms.issuer, client_id=SANDBOX_CLIENT_ID, deployment_ids=["another-deployment"],
                     login_url=lms.auth_url, token_url=lms.token_url, jwks_url=lms.jwks_url)
    # The sandbox still launches with its old deployment id, which this registration does not list.
    login = requests.get(lms.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=30)
    assert login.status_code == 403, login.status_code
    with tool.app.app_context():
        add_platform(issuer=lms.issuer, client_id=SANDBOX_CLIENT_ID, deployment_ids=[SANDBOX_DEPLOYMENT_ID],
                     login_url=lms.auth_url, token_url=lms.token_url, jwks_url=lms.jwks_url)
    assert "has not set up this course" in sandbox.launch("student").text


def test_the_registry_read_in_a_request_is_read_again_once_its_transaction_ends(sandbox, tool):
    from lti_tool.lti.toolconf import find_platform
    from lti_tool.sandbox_mount import SANDBOX_CLIENT_ID

    issuer = tool.platform.issuer
    other_process = sa.create_engine(tool.app.config["SQLALCHEMY_DATABASE_URI"])

    def approve_elsewhere(approved: bool) -> None:
        with other_process.begin() as conn:
            conn.execute(sa.text("UPDATE platform SET approved = :approved"), {"approved": approved})

    try:
        with tool.app.app_context():
            first = find_platform(issuer, SANDBOX_CLIENT_ID)
            assert first is not None and first.approved
            approve_elsewhere(False)
            # Within the transaction the row read first is used again (a launch asks up to eight times)...
            assert find_platform(issuer, SANDBOX_CLIENT_ID) is first
            # ...and once it ends, by commit or by rollback, the registry is read afresh.
            db.session.commit()
            assert find_platform(issuer, SANDBOX_CLIENT_ID).approved is False
            approve_elsewhere(True)
            db.session.rollback()
            assert find_platform(issuer, SANDBOX_CLIENT_ID).approved is True
    finally:
        other_process.dispose()


def test_a_registry_row_read_inside_a_savepoint_is_not_kept_once_the_savepoint_is_rolled_back(sandbox, tool):
    from lti_tool.lti.toolconf import find_platform, forget_registry_lookups
    from lti_tool.sandbox_mount import SANDBOX_CLIENT_ID

    issuer = tool.platform.issuer
    with tool.app.app_context():
        assert find_platform(issuer, SANDBOX_CLIENT_ID).approved is True
        savepoint = db.session.begin_nested()
        db.session.execute(sa.text("UPDATE platform SET approved = :approved"), {"approved": False})
        forget_registry_lookups()  # as the registry's own code does after a change
        assert find_platform(issuer, SANDBOX_CLIENT_ID).approved is False
        savepoint.rollback()
        # The change was undone with the savepoint: what was read inside it is read again.
        assert find_platform(issuer, SANDBOX_CLIENT_ID).approved is True
        db.session.rollback()


def test_a_model_refitted_by_another_process_is_used_here_from_the_next_request(sandbox, tool):
    from lti_tool.learning.mastery import MasteryParams
    from lti_tool.services.mastery import model_for

    submit_form(sandbox.launch("teacher"), "/content/demo")
    with tool.app.app_context():
        course_id = db.session.scalars(sa.select(Course.id)).one()

    def refit_elsewhere(revision: int, decay: float) -> None:
        fit = {"revision": revision, "fitted_at": "2026-12-01T09:00:00", "responses": 300, "learners": 30,
               "fitted": True, "params": MasteryParams(decay=decay).to_dict()}
        other_process = sa.create_engine(tool.app.config["SQLALCHEMY_DATABASE_URI"])
        try:
            with other_process.begin() as conn:
                conn.execute(sa.text("UPDATE course_content SET model_params = :fit, model_revision = :revision"),
                             {"fit": json.dumps(fit), "revision": revision})
        finally:
            other_process.dispose()

    refit_elsewhere(1, 0.8)
    with tool.app.app_context():
        first = model_for(course_id)
        assert first.params.decay == 0.8
    with tool.app.app_context():
        assert model_for(course_id) is first  # parsed once per process
    refit_elsewhere(2, 0.7)
    with tool.app.app_context():
        assert model_for(course_id).params.decay == 0.7


def test_a_fitted_course_reads_its_weights_once_per_process_and_fit_not_on_every_page(sandbox, tool):
    """A fit holds a weight per item and skill (2,500 on a 400-skill course): decoding them on every request cost
    a 400-skill page 3-4 ms. Pages tell the fit by its revision; the weights are read when it is new here."""
    from lti_tool.services.model_fitting import fit_course_model
    from tests.perf.test_statement_counts import StatementCounter

    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    practice_path = re.search(r'href="[^"]*/c/[^/]+(/practice/[^"?]+)"', student.text).group(1)
    base = re.search(r"https?://[^/]+/c/[^/?]+", student.url).group(0)
    with tool.app.app_context():
        course_id = db.session.scalars(sa.select(Course.id)).one()
        counter = StatementCounter(db.engine)

    def weights_read(request) -> int:
        with counter.counting() as seen:
            response = request()
        assert response.status_code == 200, response.text[:300]
        return sum("model_params" in statement for statement in seen)

    def answer() -> requests.Response:
        question = student.http.get(base + practice_path, timeout=30)
        question.http = student.http
        return submit_form(question, practice_path, answer=served_answer(tool, question))

    def refit() -> None:
        with tool.app.app_context():
            fit_course_model(course_id, NOW)  # few answers yet: the fit stores the prior, as revision 1, 2, ...

    def plan() -> requests.Response:
        return student.http.get(base + "/", timeout=30)

    try:
        refit()
        assert [weights_read(answer), weights_read(answer), weights_read(plan), weights_read(answer)] == [1, 0, 0, 0]
        refit()
        assert [weights_read(plan), weights_read(answer), weights_read(plan)] == [1, 0, 0]  # the first page after it
    finally:
        counter.close()


def test_a_long_running_session_sees_content_removed_by_another_process_as_gone(sandbox, tool):
    """The worker keeps one session for its whole run: a kept content row must not outlive the row itself."""
    submit_form(sandbox.launch("teacher"), "/content/demo")
    with tool.app.app_context():
        course_id = db.session.scalars(sa.select(Course.id)).one()
        assert course_pack(course_id) is not None
        db.session.commit()  # the end of one worker pass
        other_process = sa.create_engine(tool.app.config["SQLALCHEMY_DATABASE_URI"])
        try:
            with other_process.begin() as conn:
                conn.execute(sa.text("DELETE FROM course_content"))
        finally:
            other_process.dispose()
        assert course_pack(course_id) is None


def test_the_demo_keeps_launch_state_in_memory_and_launches_work(make_tool):
    from tests.support import SandboxActions

    # As `pathways demo` starts it: one process serves the pages and runs the worker.
    tool = make_tool(IN_PROCESS_CACHE=True)
    assert tool.app.config["CACHE_TYPE"] == "SimpleCache"
    sandbox = SandboxActions(tool)
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    assert "16 skills" in teacher.text
    assert "Your next steps" in sandbox.launch("student").text


def test_pathways_serve_refuses_the_in_process_cache_its_workers_could_not_share(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from lti_tool import serve
    from lti_tool.cli import main
    from tests.conftest import TEST_SECRET_KEY

    started = []
    monkeypatch.setattr(serve, "serve", lambda **kwargs: started.append(kwargs))
    env = {"PATHWAYS_SECRET_KEY": TEST_SECRET_KEY, "PATHWAYS_INSTANCE_PATH": str(tmp_path),
           "PATHWAYS_DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite")}
    refused = CliRunner().invoke(main, ["serve"], env={**env, "PATHWAYS_IN_PROCESS_CACHE": "1"})
    assert refused.exit_code == 2 and "PATHWAYS_IN_PROCESS_CACHE" in refused.output and not started
    allowed = CliRunner().invoke(main, ["serve", "--workers", "3"], env=env)
    assert allowed.exit_code == 0, allowed.output
    assert started == [{"bind": None, "workers": 3}]
