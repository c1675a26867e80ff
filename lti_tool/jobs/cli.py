"""`pathways worker [--once]`: drain the outbox (DESIGN.md §3)."""

from __future__ import annotations

import signal

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Post everything queued (waiting out retries), then exit.")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Rows claimed per pass, at least 1 (default: PATHWAYS_WORKER_BATCH).")
@with_appcontext
def worker_command(once: bool, batch: int | None) -> None:
    """Post queued grades to the LMS; runs until stopped unless --once."""
    from .worker import drain

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not once:
        # systemd, Docker and Procfile hosts stop a process with SIGTERM: stop as on Ctrl+C (the running fit
        # told to stop, its database session closed) and exit 0, not die mid-pass with status 143.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        click.echo("Pathways worker: posting grades from the outbox. Press Ctrl+C to stop.")
    try:
        stats = drain(app, once=once, batch=batch)
    except KeyboardInterrupt:
        click.echo("Stopped; rows being worked on are released when their lease expires.")
        return
    click.echo(
        f"Posted {stats.posted} scores ({stats.duplicates} already there), {stats.superseded} superseded, "
        f"{stats.failed} failed, {stats.retries_scheduled} retries, {stats.not_needed} not needed (no grade yet and "
        f"none in the gradebook to change); {stats.token_requests} access token requests."
    )
