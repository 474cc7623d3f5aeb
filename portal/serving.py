"""Checks a production web server runs once, at start, before it forks.

Rate limits (login throttling, secret-link guessing) are counted in
Flask-Limiter's storage. With the default ``memory://`` storage every
process counts on its own: two gunicorn workers let through twice the
configured attempts, four workers four times. Nothing fails, so the only
way to notice is a warning at start; ``gunicorn.conf.py`` calls
:func:`rate_limit_warning` with the worker count gunicorn is about to start.
"""

from __future__ import annotations

from collections.abc import Mapping

SHARED_STORAGE_HINT = "PORTAL_RATELIMIT_STORAGE_URL=redis://<host>:6379"


def rate_limit_warning(settings: Mapping[str, object], workers: int) -> str | None:
    """The warning to log, or None when the limits mean what they say.

    ``settings`` are the portal settings (:func:`portal.config.read_settings`):
    production with more than one worker process and storage that lives in
    each process is the case that silently multiplies every limit.
    """
    production = str(settings.get("ENV", "")).lower() == "production"
    storage = str(settings.get("RATELIMIT_STORAGE_URL") or "memory://")
    if not production or workers <= 1 or not storage.startswith("memory://"):
        return None
    return (
        f"RATE LIMITS ARE NOT SHARED: {workers} worker processes each count in their own memory "
        f"(PORTAL_RATELIMIT_STORAGE_URL={storage}), so every limit lets through {workers} times "
        f"the configured attempts (login throttling, secret-link guessing). Set {SHARED_STORAGE_HINT}."
    )
