"""Which language a page speaks."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_login import current_user

from portal.config import SUPPORTED_LOCALES

LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


def select_locale() -> str:
    """A page for a known person speaks their language; otherwise the one
    they chose with the switch, then the browser's, then the operator's default.

    Customer-facing pages set ``g.person_locale`` from the contact or learner.
    """
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    chosen = session.get("lang")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    person = g.get("person_locale")
    if person in SUPPORTED_LOCALES:
        return person
    if current_user and current_user.is_authenticated:
        preferred = getattr(current_user, "preferred_language", None)
        if preferred in SUPPORTED_LOCALES:
            return preferred
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or default
