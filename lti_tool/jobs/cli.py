"""`pathways worker [--once]`: drain the outbox (DESIGN.md §3)."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from ..stop_signal import stop_requested


@click.command("worker")
@click.option("--once", is_flag=True, help="Post everything queued (waiting out retries), then exit.")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Rows claimed per pass, at least 1 (default: PATHWAYS_WORKER_BATCH).")
@with_appcontext
def worker_command(once: bool, batch: int | None) -> None:
    """Post queued grades to the LMS; runs until stopped unless --once."""
    from .worker import drain

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    # systemd, Docker and Procfile hosts (and cron's time limits, for --once) stop a process with SIGTERM: finish
    # the pass under way (its grades recorded, its leases released), stop the running fit, and exit 0, not die
    # mid-pass with status 143. Ctrl+C still stops at once.
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: _stop_soon(stop))
    try:
        if stop_requested():  # a SIGTERM while the worker was starting (lti_tool/stop_signal.py)
            click.echo("Stopped before the first pass.")
            return
        if not once:
            click.echo("Pathways worker: posting grades from the outbox. Press Ctrl+C to stop.")
        try:
            stats = drain(app, once=once, batch=batch, stop=stop)
        except KeyboardInterrupt:
            click.echo("Stopped; rows being worked on are released when their lease expires.")
            return
    finally:
        signal.signal(signal.SIGTERM, previous)  # run in-process (a test, a script): its own handling again
    if stop.is_set():
        click.echo("Stopped after the pass under way.")
    click.echo(
        f"Posted {stats.posted} scores ({stats.duplicates} already there), {stats.superseded} superseded, "
        f"{stats.failed} failed, {stats.retries_scheduled} retries, {stats.not_needed} not needed (no grade yet and "
        f"none in the gradebook to change); {stats.token_requests} access token requests."
    )


def _stop_soon(stop: threading.Event) -> None:
    # Set from another thread: the handler runs in the main thread, which may be inside stop.wait() holding the
    # event's lock, and setting it here would wait for that lock forever.
    threading.Thread(target=stop.set, name="pathways-stop", daemon=True).start()
