"""Wire the sandbox platform into a Pathways app (demo and tests only, never in production by default)."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

SANDBOX_PREFIX = "/sandbox"
SANDBOX_CLIENT_ID = "pathways-sandbox"
SANDBOX_DEPLOYMENT_ID = "sandbox-deployment-1"


def mount_sandbox(app: Flask, key_pem: bytes | None = None):
    """Serve a SandboxPlatform under /sandbox of the same server and remember it on the app."""
    from .sandbox import SandboxPlatform, create_sandbox_app

    platform = SandboxPlatform(base_url=app.config["BASE_URL"] + SANDBOX_PREFIX, key_pem=key_pem)
    platform.seed_demo()
    app.extensions["sandbox_platform"] = platform
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {SANDBOX_PREFIX: create_sandbox_app(platform)})

    @app.get("/")
    def sandbox_home():
        """Send people opening the demo to the sandbox LMS's course page."""
        from flask import redirect

        return redirect(SANDBOX_PREFIX + "/")

    return platform


def connect_sandbox(app: Flask) -> None:
    """Register the sandbox with the tool and the tool with the sandbox, for the app's current BASE_URL."""
    from .services.registry import add_platform, ensure_tool_key

    platform = app.extensions["sandbox_platform"]
    base = app.config["BASE_URL"]
    platform.base_url = base + SANDBOX_PREFIX
    ensure_tool_key(app.config["SECRET_KEY"])
    add_platform(
        issuer=platform.issuer,
        client_id=SANDBOX_CLIENT_ID,
        deployment_ids=[SANDBOX_DEPLOYMENT_ID],
        login_url=platform.auth_url,
        token_url=platform.token_url,
        jwks_url=platform.jwks_url,
        name=platform.name,
        audit=False,  # the demo's and the tests' own LMS, connected on every start: no administrator's change
    )
    platform.register_tool(
        client_id=SANDBOX_CLIENT_ID,
        deployment_id=SANDBOX_DEPLOYMENT_ID,
        login_url=base + "/lti/login",
        redirect_uris=[base + "/lti/launch"],
        jwks_url=base + "/lti/jwks",
        target_link_uri=base + "/lti/launch",
        deep_link_url=base + "/lti/launch",
    )
