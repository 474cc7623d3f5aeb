"""The operator's brand: what is saved, merged over the configuration.

:func:`current_brand` is what the whole portal reads (through
``portal.web.theme.brand()``): each saved field wins, an empty one falls back
to its ``PORTAL_*`` configuration value.

Pages read it from a per-process cache (one per app), because every page
shows the brand and it changes rarely: reading and merging the row cost a
fifth of the survey page. The rule:

- a request reads the brand once and keeps it in ``flask.g``;
- a worker process keeps the merged brand for :data:`BRAND_CACHE_SECONDS`,
  so every gunicorn worker shows an admin's change at most that long after
  it was saved;
- a save (:func:`update_brand`) empties the copies of every app in its
  process at once, and again when its request ends (after its commit), so
  the admin sees the change on the next page; a generation counter keeps a
  request that read the old row before the save from putting it back;
- a brand that could not be read (the database down) is not kept;
- the worker and CLI commands (no request) read it each time (a
  long-running worker must see an admin's change).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from flask import current_app, g, has_request_context, url_for
from flask_babel import format_decimal
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal.auth.models import StaffUser
from portal.extensions import db
from portal.settings.models import ON_COLOR_LABELS, SETTINGS_ID, OperatorSettings
from portal.timeutil import utcnow
from portal.web import theme
from portal.web.theme import Brand, absolute_url, brand_from_config, one_line
from portal.web.urls import external_url

log = logging.getLogger(__name__)

#: The fields admins edit, in the form's order.
FIELDS = ("company_name", "sender_name", "sender_email", "logo_url", "brand_color")

_CACHE_KEY = "portal_brand"
_FORGET_AFTER_REQUEST = "portal_brand_saved"

#: How long a worker process keeps the merged brand (seconds): the longest
#: another gunicorn worker shows the brand from before an admin's change.
BRAND_CACHE_SECONDS = 5.0


class _BrandCache:
    """One app's merged brand in this process (``app.extensions``), valid until
    ``until`` and while nothing in this process saved a brand since it was read."""

    def __init__(self) -> None:
        self.brand: Brand | None = None
        self.until = 0.0
        self.generation = -1


#: Bumped by every save in this process (under the lock): it empties the
#: caches of all apps here at once, including a read that was under way.
_generation = 0
_lock = threading.Lock()


def _app_cache() -> _BrandCache:
    cache = current_app.extensions.get(_CACHE_KEY)
    if cache is None:
        cache = current_app.extensions.setdefault(_CACHE_KEY, _BrandCache())
    return cache


def current_brand() -> Brand:
    """The brand now: saved values over the configuration's (see the module
    docstring for how long a page may show it after a change)."""
    if not has_request_context():
        return merged_brand(_stored())
    cached = g.get(_CACHE_KEY)
    if cached is not None:
        return cached
    cache = _app_cache()
    now = time.monotonic()
    brand = cache.brand
    if brand is None or now >= cache.until or cache.generation != _generation:
        generation = _generation
        row, readable = _stored_if_readable()
        brand = merged_brand(row)
        if readable:
            with _lock:
                if generation == _generation:
                    cache.brand, cache.until, cache.generation = brand, now + BRAND_CACHE_SECONDS, generation
    setattr(g, _CACHE_KEY, brand)
    return brand


def _forget_everywhere() -> None:
    global _generation
    with _lock:
        _generation += 1


def merged_brand(row: OperatorSettings | None) -> Brand:
    """Each non-empty saved field over the configuration. A saved company name
    also names the sender when no sender name was saved: emails then come
    from the operator, not from the configuration's default."""
    fallback = brand_from_config()
    if row is None:
        return fallback
    name = one_line(row.company_name) or fallback.name
    saved_logo = one_line(row.logo_url)
    if row.logo_digest:
        email_logo = external_url("settings.logo", v=row.logo_digest)
    elif saved_logo:
        email_logo = absolute_url(saved_logo, current_app.config["PORTAL_BASE_URL"])
    else:
        email_logo = fallback.email_logo_url
    return Brand(
        name=name,
        sender_name=one_line(row.sender_name) or one_line(row.company_name) or fallback.sender_name,
        sender_email=one_line(row.sender_email) or fallback.sender_email,
        logo_url=_uploaded_logo_url(row.logo_digest) or saved_logo or fallback.logo_url,
        color=row.brand_color or fallback.color,
        email_logo_url=email_logo,
    )


def _uploaded_logo_url(digest: str) -> str:
    """The uploaded logo's URL on pages, its version in it (emails get the
    absolute one, ``Brand.email_logo_url``); outside a request there is no page."""
    if not digest or not has_request_context():
        return ""
    return url_for("settings.logo", v=digest)


def image_type(data: bytes) -> str | None:
    """The image format a logo may have, by its first bytes: what the browser is
    told is what the bytes are, never what the upload claimed. No SVG: it can
    carry scripts."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def set_logo(row: OperatorSettings, data: bytes) -> None:
    """Keep an uploaded logo (checked by the form: a known image type, small enough)."""
    row.logo_image = data
    row.logo_type = image_type(data) or "application/octet-stream"
    row.logo_digest = hashlib.sha256(data).hexdigest()[:16]


def drop_logo(row: OperatorSettings) -> None:
    row.logo_image, row.logo_type, row.logo_digest = None, "", ""


def uploaded_logo() -> tuple[bytes, str, str] | None:
    """The uploaded logo's bytes, type and digest, or None."""
    found = db.session.execute(
        select(OperatorSettings.logo_image, OperatorSettings.logo_type, OperatorSettings.logo_digest).where(
            OperatorSettings.id == SETTINGS_ID, OperatorSettings.logo_digest != ""
        )
    ).first()
    return (found.logo_image, found.logo_type, found.logo_digest) if found and found.logo_image else None


def stored_settings() -> OperatorSettings | None:
    return db.session.get(OperatorSettings, SETTINGS_ID)


def _stored() -> OperatorSettings | None:
    """The saved row, or None. A database that cannot answer (an error page
    while it is down, a schema not yet migrated) shows the configured brand
    rather than failing a second time."""
    return _stored_if_readable()[0]


def _stored_if_readable() -> tuple[OperatorSettings | None, bool]:
    """The saved row (or None), and whether the database answered."""
    try:
        with db.session.no_autoflush:
            return stored_settings(), True
    except SQLAlchemyError:
        log.warning("operator settings unavailable; using the configured brand", exc_info=True)
        return None, False


def stored_values() -> dict[str, str]:
    """What the form shows: the saved values, empty where the configuration applies."""
    row = stored_settings()
    return {name: (getattr(row, name) if row is not None else "") or "" for name in FIELDS}


def update_brand(values: dict[str, str | None], user: StaffUser | None, *, logo: bytes | None = None, remove_logo: bool = False) -> OperatorSettings:
    """Save the brand (empty values: use the configuration). ``logo``: a new
    uploaded image; ``remove_logo``: drop the uploaded one (a new upload wins).
    Safe to run again after a lost race for the first save."""
    row = stored_settings()
    if row is None:
        row = OperatorSettings(id=SETTINGS_ID)
        db.session.add(row)
    for name in FIELDS:
        value = one_line(values.get(name))
        setattr(row, name, value.lower() if name == "brand_color" else value)
    if logo:
        set_logo(row, logo)
    elif remove_logo:
        drop_logo(row)
    row.updated_at = utcnow()
    row.updated_by = user
    db.session.flush()
    forget_cached_brand()
    return row


def forget_cached_brand() -> None:
    """This request's and this process's copy of the brand, now; in a request
    once more when it ends (after its commit: see the module docstring)."""
    if has_request_context():
        g.pop(_CACHE_KEY, None)
        setattr(g, _FORGET_AFTER_REQUEST, True)
    _forget_everywhere()


def forget_after_saving(_error=None) -> None:
    """Teardown of every request (registered in subscribers.py): runs after the request committed."""
    if g.pop(_FORGET_AFTER_REQUEST, False):
        _forget_everywhere()


def brand_page() -> dict:
    """What the brand page shows besides its form: the brand in effect, the
    configuration it falls back to, and who changed it last."""
    brand = current_brand()
    return {
        "current": brand,
        "configured": brand_from_config(),
        "settings": stored_settings(),
        "on_color_label": ON_COLOR_LABELS.get(brand.on_color, brand.on_color),
        "contrast": format_decimal(brand.contrast, format="0.0"),
    }


def register() -> None:
    theme.BRAND_PROVIDER = current_brand

