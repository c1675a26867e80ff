"""`pathways course import|export`: load a course's content from a file, or write it out (DESIGN.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from .privacy_cli import shown_id, typed_id


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _course_options(command):
    for option in reversed([
        click.option("--context", "context_id", required=True, callback=lambda _c, _p, value: typed_id(value),
                     help="The course's LTI context id (a link's course without one: `\\x1flink:<link id>`)."),
        click.option("--platform", "issuer", default=None,
                     help="The platform's issuer (iss), when several platforms have a course with this context id."),
        click.option("--client-id", default=None, help="The client id the platform gave Pathways."),
        click.option("--deployment-id", default=None, help="The deployment id, when the platform has several."),
    ]):
        command = option(command)
    return command


@click.group("course")
def course_group() -> None:
    """Import or export a course's content (course pack, Moodle competency CSV, CASE package); fit its model."""


@course_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@_course_options
@with_appcontext
def course_import(path: str, context_id: str, issuer: str | None, client_id: str | None,
                  deployment_id: str | None) -> None:
    """Import PATH into a course: a course pack replaces its content; a CSV or CASE package adds skills."""
    from .services.course_map import find_course, import_file
    from .services.errors import ServiceError

    try:
        course = find_course(context_id, issuer=issuer, client_id=client_id, deployment_id=deployment_id)
        result = import_file(course.id, Path(path).name, Path(path).read_bytes(), now=_now())
    except ServiceError as exc:
        problems = getattr(exc, "problems", None)
        message = "\n".join(["The file was not imported:", *(f"- {p}" for p in problems)]) if problems else exc.message
        raise click.ClickException(message) from exc
    pack = result.pack
    if result.merged:
        click.echo(f"Added {result.skills_added} skills from the {result.source} to “{pack.course.title}” "
                   f"({len(pack.skills)} skills now).")
    else:
        click.echo(f"Imported “{pack.course.title}” from the {result.source} into {shown_id(context_id)}: "
                   f"{len(pack.skills)} skills, {len(pack.activities)} activities.")
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    for warning in pack.warnings():
        click.echo(f"Warning: {warning}", err=True)


@course_group.command("export")
@_course_options
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output; a .csv name writes the skills as CSV.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None,
              help="json: the course pack (default); csv: the skills as a Moodle competency framework.")
@with_appcontext
def course_export(context_id: str, issuer: str | None, client_id: str | None, deployment_id: str | None,
                  out: str | None, fmt: str | None) -> None:
    """Write a course's content as a course pack (JSON) or its skills as a Moodle competency CSV."""
    from .services.course_map import export_text, find_course
    from .services.errors import ServiceError

    fmt = fmt or ("csv" if out and out.lower().endswith(".csv") else "json")
    try:
        course = find_course(context_id, issuer=issuer, client_id=client_id, deployment_id=deployment_id)
        body = export_text(course.id, fmt)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    if out is None:
        click.echo(body, nl=False)
        return
    try:
        Path(out).write_text(body, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror}.") from None
    click.echo(f"Wrote the {'skills' if fmt == 'csv' else 'course pack'} of {shown_id(context_id)} to {out}.", err=True)


@course_group.command("fit")
@_course_options
@with_appcontext
def course_fit(context_id: str, issuer: str | None, client_id: str | None, deployment_id: str | None) -> None:
    """Fit the course's mastery model from its own answers now (the worker also does it daily)."""
    from .services.course_map import find_course
    from .services.errors import ServiceError
    from .services.model_fitting import fit_course_model

    try:
        course = find_course(context_id, issuer=issuer, client_id=client_id, deployment_id=deployment_id)
        summary = fit_course_model(course.id, _now())
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    if summary.fitted:
        click.echo(f"Fitted the mastery model of {shown_id(context_id)} (revision {summary.revision}) on "
                   f"{summary.responses} answers by {summary.learners} learners.")
    else:
        click.echo(f"{shown_id(context_id)} has {summary.responses} answers, too few to fit; it keeps the starting "
                   f"model (revision {summary.revision}).")


def register(cli: click.Group) -> None:
    """Add `course` to the `pathways` command."""
    cli.add_command(course_group)
