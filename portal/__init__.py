"""The customer satisfaction and onboarding portal.

``create_app()`` is the only entry point: ``flask --app portal ...`` and
gunicorn (``'portal:create_app()'``) both call it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from portal.config import engine_options, flask_config, normalise_database_url, read_settings
from portal.extensions import (
    babel,
    configure_sqlite,
    csrf,
    db,
    htmx,
    limiter,
    login_manager,
    mark_write_intent_for_unsafe_methods,
    migrate,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application.

    ``config`` overrides settings: keys named like Flask settings
    (``SQLALCHEMY_DATABASE_URI``, ``TESTING``...) are applied as they are;
    ``PORTAL_*`` keys are read like environment variables.
    """
    config = dict(config or {})
    app = Flask(__name__, instance_path=config.pop("INSTANCE_PATH", None), static_folder=None)
    instance_path = Path(app.instance_path)

    environ = {**os.environ, **{k: str(v) for k, v in config.items() if k.startswith("PORTAL_")}}
    settings = read_settings(instance_path, environ)
    app.config.update(flask_config(settings, instance_path, PROJECT_ROOT))
    app.config.update({k: v for k, v in config.items() if not k.startswith("PORTAL_")})
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if "SQLALCHEMY_ENGINE_OPTIONS" not in config:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        instance_path.mkdir(parents=True, exist_ok=True)

    app.jinja_env.add_extension("jinja2.ext.do")
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from portal.web import transaction
    from portal.web.i18n import install_template_gettext, select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)
    htmx.init_app(app)
    limiter.init_app(app)
    app.before_request(mark_write_intent_for_unsafe_methods)
    transaction.init_app(app)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            configure_sqlite(db.engine)


def _register_blueprints(app: Flask) -> None:
    from portal import auth, courses, customers, followups, integrations, mail, reports, settings, surveys, web

    app.register_blueprint(web.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(customers.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(followups.bp)
    app.register_blueprint(courses.bp)
    app.register_blueprint(mail.bp)
    app.register_blueprint(surveys.bp)
    app.register_blueprint(integrations.bp)
    app.register_blueprint(settings.bp)


def _register_cli(app: Flask) -> None:
    from portal.auth.cli import users_cli
    from portal.courses.cli import content_cli, courses_cli
    from portal.demo import demo_cli
    from portal.integrations.cli import integrations_cli
    from portal.reports.cli import reports_cli
    from portal.worker import worker_command

    app.cli.add_command(users_cli)
    app.cli.add_command(content_cli)
    app.cli.add_command(courses_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(integrations_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(worker_command)
