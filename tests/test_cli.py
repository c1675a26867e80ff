"""The LMS admin's commands: register, list and remove platforms; the demo wiring."""

from __future__ import annotations

from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.cli import main


def run(tool, *args, input=None):
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: tool.app), input=input,
                              catch_exceptions=False)


CANVAS = ["--issuer", "https://canvas.instructure.com", "--login-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
          "--token-url", "https://sso.canvaslms.com/login/oauth2/token",
          "--jwks-url", "https://sso.canvaslms.com/api/lti/security/jwks"]


def test_admin_registers_two_canvas_schools_sharing_one_issuer_with_several_deployments(tool):
    first = run(tool, "platform", "add", *CANVAS, "--client-id", "10000000000001", "--deployment-id", "1:abc",
                "--deployment-id", "2:def", "--name", "North District")
    assert first.exit_code == 0, first.output
    assert "deployments: 1:abc, 2:def" in first.output
    second = run(tool, "platform", "add", *CANVAS, "--client-id", "10000000000002", "--deployment-id", "9:xyz")
    assert second.exit_code == 0
    again = run(tool, "platform", "add", *CANVAS, "--client-id", "10000000000001", "--deployment-id", "3:ghi")
    assert "deployments: 1:abc, 2:def, 3:ghi" in again.output
    listing = run(tool, "platform", "list").output
    assert "10000000000001\tNorth District\tdeployments: 1:abc, 2:def, 3:ghi" in listing
    assert "10000000000002" in listing
    assert "sandbox-deployment-1" in listing  # the sandbox registered by the test harness


def test_add_origin_adds_a_schools_host_keeping_everything_else_and_is_audited(tool):
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import AuditEntry, Platform

    run(tool, "platform", "add", *CANVAS, "--client-id", "10000000000001", "--deployment-id", "1:abc",
        "--audience", "https://sso.canvaslms.com/aud", "--service-origin", "https://north.instructure.com")
    added = run(tool, "platform", "add-origin", "https://canvas.instructure.com", "10000000000001",
                "https://south.instructure.com/", "https://north.instructure.com")
    assert added.exit_code == 0, added.output
    assert "https://north.instructure.com https://south.instructure.com" in added.output
    again = run(tool, "platform", "add-origin", "https://canvas.instructure.com", "10000000000001",
                "https://south.instructure.com")  # nothing new: no change, nothing audited
    assert again.exit_code == 0, again.output
    with tool.app.app_context():
        row = db.session.scalars(sa.select(Platform).where(Platform.client_id == "10000000000001")).one()
        assert row.service_origins == "https://north.instructure.com https://south.instructure.com"
        assert row.auth_audience == "https://sso.canvaslms.com/aud"  # `platform add` without --audience clears it
        assert [d.deployment_id for d in row.deployments] == ["1:abc"]
        assert list(db.session.scalars(sa.select(AuditEntry.action))) == ["platform_endpoints_changed"]
        db.session.remove()
    for args, error in ((("https://canvas.instructure.com", "nope", "https://x.example"), "No platform"),
                        (("https://canvas.instructure.com", "10000000000001", "https://x.example/path"),
                         "scheme://host[:port]")):
        refused = CliRunner().invoke(main, ["platform", "add-origin", *args],
                                     obj=ScriptInfo(create_app=lambda: tool.app))
        assert refused.exit_code != 0 and error in refused.output, refused.output


def test_admin_removes_a_platform_and_its_launches_stop_working(sandbox, tool):
    assert sandbox.launch("student").status_code == 200
    issuer = tool.platform.issuer
    result = run(tool, "platform", "remove", issuer, "pathways-sandbox", input="y\n")
    assert result.exit_code == 0, result.output
    assert issuer not in run(tool, "platform", "list").output
    import requests

    # The LMS still starts logins, but Pathways no longer knows it.
    response = requests.get(tool.platform.start_launch("student-1"), allow_redirects=False)
    assert response.status_code == 400 and "not registered" in response.text


def test_removing_an_unknown_platform_says_so(tool):
    result = CliRunner().invoke(main, ["platform", "remove", "https://nope.example.com", "x", "--yes"],
                                obj=ScriptInfo(create_app=lambda: tool.app))
    assert result.exit_code != 0
    assert "No platform is registered" in result.output


def test_bad_urls_are_refused_with_a_clear_message(tool):
    result = CliRunner().invoke(main, ["platform", "add", "--issuer", "i", "--client-id", "c", "--deployment-id", "d",
                                       "--login-url", "ftp://x", "--token-url", "https://t", "--jwks-url", "https://j"],
                                obj=ScriptInfo(create_app=lambda: tool.app))
    assert result.exit_code != 0
    assert "login URL must be an http(s) URL" in result.output
