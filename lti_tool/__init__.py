"""Pathways: a personalized-learning LTI 1.3 tool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# First, before Flask and the rest load: a SIGTERM to a starting `pathways worker` is noted, not its death.
from . import stop_signal  # noqa: F401

# isort: split
from flask import Flask

from .paths import STATIC_DIR, TEMPLATES_DIR


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error handlers."""
    import os

    from . import errors, observability, security
    from .db_deadline import set_statement_deadline
    from .extensions import babel, cache, csrf, db, migrate
    from .lti import views as lti_views
    from .lti.keys import current_signing_key
    from .lti.outbound import session_from_settings
    from .lti.toolconf import DatabaseToolConf
    from .page_templates import PageEnvironment
    from .paths import PACKAGE_DIR
    from .pool_ping import ping_only_when_needed
    from .settings import load_settings
    from .web import agency, classroom, course, diagnostic, health, launch, learning, metrics, privacy, registration
    from .web import course_map as course_map_views
    from .web import form_input as input_edge
    from .web import grading as grading_views
    from .web import i18n as i18n_views
    from .web import model_fit as model_fit_views
    from .web import review as review_views
    from .web import unit_check as unit_check_views

    instance_path = (overrides or {}).get("INSTANCE_PATH") or os.environ.get("PATHWAYS_INSTANCE_PATH")
    app = Flask(
        __name__,
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
        # ./instance beside where the command runs, installed or not (Flask's default is the venv's var/).
        instance_path=os.path.abspath(instance_path or "instance"),
        instance_relative_config=False,
    )
    app.jinja_environment = PageEnvironment  # before anything makes app.jinja_env
    load_settings(app, overrides)
    security.configure_cookies(app)

    db.init_app(app)
    with app.app_context():  # the engine exists now (without a connection yet)
        ping_only_when_needed(db.engine)
        set_statement_deadline(db.engine, app.config["DATABASE_STATEMENT_DEADLINE_SECONDS"])  # pings too
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    cache.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n_views.select_locale)
    i18n_views.install_page_gettext(app)  # after Flask-Babel's own: the catalogue found once per page
    input_edge.register(app)  # after CSRF; before every view

    # Built once per app (DESIGN.md §5); registrations are read from the database on each lookup.
    app.extensions["pathways_tool_conf"] = DatabaseToolConf(
        lambda: current_signing_key(app.config["SECRET_KEY"])
    )
    # Every call to a platform goes through this one client (address policy, deadline, size cap).
    app.extensions["pathways_http"] = session_from_settings(app.config)

    app.register_blueprint(lti_views.bp)
    app.register_blueprint(launch.bp)
    app.register_blueprint(course.bp)
    app.register_blueprint(course_map_views.bp)
    app.register_blueprint(grading_views.bp)
    app.register_blueprint(model_fit_views.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(learning.bp)
    app.register_blueprint(classroom.bp)
    app.register_blueprint(diagnostic.bp)
    app.register_blueprint(review_views.bp)
    app.register_blueprint(unit_check_views.bp)
    app.register_blueprint(agency.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(i18n_views.bp)
    errors.register(app)
    observability.configure(app)
    security.register(app)
    from .cli import register_app_commands

    register_app_commands(app)

    if app.config["SANDBOX_ENABLED"]:
        from .sandbox_mount import mount_sandbox

        mount_sandbox(app)
    return app
