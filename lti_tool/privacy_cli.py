"""`pathways privacy …` and `pathways audit list`: export, delete and purge learners' data; read the audit log."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def shown_id(value: str) -> str:
    """Return an id as a terminal shows it safely: control characters as \\xNN (Pathways' stand-in ids have one)."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 32 or ord(c) == 127 else c for c in value)


def typed_id(value: str | None) -> str | None:
    """Return the id an operator typed, read back from `shown_id` where it is one of Pathways' stand-in ids.

    Only those are read back (the old shared course's, and a link's course without a context: `\\x1flink:<link
    id>`), as a shell makes typing a control character awkward; any other text is taken as it is, so a real
    context id with a backslash in it still names its course.
    """
    from .lti.claims import LINK_CONTEXT, link_context_id
    from .services.launches import LEGACY_SHARED_CONTEXT

    if value is not None and value.startswith(shown_id(LINK_CONTEXT)):
        # The link's id as typed: a long one's course is named by its SHA-256, as a launch names it.
        link_id = value.removeprefix(shown_id(LINK_CONTEXT))
        return LINK_CONTEXT + link_id if link_id.startswith("sha256:") else link_context_id(link_id)
    return LEGACY_SHARED_CONTEXT if value == shown_id(LEGACY_SHARED_CONTEXT) else value


def _user_options(command):
    for option in reversed([
        click.option("--platform", "issuer", required=True, help="The platform's issuer (iss)."),
        click.option("--client-id", required=True, help="The client id the platform gave Pathways."),
        click.option("--user", "sub", required=True, help="The platform's user id (the launch's `sub`)."),
        click.option("--context", "context_id", default=None, callback=lambda _c, _p, value: typed_id(value),
                     help="Only this course (its LTI context id, or the id `purge` shows); default: every course "
                          "on the platform."),
        click.option("--deployment-id", "--deployment", "deployment_id", default=None,
                     help="Only this deployment's courses (its LTI deployment id); required with --context when "
                          "several deployments of the platform have a course with that context id."),
    ]):
        command = option(command)
    return command


@click.group("privacy")
def privacy_group() -> None:
    """Export or delete a learner's data, and purge courses past the retention period."""


@privacy_group.command("export")
@_user_options
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the JSON here instead of to standard output.")
@with_appcontext
def privacy_export(issuer: str, client_id: str, sub: str, context_id: str | None, deployment_id: str | None,
                   out: str | None) -> None:
    """Export everything Pathways holds about a user as JSON."""
    from .services.errors import ServiceError
    from .services.privacy import export_user

    try:
        document = export_user(issuer, client_id, sub, context_id=context_id, deployment_id=deployment_id,
                               now=_now())
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(body, nl=False)
        return
    try:
        # A new file is readable by its owner only (0600): it holds a person's data, which the usual umask (022)
        # would have let every account on the server read. An existing file keeps the permissions it has.
        with open(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
            handle.write(body)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror}.") from None
    click.echo(f"Wrote the data of {sub} ({_courses(len(document['courses']))}) to {out}.", err=True)


def _courses(count: int) -> str:
    return "1 course" if count == 1 else f"{count} courses"


@privacy_group.command("delete")
@_user_options
@click.confirmation_option("--yes", prompt="Delete this user's data? This cannot be undone.")
@with_appcontext
def privacy_delete(issuer: str, client_id: str, sub: str, context_id: str | None, deployment_id: str | None) -> None:
    """Delete everything Pathways holds about a user (grades already in the LMS stay there)."""
    from .services.errors import ServiceError
    from .services.privacy import delete_user

    try:
        done = delete_user(issuer, client_id, sub, context_id=context_id, deployment_id=deployment_id, now=_now())
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Deleted the data of {sub} in {_courses(done.courses)}: {done.rows} records, "
               f"{done.pending_grades} unsent grade updates cancelled"
               + (", person anonymised" if done.anonymised else "") + ".")
    if done.in_flight:
        click.echo(f"{done.in_flight} grade updates were already being sent to the LMS and may still arrive there.")


@privacy_group.command("purge")
@click.option("--dry-run", is_flag=True,
              help="Only list the courses that would be deleted and count the people who would be anonymised. It "
                   "runs the purge and undoes it, so it holds the same locks while it runs: launches wait for it.")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Courses with no launch for this many days, at least 1 (default: PATHWAYS_RETENTION_DAYS).")
@with_appcontext
def privacy_purge(dry_run: bool, days: int | None) -> None:
    """Delete the data of courses nobody has launched for the retention period."""
    from .services.privacy import purge_inactive_courses

    days = current_app.config.get("RETENTION_DAYS", 0) if days is None else days
    if not days or days <= 0:
        click.echo("Retention is off (PATHWAYS_RETENTION_DAYS is 0): Pathways keeps course data until deleted.")
        return
    report = purge_inactive_courses(_now(), days, dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} {_courses(len(report.courses))} with no launch since {report.cutoff:%Y-%m-%d %H:%M} UTC.")
    for course in report.courses:
        last = f"{course.last_launch_at:%Y-%m-%d}" if course.last_launch_at else "never"
        click.echo(f"{course.course_id}\tplatform {course.platform_id}\t{shown_id(course.context_id)}\t{course.title}\t"
                   f"last launch {last}\t{course.students} students")
    if report.anonymised and dry_run:
        click.echo(f"Would anonymise {report.anonymised} people left with no course: their name, email and LMS "
                   "user id would be erased.")
    elif report.anonymised:
        click.echo(f"Anonymised {report.anonymised} people left with no course: their name, email and LMS user id "
                   "are erased.")


@click.group("audit")
def audit_group() -> None:
    """Read the audit log (ids and actions only)."""


@audit_group.command("list")
@click.option("--course", default=None, callback=lambda _c, _p, value: typed_id(value),
              help="Only this course: its LTI context id (or the id `purge` shows), or its Pathways id.")
@click.option("--platform", "issuer", default=None,
              help="Only this platform's entries: its issuer, or its Pathways id (a removed platform's, as "
                   "`platform remove` printed it); tells apart courses with the same context id.")
@click.option("--client-id", default=None, help="The client id the platform gave Pathways, with --platform.")
@click.option("--deployment-id", "--deployment", "deployment_id", default=None,
              help="Only this deployment's courses (its LTI deployment id).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@with_appcontext
def audit_list(course: str | None, issuer: str | None, client_id: str | None, deployment_id: str | None,
               limit: int) -> None:
    """List the newest audit entries: when, action, platform, course, actor and subject ids."""
    from .services.errors import ServiceError
    from .services.privacy import audit_entries

    try:
        entries = audit_entries(course=course, issuer=issuer, client_id=client_id, deployment_id=deployment_id,
                                limit=limit)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    if not entries:
        click.echo("No audit entries.")
    for entry in entries:
        # Platform 0 is the tool itself (its signing keys, registration links): no platform, "-"; so is any id an
        # entry has none of (an admin's command has no course, actor or subject).
        click.echo(f"{entry.id}\t{entry.at:%Y-%m-%d %H:%M:%S}\t{entry.action}\tplatform {entry.platform_id or '-'}\t"
                   f"course {_or_dash(entry.course_id)}\tactor {_or_dash(entry.actor_id)}\t"
                   f"subject {_or_dash(entry.subject_id)}")


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def register(cli: click.Group) -> None:
    """Add `privacy` and `audit` to the `pathways` command."""
    cli.add_command(privacy_group)
    cli.add_command(audit_group)
