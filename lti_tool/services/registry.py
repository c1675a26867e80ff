"""Platform registry and tool-key use cases (the admin's `pathways platform` and `pathways keys`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..lti.keys import active_keys, new_tool_key
from ..models import Deployment, Platform, ToolKey
from ..security import forget_frame_ancestors
from .errors import NotFound, ServiceError


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
) -> Platform:
    """Register a platform (or update it) and add any new deployment ids under it."""
    for label, url in (("login URL", login_url), ("token URL", token_url), ("JWKS URL", jwks_url)):
        if not url.startswith(("https://", "http://")):
            raise ServiceError(f"The {label} must be an http(s) URL, got {url!r}.")
    if not issuer or not client_id:
        raise ServiceError("An issuer and a client id are required.")
    platform = db.session.scalars(
        sa.select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).first()
    if platform is None:
        platform = Platform(issuer=issuer, client_id=client_id)
        db.session.add(platform)
    platform.name = name or platform.name or issuer
    platform.auth_login_url = login_url
    platform.auth_token_url = token_url
    platform.key_set_url = jwks_url
    platform.auth_audience = audience
    db.session.flush()
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in deployment_ids:
        if deployment_id and deployment_id not in known:
            platform.deployments.append(Deployment(deployment_id=deployment_id))
            known.add(deployment_id)
    db.session.commit()
    forget_frame_ancestors()
    return platform


def list_platforms() -> list[Platform]:
    """Return every registered platform with its deployments."""
    return list(db.session.scalars(sa.select(Platform).order_by(Platform.issuer, Platform.client_id)))


def remove_platform(issuer: str, client_id: str) -> None:
    """Remove a platform registration, its deployments and everything recorded under it."""
    platform = db.session.scalars(
        sa.select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).first()
    if platform is None:
        raise NotFound(f"No platform is registered with issuer {issuer!r} and client id {client_id!r}.")
    # Delete dependants explicitly: SQLite does not enforce ON DELETE CASCADE unless asked to.
    from ..models import Course, Enrollment, LaunchSession, Person

    course_ids = sa.select(Course.id).where(Course.platform_id == platform.id)
    db.session.execute(sa.delete(LaunchSession).where(LaunchSession.platform_id == platform.id))
    db.session.execute(sa.delete(Enrollment).where(Enrollment.course_id.in_(course_ids)))
    db.session.execute(sa.delete(Course).where(Course.platform_id == platform.id))
    db.session.execute(sa.delete(Person).where(Person.platform_id == platform.id))
    db.session.delete(platform)
    db.session.commit()
    forget_frame_ancestors()


def ensure_tool_key(secret_key: str) -> ToolKey:
    """Return the newest active tool key, creating the first one if there is none."""
    keys = active_keys()
    if keys:
        return keys[0]
    return rotate_tool_key(secret_key)


def rotate_tool_key(secret_key: str) -> ToolKey:
    """Create a new signing key; older keys stay published until retired."""
    key = new_tool_key(secret_key)
    db.session.add(key)
    db.session.commit()
    return key


def retire_old_tool_keys(now: datetime) -> list[str]:
    """Retire every active key but the newest; return the retired kids."""
    keys = active_keys()
    retired = []
    for key in keys[1:]:
        key.retired_at = now
        retired.append(key.kid)
    db.session.commit()
    return retired


def register_dynamically(
    *,
    config_url: str,
    registration_token: str | None,
    base_url: str,
    http,
    allow_http: bool,
    allowed_issuers: list[str],
    store_email: bool,
    timeout: float,
    secret_key: str,
) -> Platform:
    """Run LTI Dynamic Registration with a platform and record the registration it grants."""
    from ..lti.registration import (
        RegistrationError,
        read_platform_configuration,
        register_with_platform,
        registration_request,
    )

    config = read_platform_configuration(
        http, config_url, registration_token=registration_token, allow_http=allow_http, timeout=timeout
    )
    if allowed_issuers and not any(config["issuer"].startswith(prefix) for prefix in allowed_issuers):
        raise RegistrationError("This Pathways installation does not accept registrations from that platform.", 403)
    ensure_tool_key(secret_key)  # the platform will fetch our JWKS; there must be a key in it
    body = registration_request(base_url, config, store_email=store_email)
    granted = register_with_platform(http, config, body, registration_token=registration_token, timeout=timeout)
    return add_platform(
        issuer=granted.issuer,
        client_id=granted.client_id,
        deployment_ids=[granted.deployment_id] if granted.deployment_id else [],
        login_url=granted.auth_login_url,
        token_url=granted.token_url,
        jwks_url=granted.jwks_url,
        name=granted.name,
    )
