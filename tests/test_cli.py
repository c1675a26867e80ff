"""The LMS admin's commands: register, list and remove platforms; the demo wiring."""

from __future__ import annotations

import pytest
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
        assert list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id))) == [
            "platform_added", "deployment_added", "platform_endpoints_changed"]
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


def test_an_invite_duration_it_cannot_read_names_the_option_and_makes_no_link(tool):
    result = run(tool, "platform", "invite", "--expires", "2x")
    assert result.exit_code == 2
    assert "Invalid value for '--expires': use a number and m, h or d (e.g. 7d), got '2x'" in result.output
    assert "/lti/register?invite=" not in result.output


@pytest.mark.parametrize("expires", ["99999999999d", "999999999d"])
def test_an_invite_duration_too_long_for_a_date_names_the_option_not_a_traceback(tool, expires):
    # Past timedelta's range, or past the year 9999 once added to now: an OverflowError, and a traceback.
    result = run(tool, "platform", "invite", "--expires", expires)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--expires': use a number and m, h or d (e.g. 7d), got '{expires}'" in result.output
    assert "/lti/register?invite=" not in result.output


def _audit_log(tool) -> list[str]:
    """Return `pathways audit list`'s lines, oldest first, without their ids and times."""
    lines = run(tool, "audit", "list", "--limit", "100").output.splitlines()
    return [line.split("\t", 2)[2] for line in reversed(lines) if "\t" in line]


def test_every_admin_command_that_changes_registrations_deployments_or_keys_leaves_an_audit_entry(tool):
    # The LMS admin's walk: the web's dynamic registration and approval were in the audit log, but a platform
    # added, given another deployment or removed on the command line, a registration link made, and a signing key
    # rotated, retired or replaced left nothing: an auditor could not tell when the tool's trust changed.
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Platform

    assert _audit_log(tool) == []  # the test harness's own sandbox LMS is no administrator's change
    assert run(tool, "platform", "add", *CANVAS, "--client-id", "c1", "--deployment-id", "1:abc",
               "--deployment-id", "2:def").exit_code == 0
    with tool.app.app_context():
        canvas = db.session.scalars(sa.select(Platform.id).where(Platform.client_id == "c1")).one()
    assert _audit_log(tool) == [f"platform_added\tplatform {canvas}\tcourse -\tactor -\tsubject -",
                                f"deployment_added\tplatform {canvas}\tcourse -\tactor -\tsubject -",
                                f"deployment_added\tplatform {canvas}\tcourse -\tactor -\tsubject -"]

    # The same platform again with one more deployment, and nothing else changed: one entry, for the deployment.
    assert run(tool, "platform", "add", *CANVAS, "--client-id", "c1", "--deployment-id", "3:ghi").exit_code == 0
    assert [line.split("\t")[0] for line in _audit_log(tool)][3:] == ["deployment_added"]
    # Nothing new at all: nothing recorded.
    assert run(tool, "platform", "add", *CANVAS, "--client-id", "c1", "--deployment-id", "3:ghi").exit_code == 0
    assert len(_audit_log(tool)) == 4

    assert run(tool, "platform", "invite", "--expires", "1h").exit_code == 0
    assert run(tool, "keys", "rotate").exit_code == 0
    assert run(tool, "keys", "rotate", "--compromised").exit_code == 0
    assert run(tool, "keys", "rotate", "--retire").exit_code == 0  # nothing older than the signing key: no entry
    assert run(tool, "platform", "remove", "https://canvas.instructure.com", "c1", "--yes").exit_code == 0
    # Tool-wide entries (links and keys) belong to no platform: "platform -"; an id an entry lacks is "-" too.
    assert _audit_log(tool)[4:] == [
        "registration_invite_created\tplatform -\tcourse -\tactor -\tsubject -",
        "tool_key_added\tplatform -\tcourse -\tactor -\tsubject -",
        "tool_keys_replaced_after_leak\tplatform -\tcourse -\tactor -\tsubject -",
        f"platform_removed\tplatform {canvas}\tcourse -\tactor -\tsubject -"]


def test_a_removed_platforms_audit_entries_are_found_by_the_id_its_removal_printed(tool):
    # The LMS admin's walk: after `pathways platform remove`, `pathways audit list --platform ISSUER` said "No
    # platform is registered with that issuer" and nothing said how else to reach the entries the log still holds.
    import re

    assert run(tool, "platform", "add", *CANVAS, "--client-id", "c1", "--deployment-id", "1:abc").exit_code == 0
    removed = run(tool, "platform", "remove", "https://canvas.instructure.com", "c1", "--yes")
    assert removed.exit_code == 0
    found = re.search(r"Its audit entries stay: pathways audit list --platform (\d+)$", removed.output.strip())
    assert found, removed.output
    by_issuer = CliRunner().invoke(main, ["audit", "list", "--platform", "https://canvas.instructure.com"],
                                   obj=ScriptInfo(create_app=lambda: tool.app))
    assert by_issuer.exit_code != 0
    assert "A removed platform's entries are found by its Pathways id" in by_issuer.output
    by_id = run(tool, "audit", "list", "--platform", found.group(1))
    assert by_id.exit_code == 0
    assert [line.split("\t")[2] for line in reversed(by_id.output.splitlines())] == [
        "platform_added", "deployment_added", "platform_removed"]
    assert all(f"\tplatform {found.group(1)}\t" in line for line in by_id.output.splitlines())


def test_retiring_old_keys_and_approving_through_platform_add_are_audited(tool):
    from datetime import timedelta

    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Platform, ToolKey

    assert run(tool, "keys", "rotate").exit_code == 0
    with tool.app.app_context():
        # The new key signs once LMSs can have fetched it: make it old enough to sign now.
        for key in db.session.scalars(sa.select(ToolKey)):
            key.created_at -= timedelta(days=30)
        db.session.commit()
        db.session.remove()
    retired = run(tool, "keys", "rotate", "--retire")
    assert "Retired: " in retired.output and "nothing" not in retired.output.splitlines()[0], retired.output
    assert [line.split("\t")[0] for line in _audit_log(tool)] == ["tool_key_added", "tool_keys_retired"]

    # A platform that registered itself and waits for approval; `platform add` approves it (docs/admin/index.md).
    with tool.app.app_context():
        db.session.add(Platform(issuer="https://moodle.example", client_id="m1", name="Moodle",
                                auth_login_url="https://moodle.example/auth", auth_token_url="https://moodle.example/t",
                                key_set_url="https://moodle.example/jwks", approved=False))
        db.session.commit()
        db.session.remove()
    assert run(tool, "platform", "add", "--issuer", "https://moodle.example", "--client-id", "m1",
               "--deployment-id", "1", "--login-url", "https://moodle.example/auth",
               "--token-url", "https://moodle.example/t", "--jwks-url", "https://moodle.example/jwks").exit_code == 0
    assert [line.split("\t")[0] for line in _audit_log(tool)][2:] == ["deployment_added", "platform_approved"]


@pytest.mark.parametrize("course", ["\u00b2", "9" * 12, "9" * 5000])
def test_an_audit_course_that_is_no_pathways_id_is_read_as_a_context_id(tool, course):
    # "²" passes str.isdigit() and int() refuses it (a traceback), as it refuses 5,000 digits; twelve digits are
    # past the id columns (PostgreSQL refuses the query). Each is read as a context id no course has.
    result = run(tool, "audit", "list", "--course", course)
    assert result.exit_code == 0, result.output
    assert result.exception is None
