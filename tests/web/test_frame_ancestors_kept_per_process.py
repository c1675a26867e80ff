"""Every response names who may frame it (the platforms' origins): each process keeps that map a few seconds, so
pages do not ask the shared cache (Redis in production) for it every time; a registry change counts at once."""

from __future__ import annotations

import requests

from lti_tool import security
from lti_tool.services.registry import add_platform
from tests.support import open_in_launch

#: A platform that is never contacted (its login redirect is not followed): loopback, a port nothing listens on.
OTHER = "http://127.0.0.1:9"


def _frame_ancestors(page) -> str:
    return page.headers["Content-Security-Policy"].split("frame-ancestors", 1)[1].split(";")[0]


def test_pages_reuse_the_processes_frame_map_and_a_new_platform_counts_at_once(sandbox, tool, monkeypatch):
    monkeypatch.setattr(security, "PROCESS_FRAME_SECONDS", 3600.0)  # a slow machine's pages stay within it
    page = sandbox.launch("student")
    asked: list[str] = []
    shared_get = security._cache_get
    monkeypatch.setattr(security, "_cache_get", lambda key: asked.append(key) or shared_get(key))
    for _ in range(3):
        page = open_in_launch(page, tool, "/")
        assert tool.base_url in _frame_ancestors(page)  # the sandbox platform, served beside the tool
    assert security.FRAME_CACHE_KEY not in asked  # kept from the launch's responses, within the process's seconds
    # A platform registered now may frame its pages at once (registration clears this process's map too).
    with tool.app.app_context():
        add_platform(name="Other LMS", issuer=OTHER + "/lms", client_id="other", deployment_ids=["1"],
                     login_url=OTHER + "/login", token_url=OTHER + "/token", jwks_url=OTHER + "/jwks")
    login = requests.get(tool.url("/lti/login"), params={"iss": OTHER + "/lms", "login_hint": "x", "client_id": "other",
                                                         "target_link_uri": tool.url("/lti/launch")},
                         allow_redirects=False, timeout=30)
    assert OTHER in _frame_ancestors(login), login.status_code


def test_a_launchs_pages_work_out_who_may_frame_them_once(sandbox, tool, monkeypatch):
    """The same launch's pages name the same framers: worked out once per process while the platforms' map stands."""
    monkeypatch.setattr(security, "PROCESS_FRAME_SECONDS", 3600.0)  # a slow machine's pages stay within it
    page = open_in_launch(sandbox.launch("student"), tool, "/")
    said = _frame_ancestors(page)
    worked: list[int] = []
    framers = security._framers
    monkeypatch.setattr(security, "_framers", lambda *args, **kwargs: worked.append(1) or framers(*args, **kwargs))
    for _ in range(3):
        page = open_in_launch(page, tool, "/")
        assert _frame_ancestors(page) == said and tool.base_url in said
    assert worked == []  # before: once a response (3)
