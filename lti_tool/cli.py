"""The `pathways` command: demo, run, db, platform, keys (DESIGN.md §3)."""

from __future__ import annotations

import copy
import logging
import os
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate.cli import db as migrate_db_group

from . import create_app
from .course_cli import register as register_course_commands
from .jobs.cli import worker_command
from .privacy_cli import register as register_privacy_commands
from .settings import InvalidSetting


def _app_from_env(*, demo_secret: bool = True):
    """Build the app for an admin command; in a demo folder, use the demo's secret (instance/secret_key)."""
    overrides: dict[str, object] = {}
    command = click.get_current_context(silent=True)
    if command is None or command.info_name not in ("worker", "run"):
        # A migration or a course copy may rightly run a statement longer than a page ever would: the deadline
        # that keeps a silent database from holding pages and the worker (db_deadline.py) is not theirs.
        overrides["DATABASE_STATEMENT_DEADLINE_SECONDS"] = 0
    instance = os.environ.get("PATHWAYS_INSTANCE_PATH") or "instance"
    secret_file = os.path.join(instance, "secret_key")
    if demo_secret and not os.environ.get("PATHWAYS_SECRET_KEY") and os.path.isfile(secret_file):
        with open(secret_file) as handle:
            overrides["SECRET_KEY"] = handle.read().strip()
    return _create_app(overrides)


def _create_app(overrides: dict[str, object]) -> Flask:
    """create_app for a command: a setting Pathways cannot start with is one plain line, not a traceback."""
    try:
        return create_app(overrides)
    except InvalidSetting as exc:
        raise click.ClickException(str(exc)) from None


def _version() -> str:
    try:
        return version("pathways-lti")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def _load_env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Set the env file's variables that the environment does not already set (as Flask's --env-file would).

    Read with python-dotenv, as Flask's own option does, but a line it cannot read is refused with its number
    rather than skipped with a log warning: a setting the admin wrote is never silently lost.
    """
    if value is None:
        return None
    from dotenv.parser import parse_stream

    settings: dict[str, str] = {}
    try:
        with open(value, encoding="utf-8") as stream:
            for binding in parse_stream(stream):
                if binding.error:
                    raise click.BadParameter(f"{value}: line {binding.original.line} is not KEY=VALUE: "
                                             f"{binding.original.string.strip()[:60]!r}", ctx=ctx, param=param)
                if binding.key is not None and binding.value is not None:
                    settings[binding.key] = binding.value
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{value}: {exc}", ctx=ctx, param=param) from None
    for key, setting in settings.items():
        os.environ.setdefault(key, setting)
    return value


# Eager, so the variables are set before any command builds the app (and before gunicorn forks its workers).
_ENV_FILE_OPTION = click.Option(
    ["-e", "--env-file"], type=click.Path(exists=True, dir_okay=False), is_eager=True, expose_value=False,
    callback=_load_env_file,
    help="Read PATHWAYS_* settings from this env file (KEY=VALUE lines, as config/pathways.example.env); "
         "variables already set in the environment win.")


class PathwaysGroup(FlaskGroup):
    """Flask's CLI group, but listing commands (--help) never builds the app (no database, no secret)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Flask's -e skips a line python-dotenv cannot read (a log warning); ours refuses the file, naming the line.
        self.params = [_ENV_FILE_OPTION if p.name == "env_file" else _hidden(p) if p.name == "app" else p
                       for p in self.params]

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(click.Group.list_commands(self, ctx))

    def invoke(self, ctx: click.Context):
        # A database or cache that cannot be reached is the admin's to fix: one line saying which, no traceback.
        from sqlalchemy.exc import OperationalError

        from .errors import database_conflict

        try:
            return super().invoke(ctx)
        except OperationalError as exc:
            if database_conflict(exc):  # the database answered: two writers met, and a second run will do
                raise click.ClickException(
                    f"Another change to the same data was under way ({_conflict_reason(exc)}); run the command "
                    "again.") from None
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise click.ClickException(
                f"The database could not be used ({reason}). Check PATHWAYS_DATABASE_URL, that the database "
                "server is running, and that `pathways db upgrade` has been run.") from None
        except _redis_errors() as exc:
            raise click.ClickException(f"The cache could not be reached ({exc}). Check PATHWAYS_REDIS_URL and "
                                       "that the Redis server is running.") from None


def _conflict_reason(exc: BaseException) -> str:
    """Name the conflict in a few words (the driver's first line: "deadlock detected", "database is locked")."""
    return str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()[0]


def _hidden(option: click.Parameter) -> click.Parameter:
    """Flask's --app still works (tests, `flask --app`), but `pathways` is always Pathways: not offered in --help."""
    copied = copy.copy(option)
    copied.hidden = True
    return copied


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # no Redis client installed: no Redis errors either
        return ()
    return (RedisConnectionError, RedisTimeoutError)


# load_dotenv=False: no ./.env or ./.flaskenv read behind the admin's back (from whatever folder a command runs
# in); settings come from the environment or `-e FILE`.
@click.group(cls=PathwaysGroup, create_app=_app_from_env, add_version_option=False, load_dotenv=False)
@click.version_option(_version(), "--version", prog_name="pathways", message="%(prog)s %(version)s")
def main() -> None:
    """Pathways, a personalized-learning LTI 1.3 tool."""


main.add_command(worker_command)
register_privacy_commands(main)
register_course_commands(main)


class HelpFirstGroup(click.Group):
    """A group whose subcommands' --help is answered before the group's own callback runs.

    Click runs a group's callback before it parses the subcommand's options; Flask-Migrate's `db` callback
    needs the app (and so a secret), so `db upgrade --help` would fail where help is promised to work.
    """

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and any(arg in ctx.help_option_names for arg in rest):
            command.make_context(name, list(rest), parent=ctx)  # prints the help and exits
        return name, command, rest


# Flask-Migrate adds `db` to each app's own commands; named here too, `pathways db --help` needs no app.
main.add_command(HelpFirstGroup("db", callback=migrate_db_group.callback, params=migrate_db_group.params,
                                commands=migrate_db_group.commands, help=migrate_db_group.help))


@main.command("demo", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """Create the SQLite database if missing, seed the sandbox LMS, and serve the demo."""
    from flask_migrate import upgrade

    from .sandbox_mount import connect_sandbox

    base_url = os.environ.get("PATHWAYS_BASE_URL") or f"http://{host}:{port}"
    # The demo's LMS is the sandbox on this same loopback server: let the outbound client call loopback.
    networks = os.environ.get("PATHWAYS_OUTBOUND_ALLOWED_NETWORKS") or "127.0.0.0/8 ::1/128"
    # One process serves the demo and runs its worker, so launch state can stay in memory (settings.py).
    app = _create_app({"SANDBOX_ENABLED": True, "BASE_URL": base_url, "DEFAULT_COURSE_PACK": "demo",
                       "OUTBOUND_ALLOWED_NETWORKS": networks, "IN_PROCESS_CACHE": True})
    with app.app_context():
        upgrade()
        connect_sandbox(app)
    click.echo(f"Pathways demo: open {base_url}/ (the sandbox LMS) and launch as a teacher or a student.")
    click.echo("Press Ctrl+C to stop.")
    # The demo posts grades to the sandbox gradebook as a real deployment's `pathways worker` would.
    from .jobs.worker import start_background_worker

    start_background_worker(app)
    # app.run() refuses to serve under the flask CLI; call the server it would have used.
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.command("example", with_appcontext=False)
@click.argument("name", required=False)
def example(name: str | None) -> None:
    """Print an example configuration file (env file, systemd units, Procfile, gunicorn settings, platform
    endpoints); without NAME, list them.

    \b
    pathways example pathways.example.env > /etc/pathways.env && chmod 600 /etc/pathways.env
    pathways example pathways-web.service > /etc/systemd/system/pathways-web.service
    """
    from .paths import CONFIG_EXAMPLES_DIR

    # The docs name these files as config/NAME (their place in a clone); a wheel carries them in the package.
    names = sorted(p.name for p in CONFIG_EXAMPLES_DIR.iterdir() if p.is_file()) if CONFIG_EXAMPLES_DIR.is_dir() \
        else []
    if name is None:
        for known in names:
            click.echo(known)
        return
    wanted = name.removeprefix("config/")
    if wanted not in names:
        raise click.UsageError(f"No example named {name!r}. These are: {', '.join(names) or 'none'}.")
    click.echo((CONFIG_EXAMPLES_DIR / wanted).read_text(encoding="utf-8"), nl=False)


@main.command("serve", with_appcontext=False)
@click.option("--bind", default=None, help="Address to listen on, e.g. 0.0.0.0:8000 [default: PATHWAYS_WEB_BIND].")
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Worker processes [default: PATHWAYS_WEB_WORKERS, or 2 x CPUs + 1].")
def serve(bind: str | None, workers: int | None) -> None:
    """Serve Pathways in production: gunicorn with the packaged configuration (lti_tool/gunicorn_conf.py)."""
    from .serve import serve as run_gunicorn
    from .settings import from_environment, refuse_demo_settings

    try:
        # Before the app is made: with one of these on, it would make a secret of its own in ./instance.
        refuse_demo_settings(from_environment())
    except InvalidSetting as exc:
        raise click.ClickException(str(exc)) from None
    # Fail here, in one line, on a missing secret rather than in every worker. Unlike admin commands, the
    # server never falls back to a demo folder's secret: production takes its secret from the environment.
    app = _app_from_env(demo_secret=False)
    if app.config["IN_PROCESS_CACHE"] and not app.config["REDIS_URL"]:
        # Each worker would keep its own launch state: a login begun in one fails in the next.
        raise click.UsageError("PATHWAYS_IN_PROCESS_CACHE is for `pathways demo` (one process); "
                               "`pathways serve` runs several workers. Unset it (or set PATHWAYS_REDIS_URL).")
    run_gunicorn(bind=bind, workers=workers)


@main.group("platform")
def platform_group() -> None:
    """Register, list and remove LMS platforms."""


@platform_group.command("add")
@click.option("--issuer", required=True,
              help="The platform's issuer (iss), an https URL, e.g. https://canvas.instructure.com")
@click.option("--client-id", required=True, help="The client id the platform gave Pathways.")
@click.option("--deployment-id", "deployment_ids", multiple=True, required=True,
              help="A deployment id; repeat for several.")
@click.option("--login-url", required=True, help="The platform's OIDC authorization (auth) endpoint.")
@click.option("--token-url", required=True, help="The platform's OAuth2 token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public key set URL.")
@click.option("--name", default=None, help="A name to show admins.")
@click.option("--audience", default=None, help="Token endpoint audience, if the platform wants one (Moodle).")
@click.option("--service-origin", "service_origins", multiple=True,
              help="Another origin where the platform's NRPS/AGS services or Deep Linking return live "
                   "(e.g. https://school.instructure.com); repeat for several.")
@with_appcontext
def platform_add(issuer, client_id, deployment_ids, login_url, token_url, jwks_url, name, audience,
                 service_origins) -> None:
    """Register a platform (approved), add deployments to it, or change its endpoints (audited)."""
    from .exposure import is_loopback_host
    from .services.errors import ServiceError
    from .services.registry import add_platform

    parts = urlsplit(issuer)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        # Real platforms' issuers are https URLs (LTI Core §5.1.2); plain http only for an LMS on this host.
        raise click.BadParameter(f"use the platform's https issuer URL, got {issuer!r}", param_hint="'--issuer'")
    try:
        platform = add_platform(
            issuer=issuer, client_id=client_id, deployment_ids=deployment_ids, login_url=login_url,
            token_url=token_url, jwks_url=jwks_url, name=name, audience=audience,
            service_origins=service_origins or None,
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    deployments = ", ".join(d.deployment_id for d in platform.deployments)
    click.echo(f"Registered {platform.name} (issuer {platform.issuer}, client id {platform.client_id}); "
               f"deployments: {deployments}")


@platform_group.command("add-origin")
@click.argument("issuer")
@click.argument("client_id")
@click.argument("service_origins", nargs=-1, required=True)
@with_appcontext
def platform_add_origin(issuer: str, client_id: str, service_origins: tuple[str, ...]) -> None:
    """Add service origins (e.g. https://school.instructure.com) to a platform, keeping the ones it has (audited).

    The platform's roster, gradebook and Deep Linking return may then be on them, and its pages there may frame
    Pathways.
    """
    from .services.errors import ServiceError
    from .services.registry import add_service_origins

    try:
        platform = add_service_origins(issuer, client_id, service_origins)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{platform.name} (issuer {platform.issuer}, client id {platform.client_id}): service origins "
               f"{platform.service_origins or '(none)'}")


@platform_group.command("list")
@with_appcontext
def platform_list() -> None:
    """List registered platforms and their deployments."""
    from .services.registry import list_platforms
    from .text import escape_unprintable as shown

    platforms = list_platforms()
    if not platforms:
        click.echo("No platforms registered. Add one with `pathways platform add`.")
    for platform in platforms:
        # Escaped: a registering LMS chose these values, and a tab, line break or terminal escape in one (a row
        # stored before registration refused them) must not forge a column or a line of this listing.
        deployments = ", ".join(shown(d.deployment_id) for d in platform.deployments) or "(none)"
        state = "" if platform.approved else "\tAWAITING APPROVAL (pathways platform approve ISSUER CLIENT_ID)"
        click.echo(f"{shown(platform.issuer)}\t{shown(platform.client_id)}\t{shown(platform.name)}\t"
                   f"deployments: {deployments}{state}")


_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400}


def _duration(value: str) -> timedelta:
    """Parse 30m, 12h or 7d."""
    try:
        amount, unit = int(value[:-1]), value[-1].lower()
        duration = timedelta(seconds=amount * _DURATION_UNITS[unit])
        datetime.now(UTC) + duration  # a date this far away can be written down (not past the year 9999)
        return duration
    except (ValueError, KeyError, IndexError, OverflowError) as exc:
        raise click.BadParameter(f"use a number and m, h or d (e.g. 7d), got {value!r}") from exc


@platform_group.command("invite")
@click.option("--issuer-prefix", default=None,
              help="Only an LMS whose issuer is this URL or under it may use the link, e.g. https://moodle.school.edu")
@click.option("--expires", default="7d", show_default=True, callback=lambda _c, _p, value: _duration(value),
              help="How long the link stays valid (30m, 12h, 7d).")
@click.option("--approved", is_flag=True,
              help="The platform may launch as soon as it registers (otherwise: pathways platform approve).")
@with_appcontext
def platform_invite(issuer_prefix: str | None, expires: timedelta, approved: bool) -> None:
    """Print a one-time dynamic registration URL to paste into the LMS's "register a tool" form."""
    from urllib.parse import urlencode

    from .exposure import is_loopback_host
    from .services.errors import ServiceError
    from .services.registry import create_invite
    from .settings import base_url_is_set

    base_url = current_app.config["BASE_URL"]
    if not base_url_is_set(current_app.config):
        # The built-in default is this machine's own address: a link on it is one no LMS can open, and an admin
        # pasting it would only learn so from the LMS's failure. No link is made.
        raise click.ClickException(
            f"PATHWAYS_BASE_URL is not set, so the link would start with {base_url}, an address only this machine "
            "reaches: no LMS could open it. Set PATHWAYS_BASE_URL to the address LMSs reach Pathways at (e.g. "
            "https://pathways.example.edu) in the environment or the env file (pathways -e FILE platform invite), "
            "then run this again.")
    try:
        token = create_invite(expires_in=expires, issuer_prefix=issuer_prefix, approve=approved)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(base_url + "/lti/register?" + urlencode({"invite": token}))
    click.echo(f"Valid once, for {expires}. Paste it into the LMS as the tool's registration URL."
               + ("" if approved else " Then approve the new platform: pathways platform approve ISSUER CLIENT_ID"),
               err=True)
    if is_loopback_host(urlsplit(base_url).hostname or ""):
        click.echo(f"Note: {base_url} is reachable only from this machine, so only an LMS running here can use the "
                   "link. For any other LMS, set PATHWAYS_BASE_URL to Pathways' public address and make a new link.",
                   err=True)


@platform_group.command("approve")
@click.argument("issuer")
@click.argument("client_id")
@with_appcontext
def platform_approve(issuer: str, client_id: str) -> None:
    """Let a platform that registered itself launch Pathways."""
    from .services.errors import ServiceError
    from .services.registry import approve_platform

    try:
        platform = approve_platform(issuer, client_id)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Approved {platform.name} (issuer {platform.issuer}, client id {platform.client_id}).")


@platform_group.command("remove")
@click.argument("issuer")
@click.argument("client_id")
@click.confirmation_option(prompt="Remove this platform and all data recorded under it?")
@with_appcontext
def platform_remove(issuer: str, client_id: str) -> None:
    """Remove a platform registration and everything recorded under it."""
    from .services.errors import ServiceError
    from .services.registry import remove_platform

    try:
        platform_id = remove_platform(issuer, client_id)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    # The issuer names no platform any more; the audit log keeps the id.
    click.echo(f"Removed {issuer} {client_id}. Its audit entries stay: pathways audit list --platform {platform_id}")


@main.group("keys")
def keys_group() -> None:
    """Manage the tool's signing keys."""


@keys_group.command("rotate")
@click.option("--retire", is_flag=True,
              help="Instead of making a key, retire the keys older than the one that signs now.")
@click.option("--compromised", is_flag=True,
              help="A private key leaked: make a new key that signs at once and retire every other key now.")
@with_appcontext
def keys_rotate(retire: bool, compromised: bool) -> None:
    """Publish a new signing key; it signs once LMSs can have fetched it (PATHWAYS_KEY_SIGNS_AFTER_SECONDS).

    Until then the key before it signs. Once the new key signs, --retire unpublishes the older keys; it never
    retires the key that signs. --compromised is for a leaked key: nothing it signed is trusted from now on.
    """
    from .lti.keys import SecretKeyMismatch, current_signing_key, signs_from
    from .models.base import utcnow
    from .services.registry import replace_leaked_tool_keys, retire_old_tool_keys, rotate_tool_key

    secret_key = current_app.config["SECRET_KEY"]
    if retire and compromised:
        raise click.UsageError("Use --retire or --compromised, not both.")
    if compromised:
        key, retired = replace_leaked_tool_keys(secret_key, utcnow())
        click.echo(f"New key {key.kid} signs now; retired: {', '.join(retired) if retired else 'nothing'}. LMSs that "
                   "still hold the old key set refuse grade and roster calls until they fetch /lti/jwks again "
                   "(grades wait and are retried; roster syncs can be run again).")
        return
    if retire:
        try:
            retired = retire_old_tool_keys(secret_key, utcnow())
        except SecretKeyMismatch as exc:  # no key this secret can read signs: retiring would leave none
            raise click.ClickException(str(exc)) from exc
        click.echo("Retired: " + (", ".join(retired) if retired else "nothing"))
        _say_which_key_signs(secret_key)
        return
    key = rotate_tool_key(secret_key)
    signing = current_signing_key(secret_key)
    if signing is not None and signing.kid == key.kid:
        click.echo(f"New key {key.kid} is published in /lti/jwks and signs now (no older key can sign).")
        return
    click.echo(f"New key {key.kid} is published in /lti/jwks now. It signs from {signs_from(key):%Y-%m-%d %H:%M} "
               f"UTC, when LMSs that keep a copy of the key set have fetched it; until then key {signing.kid} "
               "signs. After that, `pathways keys rotate --retire` unpublishes the older keys.")


def _say_which_key_signs(secret_key: str) -> None:
    """Tell which key signs now, and when a newer key still waiting will."""
    from .lti.keys import active_keys, current_signing_key, signs_from

    signing = current_signing_key(secret_key)
    if signing is None:
        return
    click.echo(f"Signing key: {signing.kid}.")
    waiting = [key for key in active_keys() if key.kid != signing.kid]
    if waiting:
        newest = waiting[0]
        click.echo(f"Key {newest.kid} signs from {signs_from(newest):%Y-%m-%d %H:%M} UTC; run "
                   "`pathways keys rotate --retire` again after that to retire the older keys.")


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """List the tool's keys (ids and dates only), and which one signs."""
    import sqlalchemy as sa

    from .extensions import db
    from .lti.keys import SecretKeyMismatch, current_signing_key, signs_from
    from .models import ToolKey

    try:
        signing = current_signing_key(current_app.config["SECRET_KEY"])
    except SecretKeyMismatch:
        signing = None  # the list still shows the keys; `pathways doctor` says what to do
    for key in db.session.scalars(sa.select(ToolKey).order_by(ToolKey.id)):
        if key.retired_at:
            state = f"retired {key.retired_at:%Y-%m-%d}"
        elif signing is not None and key.kid == signing.kid:
            state = "active, signs"
        else:
            state = f"active, signs from {signs_from(key):%Y-%m-%d %H:%M} UTC"
        click.echo(f"{key.kid}\tcreated {key.created_at:%Y-%m-%d %H:%M}\t{state}")


@main.command("doctor")
@with_appcontext
def doctor() -> None:
    """Check this deployment's configuration and say what is wrong, in plain words."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .extensions import db
    from .services.doctor import examine

    migrate_config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(migrate_config).get_current_head()
    # Alembic logs "Context impl …" at INFO when it reads the revision: noise above the findings an admin reads.
    alembic_log = logging.getLogger("alembic.runtime.migration")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        with db.engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except Exception:  # noqa: BLE001 - examine() reports the unreachable database in words
        revision = None
    finally:
        alembic_log.setLevel(level)
    findings = examine(current_app.config, now=datetime.now(UTC).replace(tzinfo=None), migration_head=head,
                       db_revision=revision)
    for finding in findings:
        click.echo(("ok       " if finding.ok else "PROBLEM  ") + finding.check)
        if finding.advice:
            click.echo("         " + finding.advice)
    problems = sum(not f.ok for f in findings)
    click.echo(f"{problems} problem{'s' if problems != 1 else ''} found.")
    if problems:
        raise SystemExit(1)


# Flask's own commands, which `flask --app lti_tool` has already.
_FLASK_COMMANDS = frozenset({"run", "shell", "routes"})


def register_app_commands(app: Flask) -> None:
    """Give `flask --app lti_tool` the commands of `pathways` (DESIGN.md §3): the same command objects."""
    for name, command in main.commands.items():
        if name not in _FLASK_COMMANDS and name not in app.cli.commands:
            app.cli.add_command(command, name)
