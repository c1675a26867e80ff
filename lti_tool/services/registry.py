"""Platform registry and tool-key use cases (the admin's `pathways platform` and `pathways keys`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..lti.keys import active_keys, current_signing_key, new_tool_key
from ..lti.outbound import (
    ORIGIN_BAD_HOST,
    ORIGIN_BAD_WILDCARD,
    ORIGIN_HAS_SPACE,
    ORIGIN_NOT_BARE,
    OriginRefused,
    OutboundSession,
    origin,
    origin_matches,
    service_csp_origin,
)
from ..lti.toolconf import forget_registry_lookups
from ..models import AuditEntry, Deployment, Platform, RegistrationInvite, ToolKey
from ..models.base import utcnow
from ..security import forget_frame_ancestors
from .errors import N_, NotFound, ServiceError


def add_platform(
    *,
    issuer: str,
    client_id: str,
    deployment_ids: Iterable[str],
    login_url: str,
    token_url: str,
    jwks_url: str,
    name: str | None = None,
    audience: str | None = None,
    service_origins: Iterable[str] | None = None,
    now: datetime | None = None,
    audit: bool = True,
) -> Platform:
    """Register a platform as an admin (approved), or change one; the audit log records what changed.

    A new platform, each deployment added, an approval (a platform that registered itself and waited) and a
    change of endpoints each get an entry, as the web's dynamic registration does. `audit=False` only for the
    sandbox LMS that `pathways demo` and the tests connect on start (no administrator acted).
    """
    # A space pasted with a URL is no part of it (the outbound client refuses a URL with one: lti/outbound.py).
    login_url, token_url, jwks_url = login_url.strip(), token_url.strip(), jwks_url.strip()
    for label, url in (("login URL", login_url), ("token URL", token_url), ("JWKS URL", jwks_url)):
        if not url.startswith(("https://", "http://")) or origin(url) is None:
            raise ServiceError(f"The {label} must be an http(s) URL without a user name or password, got {url!r}.")
    if not issuer or not client_id:
        raise ServiceError("An issuer and a client id are required.")
    # The issuer is compared, never fetched, but a launch's `iss` is always a URL (LTI Core §5.1.2): anything
    # else is a typo, or the client id pasted in the wrong box, and no launch could ever match it.
    if not issuer.startswith(("https://", "http://")) or origin(issuer) is None:
        raise ServiceError(f"The issuer must be an http(s) URL without a user name or password, got {issuer!r}.")
    extra = _service_origins(service_origins)
    platform = _platform(issuer, client_id)
    changed = False
    added = platform is None
    approving = platform is not None and not platform.approved
    if platform is None:
        platform = Platform(issuer=issuer, client_id=client_id)
        db.session.add(platform)
    else:
        changed = (platform.auth_login_url, platform.auth_token_url, platform.key_set_url, platform.auth_audience,
                   platform.service_origins) != (login_url, token_url, jwks_url, audience,
                                                 extra if service_origins is not None else platform.service_origins)
    platform.name = name or platform.name or issuer
    platform.auth_login_url = login_url
    platform.auth_token_url = token_url
    platform.key_set_url = jwks_url
    platform.auth_audience = audience
    if service_origins is not None:
        platform.service_origins = extra
    platform.approved = True  # an admin added it by hand
    db.session.flush()
    known = {d.deployment_id for d in platform.deployments}
    new_deployments = 0
    for deployment_id in deployment_ids:
        if deployment_id and deployment_id not in known:
            platform.deployments.append(Deployment(deployment_id=deployment_id))
            known.add(deployment_id)
            new_deployments += 1
    if audit:
        # Ids only, as every audit entry: the platform's id; `pathways platform list` says what it is now.
        actions = (["platform_added"] if added else []) + ["deployment_added"] * new_deployments + (
            ["platform_approved"] if approving else []) + (["platform_endpoints_changed"] if changed else [])
        for action in actions:
            _audit_platform(platform, action, now)
    db.session.commit()
    forget_frame_ancestors()
    forget_registry_lookups()
    return platform


def add_service_origins(issuer: str, client_id: str, origins: Iterable[str], *,
                        now: datetime | None = None) -> Platform:
    """Add origins to a platform's service origins, keeping everything else it has (an admin's change, audited).

    What `pathways platform add-origin` runs: the one step a refusal names (lti.toolconf.add_origin_command),
    without retyping the platform's endpoints.
    """
    platform = _platform(issuer, client_id)
    if platform is None:
        raise NotFound(f"No platform is registered with issuer {issuer!r} and client id {client_id!r}.")
    kept = (platform.service_origins or "").split()
    new = [o for o in (_service_origins(origins) or "").split() if o not in kept]
    if new:
        platform.service_origins = " ".join(kept + new)
        _audit_platform(platform, "platform_endpoints_changed", now)
        db.session.commit()
        forget_frame_ancestors()
        forget_registry_lookups()
    return platform


def _service_origins(values: Iterable[str] | None) -> str | None:
    """Return the admin's extra service origins as stored (space-separated, each once), refusing anything but
    origins."""
    cleaned: list[str] = []
    for value in values or []:
        where = service_origin(value)
        if where not in cleaned:
            cleaned.append(where)
    return " ".join(cleaned) or None


def service_origin(value: str) -> str:
    """Return an admin's service origin as stored and written into frame-ancestors, or refuse it (ServiceError).

    scheme://host[:port], no path; a host with capitals is stored in lowercase and an internationalised one in
    punycode (https://bücher.de is https://xn--bcher-kva.de), as browsers name it. One "*." first label covers a
    domain's subdomains (https://*.instructure.com); no other "*". The normalising is lti.outbound's
    service_csp_origin, which frame-ancestors reads stored origins through too: what is stored is what frames.
    """
    try:
        return service_csp_origin(value)
    except OriginRefused as refused:
        raise ServiceError(_REFUSED_ORIGIN[refused.reason].format(value=value)) from refused


_REFUSED_ORIGIN = {
    ORIGIN_HAS_SPACE: "A service origin is one scheme://host[:port] without spaces (give several as separate values), "
                      "got {value!r}.",
    ORIGIN_NOT_BARE: "A service origin is scheme://host[:port] (no path), got {value!r}.",
    ORIGIN_BAD_WILDCARD: "A service origin may use '*' only as its first label, as in https://*.example.com (all its "
                         "subdomains), got {value!r}.",
    ORIGIN_BAD_HOST: "A service origin's host is letters, digits, '-' and dots (labels of at most 63 characters, at "
                     "most 253 in all; an internationalised name is converted to punycode), got {value!r}.",
}


def _platform(issuer: str, client_id: str) -> Platform | None:
    return db.session.scalars(
        sa.select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).first()


def _audit_platform(platform: Platform, action: str, now: datetime | None) -> None:
    _audit_admin(platform.id, action, now)


#: The platform id of an audit entry about the tool itself (its signing keys, registration links), not one LMS:
#: the column is required, and no platform row has id 0.
TOOL_WIDE = 0


def _audit_admin(platform_id: int, action: str, now: datetime | None) -> None:
    """Record an administrator's change to registrations or keys (no actor: the command line has no LMS person)."""
    db.session.add(AuditEntry(platform_id=platform_id, course_id=None, actor_id=None, subject_id=None,
                              action=action, at=now or utcnow()))


def approve_platform(issuer: str, client_id: str, *, now: datetime | None = None) -> Platform:
    """Let a platform that registered itself launch Pathways (an admin's decision, audited)."""
    platform = _platform(issuer, client_id)
    if platform is None:
        raise NotFound(f"No platform is registered with issuer {issuer!r} and client id {client_id!r}.")
    if not platform.approved:
        platform.approved = True
        _audit_platform(platform, "platform_approved", now)
        db.session.commit()
        forget_registry_lookups()
    return platform


def create_invite(*, expires_in: timedelta, issuer_prefix: str | None = None, approve: bool = False,
                  now: datetime | None = None) -> str:
    """Create a one-time dynamic registration link's token (only its hash is stored) and return the token."""
    if issuer_prefix is not None and origin(issuer_prefix) is None:
        raise ServiceError(f"The issuer prefix must be an http(s) URL without a user name, got {issuer_prefix!r}.")
    if expires_in <= timedelta(0):
        raise ServiceError("A registration link must expire in the future.")
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    db.session.add(RegistrationInvite(token_hash=_hash(token), issuer_prefix=issuer_prefix, approve=approve,
                                      created_at=now, expires_at=now + expires_in))
    # A link lets an LMS register (with --approved, launch at once): who made one, and when, is on record.
    _audit_admin(TOOL_WIDE, "registration_invite_created", now)
    db.session.commit()
    return token


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def list_platforms() -> list[Platform]:
    """Return every registered platform with its deployments."""
    return list(db.session.scalars(sa.select(Platform).order_by(Platform.issuer, Platform.client_id)))


def remove_platform(issuer: str, client_id: str, *, now: datetime | None = None) -> int:
    """Remove a platform registration, its deployments and everything recorded under it (audited); return the
    platform's Pathways id, by which its audit entries are still found."""
    platform = db.session.scalars(
        sa.select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).first()
    if platform is None:
        raise NotFound(f"No platform is registered with issuer {issuer!r} and client id {client_id!r}.")
    # Delete dependants explicitly: SQLite does not enforce ON DELETE CASCADE unless asked to.
    from ..models import Course, Enrollment, Evidence, LaunchSession, Person
    from .storage import delete_files

    course_ids = sa.select(Course.id).where(Course.platform_id == platform.id)
    files = list(db.session.scalars(sa.select(Evidence.file_key).where(Evidence.course_id.in_(course_ids),
                                                                       Evidence.file_key.is_not(None))))
    db.session.execute(sa.delete(LaunchSession).where(LaunchSession.platform_id == platform.id))
    db.session.execute(sa.delete(Enrollment).where(Enrollment.course_id.in_(course_ids)))
    db.session.execute(sa.delete(Course).where(Course.platform_id == platform.id))
    db.session.execute(sa.delete(Person).where(Person.platform_id == platform.id))
    # The audit log outlives the platform, as it outlives a deleted course (its id is no foreign key).
    _audit_platform(platform, "platform_removed", now)
    platform_id = platform.id
    db.session.delete(platform)
    delete_files(files)  # before the commit: a failing store stops the removal rather than orphan the files
    db.session.commit()
    forget_frame_ancestors()
    forget_registry_lookups()
    return platform_id


def ensure_tool_key(secret_key: str) -> ToolKey:
    """Return the newest active tool key, creating the first one if there is none.

    Not audited: the first key comes with the database (`pathways db upgrade`), no administrator chose it.
    """
    keys = active_keys()
    if keys:
        return keys[0]
    key = new_tool_key(secret_key)
    db.session.add(key)
    db.session.commit()
    return key


def rotate_tool_key(secret_key: str, *, now: datetime | None = None) -> ToolKey:
    """Create a new signing key (audited); older keys stay published until retired."""
    key = new_tool_key(secret_key)
    db.session.add(key)
    _audit_admin(TOOL_WIDE, "tool_key_added", now)
    db.session.commit()
    return key


def retire_old_tool_keys(secret_key: str, now: datetime) -> list[str]:
    """Retire the keys older than the one that signs now; return the retired kids.

    The key that signs stays published, and so does any newer key still waiting to sign: retiring the signing key
    would make the next one sign at once, before LMSs holding our old key set have fetched it.
    """
    signing = current_signing_key(secret_key, now)
    keys = active_keys()
    signer = next((key for key in keys if signing is not None and key.kid == signing.kid), None)
    retired = [key for key in keys if signer is not None and key.id < signer.id]
    for key in retired:
        key.retired_at = now
    if retired:
        _audit_admin(TOOL_WIDE, "tool_keys_retired", now)
    db.session.commit()
    return [key.kid for key in retired]


def replace_leaked_tool_keys(secret_key: str, now: datetime) -> tuple[ToolKey, list[str]]:
    """Make a new signing key and retire every other key at once (a private key leaked); return it and the retired
    kids. The new key signs at once: an LMS that still holds our old key set refuses our calls until it fetches the
    new one, which is the price of no longer trusting the leaked key."""
    retired = active_keys()  # read before the new key is added (the query would flush it and list it too)
    key = new_tool_key(secret_key)
    db.session.add(key)
    for old in retired:
        old.retired_at = now
    # Apart from a planned rotation: an auditor looking for when a leak was dealt with finds this entry.
    _audit_admin(TOOL_WIDE, "tool_keys_replaced_after_leak", now)
    db.session.commit()
    return key, [old.kid for old in retired]


def register_dynamically(
    *,
    invite: str | None,
    config_url: str,
    registration_token: str | None,
    base_url: str,
    http: OutboundSession,
    allow_http: bool,
    allowed_origins: list[str],
    store_email: bool,
    timeout: float,
    secret_key: str,
    now: datetime | None = None,
) -> Platform:
    """Run LTI Dynamic Registration through an admin's one-time link and record a new (unapproved) platform.

    Nothing is fetched before the link, the configuration URL and the allow-list are checked; an existing
    issuer + client id is never changed (that is an admin's `pathways platform add`).
    """
    from ..lti.registration import (
        RegistrationError,
        check_url,
        read_platform_configuration,
        register_with_platform,
        registration_request,
    )

    now = now or utcnow()
    if not invite:
        # N_: the error page translates fixed messages (errors._render); this one has no details in it.
        raise RegistrationError(N_(
            "Pathways accepts dynamic registration only through a one-time registration link. Ask the Pathways "
            "administrator for one (`pathways platform invite`) and paste that link into the LMS."), 403)
    if not config_url:
        raise RegistrationError("The registration request must name the LMS's configuration URL "
                                "(openid_configuration).")
    config_origin = check_url(config_url, allow_http=allow_http, what="openid_configuration URL")
    if allowed_origins and not origin_matches(config_origin, allowed_origins):
        raise RegistrationError("This Pathways installation does not accept registrations from that LMS "
                                "(PATHWAYS_REGISTRATION_ALLOWED_ISSUERS).", 403)
    row = db.session.scalars(
        sa.select(RegistrationInvite).where(RegistrationInvite.token_hash == _hash(invite))
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise RegistrationError("This registration link is unknown, used or expired. Ask the Pathways "
                                "administrator for a new one (`pathways platform invite`).", 403)
    if row.issuer_prefix and origin(row.issuer_prefix) != config_origin:
        raise RegistrationError("This registration link is for a different LMS.", 403)
    invite_id, prefix, approve = row.id, row.issuer_prefix, row.approve
    # Claim the link before talking to the LMS: two registrations can never share it.
    claimed = db.session.execute(
        sa.update(RegistrationInvite)
        .where(RegistrationInvite.id == invite_id, RegistrationInvite.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    db.session.commit()
    if claimed != 1:
        raise RegistrationError("This registration link has just been used. Ask the Pathways administrator for "
                                "a new one.", 409)
    try:
        config = read_platform_configuration(
            http, config_url, registration_token=registration_token, allow_http=allow_http, timeout=timeout
        )
        issuer = config["issuer"]
        if prefix and not (issuer == prefix or issuer.startswith(prefix.rstrip("/") + "/")):
            raise RegistrationError("This registration link is for a different LMS issuer.", 403)
        ensure_tool_key(secret_key)  # the platform will fetch our JWKS; there must be a key in it
        body = registration_request(base_url, config, store_email=store_email)
        granted = register_with_platform(http, config, body, registration_token=registration_token, timeout=timeout)
        if _platform(granted.issuer, granted.client_id) is not None:
            raise _already_registered(granted.client_id)
        platform = Platform(
            issuer=granted.issuer, client_id=granted.client_id, name=granted.name[:200],
            auth_login_url=granted.auth_login_url, auth_token_url=granted.token_url, key_set_url=granted.jwks_url,
            auth_audience=granted.audience, approved=approve,
        )
        if granted.deployment_id:
            platform.deployments.append(Deployment(deployment_id=granted.deployment_id))
        db.session.add(platform)
        try:
            db.session.flush()
        except sa.exc.IntegrityError as exc:
            db.session.rollback()
            raise _already_registered(granted.client_id) from exc
        _audit_platform(platform, "platform_registered", now)
        db.session.execute(sa.update(RegistrationInvite).where(RegistrationInvite.id == invite_id)
                           .values(platform_id=platform.id))
        db.session.commit()
    except Exception:
        # The link was not used up by a registration that failed: the admin can try again from the LMS.
        db.session.rollback()
        db.session.execute(sa.update(RegistrationInvite).where(RegistrationInvite.id == invite_id)
                           .values(used_at=None))
        db.session.commit()
        raise
    forget_frame_ancestors()
    forget_registry_lookups()
    return platform


def _already_registered(client_id: str) -> Exception:
    from ..lti.registration import RegistrationError

    return RegistrationError(
        f"This LMS already has a Pathways registration with client id {client_id}. A registration never changes "
        "an existing one; a Pathways administrator changes its endpoints with `pathways platform add`.", 409)
