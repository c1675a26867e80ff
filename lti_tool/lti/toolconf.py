"""pylti1p3 ToolConf backed by the platform registry in the database.

Registrations are keyed by issuer + client id (check_iss_has_many_clients is always true) because every
Canvas Cloud tenant shares the issuer https://canvas.instructure.com.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from pylti1p3.actions import Action
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract

from ..extensions import db
from ..models import Deployment, Platform
from ..text import is_clean
from .keys import SigningKey
from .outbound import origin, origin_matches


def platform_origins(platform: Platform | RegisteredPlatform) -> list[str]:
    """Return the origins this platform lives on: its issuer, login, token and JWKS URLs, and admin-added ones."""
    return _origins(_origin_sources(platform))


def _origin_sources(platform: Platform | RegisteredPlatform) -> tuple[str | None, ...]:
    return (platform.issuer, platform.auth_login_url, platform.auth_token_url, platform.key_set_url,
            platform.service_origins)


def _origins(sources: tuple[str | None, ...]) -> list[str]:
    *urls, extra = sources
    # Stripped as the registration's own URLs are (below): a row stored before add_platform stripped them.
    return [o for o in (origin(u.strip()) for u in urls if u) if o] + (extra or "").split()


def platform_command(subcommand: str, *args: str) -> str:
    """Return a `pathways platform` command line for an admin to run, each argument quoted for the shell.

    The values come from a platform (a registering LMS chose its issuer's path and its client id): quoted, a
    `;`, `|` or `$(...)` in them stays part of one argument instead of becoming a command of its own.
    """
    return " ".join(["pathways platform", subcommand, *map(shlex.quote, args)])


def place_options(issuer: str, client_id: str, deployment_id: str) -> str:
    """Return the `--platform … --client-id … --deployment-id …` options naming one course's place, each value quoted
    for the shell as platform_command quotes its arguments (a platform chose them: a `;` or `$(...)` stays a value)."""
    return " ".join(["--platform", shlex.quote(issuer), "--client-id", shlex.quote(client_id),
                     "--deployment-id", shlex.quote(deployment_id)])


def add_origin_command(issuer: str, client_id: str, service_origin: str) -> str:
    """Return the command an admin runs to let this platform use this origin (refusals and logs name it)."""
    return platform_command("add-origin", issuer, client_id, service_origin)


def approve_command(platform: Platform) -> str:
    """Return the command an admin runs to let a platform that registered itself launch."""
    return platform_command("approve", platform.issuer, platform.client_id)


def add_deployment_command(platform: Platform, deployment_id: str) -> str:
    """Return the `pathways platform add` an admin runs to add a deployment to a platform, keeping its endpoints.

    `add` sets every endpoint it is given and the audience too (none given: none kept), so all are named.
    """
    args = ["--issuer", platform.issuer, "--client-id", platform.client_id, "--deployment-id", deployment_id,
            "--login-url", platform.auth_login_url, "--token-url", platform.auth_token_url,
            "--jwks-url", platform.key_set_url]
    if platform.auth_audience:
        args += ["--audience", platform.auth_audience]
    return platform_command("add", *args)


def on_platform(url: str | None, origins: list[str]) -> bool:
    """Tell whether a URL is http(s), without userinfo, on one of these origins."""
    return origin_matches(origin(url), origins)


class ToolRegistration(Registration):
    """A pylti1p3 Registration that knows our platform row and signs with a chosen tool key."""

    def __init__(self, platform: Platform | RegisteredPlatform,
                 signing_key: SigningKey | None | Callable[[], SigningKey | None]) -> None:
        super().__init__()
        self.platform_id = platform.id
        # Parsed when first asked (service calls, Deep Linking returns): a launch or a login never needs them.
        self._origin_sources = _origin_sources(platform)
        # Validating a launch never needs our private key; decrypting it only when a call is signed saves
        # work on every launch.
        self._signing_key_source = signing_key
        (
            self.set_issuer(platform.issuer)
            .set_client_id(platform.client_id)
            # Stripped: a row stored before add_platform stripped them may end in a space the outbound client,
            # which reads a URL as the connection will, refuses.
            .set_auth_login_url(platform.auth_login_url.strip())
            .set_auth_token_url(platform.auth_token_url.strip())
            .set_key_set_url(platform.key_set_url.strip())
        )
        if platform.auth_audience:
            self.set_auth_audience(platform.auth_audience)

    def _signing_key(self) -> SigningKey | None:
        if callable(self._signing_key_source):
            self._signing_key_source = self._signing_key_source()
        return self._signing_key_source

    def get_tool_private_key(self) -> str | None:
        key = self._signing_key()
        return key.private_pem if key else None

    def get_kid(self) -> str | None:
        # pylti1p3 derives no kid from a PEM; platforms need ours to pick the right key from our JWKS.
        key = self._signing_key()
        return key.kid if key else None

    @cached_property
    def origins(self) -> list[str]:
        """The origins of the platform as it was read (see platform_origins)."""
        return _origins(self._origin_sources)

    def owns(self, url: str | None) -> bool:
        """Tell whether a URL is on this platform's origins (service calls and Deep Linking returns)."""
        return on_platform(url, self.origins)

    def __repr__(self) -> str:
        return f"<ToolRegistration {self.get_issuer()} {self.get_client_id()}>"


# pylti1p3 and our own checks ask for the same platform and deployment rows up to eight times per launch.
# The rows found are kept on the database session, which lives for one request: every request still reads
# the registry afresh, so an admin's removal, approval or new deployment (CLI, another process) counts from
# the next request on, with no window of staleness. The memo is dropped at every commit or rollback (the rows
# are read again after), "not found" is never kept, and registry changes made through this session drop it at
# once (forget_registry_lookups).
_LOOKUPS = "pathways.registry_lookups"


@dataclass(frozen=True, slots=True)
class RegisteredPlatform:
    """A platform's registration as one request read it (a login or launch only reads it; admins edit Platform)."""

    id: int
    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None
    approved: bool
    service_origins: str | None


@dataclass(frozen=True, slots=True)
class RegisteredDeployment:
    """A deployment of a platform's registration as one request read it."""

    id: int
    platform_id: int
    deployment_id: str


_PLATFORM_COLUMNS = tuple(RegisteredPlatform.__slots__)
_DEPLOYMENT_COLUMNS = tuple(RegisteredDeployment.__slots__)


# Every login and launch runs these; built once, a statement's SQLAlchemy cache key is kept with it (building
# the select and its key again was about 85 µs of the 135 µs each lookup cost on SQLite). Plain rows, not ORM
# objects: a login or launch reads a registration and never changes it, and loading the objects into the
# session (identity map, state, expiry checks on each of the eight uses) cost more than the query.
@cache
def _platform_query() -> sa.Select:
    table = Platform.__table__
    return sa.select(*(table.c[name] for name in _PLATFORM_COLUMNS)).where(
        table.c.issuer == sa.bindparam("issuer"), table.c.client_id == sa.bindparam("client_id"))


@cache
def _deployment_query() -> sa.Select:
    table = Deployment.__table__
    return sa.select(*(table.c[name] for name in _DEPLOYMENT_COLUMNS)).where(
        table.c.platform_id == sa.bindparam("platform_id"), table.c.deployment_id == sa.bindparam("deployment_id"))


@cache
def _registration_query() -> sa.Select:
    platform, deployment = Platform.__table__, Deployment.__table__
    return (
        sa.select(*(platform.c[name] for name in _PLATFORM_COLUMNS),
                  *(deployment.c[name].label("deployment_" + name) for name in _DEPLOYMENT_COLUMNS))
        .select_from(platform)
        .outerjoin(deployment, sa.and_(deployment.c.platform_id == platform.c.id,
                                       deployment.c.deployment_id == sa.bindparam("deployment_id")))
        .where(platform.c.issuer == sa.bindparam("issuer"), platform.c.client_id == sa.bindparam("client_id"))
    )


def _memo() -> dict[tuple, Any]:
    return db.session.info.setdefault(_LOOKUPS, {})


def forget_registry_lookups() -> None:
    """Drop this session's remembered platform and deployment rows (the registry just changed)."""
    db.session.info.pop(_LOOKUPS, None)


@sa.event.listens_for(so.Session, "after_commit")
@sa.event.listens_for(so.Session, "after_rollback")
def _forget_at_transaction_end(session: so.Session) -> None:
    # What was read in a transaction that ended may have changed since: the next lookup reads it again.
    # (after_rollback also fires when a savepoint is rolled back: what was read inside it goes too.)
    session.info.pop(_LOOKUPS, None)


def _usable(*values: object) -> bool:
    # Unverified input (login parameters, token claims): PostgreSQL refuses NUL in a query.
    return all(value and isinstance(value, str) and is_clean(value) for value in values)


def prefetch_registration(issuer: object, client_id: object, deployment_id: object) -> None:
    """Read a platform and one of its deployments in one query into this request's memo.

    A login and a launch each ask for both (pylti1p3's registration, then the deployment); reading them
    together saves a round trip. What find_platform and find_deployment then return is what they would have
    read themselves; a missing deployment is not remembered (find_deployment asks again and finds None).
    """
    if not _usable(issuer, client_id, deployment_id):
        return
    memo, key = _memo(), ("platform", issuer, client_id)
    if memo.get(key) is not None:
        return
    found = db.session.execute(
        _registration_query(), {"issuer": issuer, "client_id": client_id, "deployment_id": deployment_id}
    ).first()
    if found is None:
        return
    platform = memo[key] = RegisteredPlatform(*found[:len(_PLATFORM_COLUMNS)])
    if found[len(_PLATFORM_COLUMNS)] is not None:
        memo[("deployment", platform.id, deployment_id)] = RegisteredDeployment(*found[len(_PLATFORM_COLUMNS):])


def find_platform(issuer: str | None, client_id: str | None) -> RegisteredPlatform | None:
    """Return the platform registered under this issuer and client id."""
    if not _usable(issuer, client_id):
        return None
    memo, key = _memo(), ("platform", issuer, client_id)
    platform = memo.get(key)
    if platform is None:
        row = db.session.execute(_platform_query(), {"issuer": issuer, "client_id": client_id}).first()
        platform = memo[key] = RegisteredPlatform(*row) if row is not None else None
    return platform


@cache
def _approved_clients_query() -> sa.Select:
    table = Platform.__table__
    return sa.select(table.c.client_id).where(table.c.issuer == sa.bindparam("issuer"),
                                              table.c.approved.is_(True)).limit(2)


def sole_client_id(issuer: object) -> str | None:
    """Return the client id of the only approved platform under this issuer; None when there are none or several.

    A login may leave out client_id (LTI Core 1.3 §4.1); then the issuer alone names the registration, but only
    when that is unambiguous: Canvas tenants share one issuer. Approved rows only: a registration still awaiting
    an admin must not block a known platform's logins, nor tell an anonymous visitor that it exists.
    """
    if not _usable(issuer):
        return None
    rows = db.session.execute(_approved_clients_query(), {"issuer": issuer}).all()
    return rows[0][0] if len(rows) == 1 else None


def find_deployment(platform_id: int, deployment_id: str | None) -> RegisteredDeployment | None:
    """Return the deployment row for this platform and deployment id."""
    if not _usable(deployment_id):
        return None
    memo, key = _memo(), ("deployment", platform_id, deployment_id)
    deployment = memo.get(key)
    if deployment is None:
        row = db.session.execute(_deployment_query(), {"platform_id": platform_id, "deployment_id": deployment_id}
                                 ).first()
        deployment = memo[key] = RegisteredDeployment(*row) if row is not None else None
    return deployment


DEPLOYMENT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"


def _deployment_asked(lookup: dict[str, Any]) -> object:
    """Return the deployment id a launch's token or a login's parameters name (what pylti1p3 passes us)."""
    body = lookup.get("jwt_body")
    if isinstance(body, dict):
        return body.get(DEPLOYMENT_CLAIM)
    request = lookup.get("request")
    if request is not None and lookup.get("action") == Action.OIDC_LOGIN:
        # Canvas sends deployment_id; the spec names it lti_deployment_id (PathwaysLogin.deployment_param).
        return request.get_param("lti_deployment_id") or request.get_param("deployment_id")
    return None


class DatabaseToolConf(ToolConfAbstract):
    """Look registrations and deployments up in the database on each call (rows may change at any time)."""

    def __init__(self, signing_key_provider) -> None:
        super().__init__()
        self._signing_key_provider = signing_key_provider

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        # Never guess a client id from the issuer alone: Canvas tenants share one issuer.
        raise LookupError("Pathways always looks registrations up by issuer and client id")

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> ToolRegistration | None:
        # The deployment is asked for next (login and launch alike): read it with the platform.
        prefetch_registration(iss, client_id, _deployment_asked(kwargs))
        platform = find_platform(iss, client_id)
        if platform is None:
            return None
        return ToolRegistration(platform, self._signing_key_provider)

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        raise LookupError("Pathways always looks deployments up by issuer, client id and deployment id")

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        platform = find_platform(iss, client_id)
        if platform is None or find_deployment(platform.id, deployment_id) is None:
            return None
        return LtiDeployment().set_deployment_id(deployment_id)
