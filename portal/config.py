"""Settings from the environment.

Every setting is a ``PORTAL_*`` environment variable; ``instance/portal.env``
(KEY=value lines) is read too, and the real environment wins over the file.
Explicit ``config`` passed to :func:`portal.create_app` wins over both, which
is how tests configure the app.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.dates import get_timezone
from dotenv import dotenv_values

PREFIX = "PORTAL_"

#: Every setting the portal reads, with its default. The README documents each.
DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "DATABASE_URL": None,  # sqlite file in instance/ when unset
    "SECRET_KEY": None,  # generated into instance/ in development
    "SMTP_URL": "smtp://127.0.0.1:8025",
    "MAIL_FROM": "Kundenportal <portal@example.net>",
    "BASE_URL": "http://127.0.0.1:5000",
    "DEFAULT_LOCALE": "de",
    "TIMEZONE": "Europe/Berlin",  # what staff read; the database stays in UTC
    "CONTENT_DIR": None,  # content/ beside the package when unset
    "RATELIMIT_STORAGE_URL": "memory://",
    "BRAND_NAME": "Kundenportal",
    "BRAND_LOGO_URL": "",
    "BRAND_COLOR": "#0b5cad",
    "IDLE_TIMEOUT_MINUTES": 30,
    "LOGIN_LIMIT_PER_IP": "20 per minute;200 per hour",
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
    "TOKEN_LIMIT_PER_IP": "30 per minute",
    "API_READ_LIMIT": "600 per minute",  # the read and reports API, per client address
    "EVENT_MAX_AGE_DAYS": 14,
    "MAIL_QUEUE_LIFETIME_HOURS": 72,  # temporary SMTP failures are retried this long, as mail servers do
}

SUPPORTED_LOCALES = ("de", "en")
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says which variable to fix."""


def read_settings(instance_path: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Collect ``PORTAL_*`` values from instance/portal.env and the environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = dict(DEFAULTS)
    env_file = instance_path / "portal.env"
    layers: list[Mapping[str, str | None]] = []
    if env_file.is_file():
        layers.append(dotenv_values(env_file))
    layers.append(environ)
    for layer in layers:
        for key, value in layer.items():
            if key.startswith(PREFIX) and value is not None:
                values[key[len(PREFIX):]] = value
    return values


def flask_config(settings: Mapping[str, Any], instance_path: Path, project_root: Path) -> dict[str, Any]:
    """Turn portal settings into the Flask and extension configuration keys."""
    env = str(settings["ENV"]).lower()
    production = env == "production"

    database_url = settings["DATABASE_URL"] or f"sqlite:///{instance_path / 'portal.db'}"
    database_url = normalise_database_url(database_url)

    secret_key = settings["SECRET_KEY"]
    if not secret_key:
        if production:
            raise ConfigError("PORTAL_SECRET_KEY must be set in production.")
        secret_key = _development_secret(instance_path)

    locale = str(settings["DEFAULT_LOCALE"]).lower()
    if locale not in SUPPORTED_LOCALES:
        raise ConfigError(f"PORTAL_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}.")

    zone = str(settings["TIMEZONE"]).strip()
    try:
        get_timezone(zone)
    except LookupError as exc:
        raise ConfigError("PORTAL_TIMEZONE must be a time zone name like Europe/Berlin.") from exc

    color = str(settings["BRAND_COLOR"])
    if not _HEX_COLOR.match(color):
        raise ConfigError("PORTAL_BRAND_COLOR must be a colour like #0b5cad.")

    try:
        idle_minutes = int(settings["IDLE_TIMEOUT_MINUTES"])
    except (TypeError, ValueError) as exc:
        raise ConfigError("PORTAL_IDLE_TIMEOUT_MINUTES must be a whole number.") from exc

    try:
        queue_lifetime_hours = float(settings["MAIL_QUEUE_LIFETIME_HOURS"])
    except (TypeError, ValueError) as exc:
        raise ConfigError("PORTAL_MAIL_QUEUE_LIFETIME_HOURS must be a number of hours.") from exc
    if not (math.isfinite(queue_lifetime_hours) and queue_lifetime_hours > 0):
        raise ConfigError("PORTAL_MAIL_QUEUE_LIFETIME_HOURS must be more than 0.")

    try:
        event_max_age_days = int(settings["EVENT_MAX_AGE_DAYS"])
    except (TypeError, ValueError) as exc:
        raise ConfigError("PORTAL_EVENT_MAX_AGE_DAYS must be a whole number.") from exc
    if event_max_age_days < 1:
        raise ConfigError("PORTAL_EVENT_MAX_AGE_DAYS must be at least 1.")

    base_url = str(settings["BASE_URL"]).rstrip("/")
    https = base_url.startswith("https://")

    return {
        "PORTAL_ENV": env,
        "PORTAL_PRODUCTION": production,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "PORTAL_SMTP_URL": settings["SMTP_URL"],
        "PORTAL_MAIL_FROM": settings["MAIL_FROM"],
        "PORTAL_MAIL_QUEUE_LIFETIME_HOURS": queue_lifetime_hours,
        "PORTAL_BASE_URL": base_url,
        "PORTAL_HTTPS": https,
        "BABEL_DEFAULT_LOCALE": locale,
        "BABEL_DEFAULT_TIMEZONE": zone,
        "PORTAL_TIMEZONE": zone,
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "PORTAL_CONTENT_DIR": settings["CONTENT_DIR"] or str(project_root / "content"),
        "RATELIMIT_STORAGE_URI": settings["RATELIMIT_STORAGE_URL"],
        "RATELIMIT_HEADERS_ENABLED": True,
        "PORTAL_LOGIN_LIMIT_PER_IP": settings["LOGIN_LIMIT_PER_IP"],
        "PORTAL_LOGIN_LIMIT_PER_ACCOUNT": settings["LOGIN_LIMIT_PER_ACCOUNT"],
        "PORTAL_TOKEN_LIMIT_PER_IP": settings["TOKEN_LIMIT_PER_IP"],
        "PORTAL_API_READ_LIMIT": settings["API_READ_LIMIT"],
        "PORTAL_EVENT_MAX_AGE_DAYS": event_max_age_days,
        "PORTAL_BRAND_NAME": settings["BRAND_NAME"],
        "PORTAL_BRAND_LOGO_URL": settings["BRAND_LOGO_URL"],
        "PORTAL_BRAND_COLOR": color,
        "PORTAL_IDLE_TIMEOUT_MINUTES": idle_minutes,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_NAME": "portal_session",
        "REMEMBER_COOKIE_DURATION": 0,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
    }


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator chose."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # pysqlite's own transaction handling is switched off so that
        # portal.extensions can issue BEGIN / BEGIN IMMEDIATE itself.
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def _development_secret(instance_path: Path) -> str:
    """A random key kept in instance/ so sessions survive restarts in development."""
    key_file = instance_path / "secret_key"
    if key_file.is_file():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key
