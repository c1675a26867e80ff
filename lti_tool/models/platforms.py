"""Registered LMS platforms, their deployments, and the tool's own signing keys."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .base import utcnow


class Platform(db.Model):
    """One LMS registration: an issuer plus the client id it gave us (Canvas Cloud shares one issuer)."""

    __tablename__ = "platform"
    __table_args__ = (sa.UniqueConstraint("issuer", "client_id", name="uq_platform_issuer_client"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    issuer: so.Mapped[str] = so.mapped_column(sa.String(500), index=True)
    client_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    auth_login_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    auth_token_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    key_set_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    # Some platforms (Moodle) want the token endpoint's own audience in client assertions.
    auth_audience: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    # A platform that registered itself (dynamic registration) launches only once an admin approved it.
    approved: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True, server_default=sa.true())
    # Origins besides those of the issuer, login, token and JWKS URLs where this platform's services live
    # (space-separated; "https://*.instructure.com" style wildcards allowed), set by an admin.
    service_origins: so.Mapped[str | None] = so.mapped_column(sa.String(1000))

    deployments: so.Mapped[list[Deployment]] = so.relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="Deployment.id"
    )

    @property
    def origin(self) -> str:
        """Return scheme://host[:port] of the platform's login URL, for frame-ancestors."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.auth_login_url)
        return f"{parts.scheme}://{parts.netloc}"


class RegistrationInvite(db.Model):
    """A one-time dynamic registration link an admin created; only its token's hash is stored."""

    __tablename__ = "registration_invite"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # Only issuers equal to this or under it (at a "/" boundary) may use the link; None: any issuer.
    issuer_prefix: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # Whether the platform this link registers may launch without a separate `pathways platform approve`.
    approve: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime)
    used_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    platform_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("platform.id", ondelete="SET NULL"))


class Deployment(db.Model):
    """A deployment id under a platform registration (one per place the tool is installed)."""

    __tablename__ = "deployment"
    __table_args__ = (sa.UniqueConstraint("platform_id", "deployment_id", name="uq_deployment_platform"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    deployment_id: so.Mapped[str] = so.mapped_column(sa.String(255))

    platform: so.Mapped[Platform] = so.relationship(back_populates="deployments")


class ToolKey(db.Model):
    """An RSA key the tool signs with; the private half is stored encrypted with the secret key."""

    __tablename__ = "tool_key"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kid: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    public_jwk: so.Mapped[dict] = so.mapped_column(sa.JSON)
    private_key_encrypted: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    retired_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)

    def __repr__(self) -> str:  # never show key material, even in debug output
        return f"<ToolKey {self.kid}{' retired' if self.retired_at else ''}>"
