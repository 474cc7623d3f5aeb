"""Which language a page speaks."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_babel import _get_current_context, get_translations  # pinned flask-babel 4
from flask_babel.speaklater import LazyString
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
    shown = request.args.get("lang") or request.form.get("lang") if request.blueprint == "surveys" else None
    if shown in SUPPORTED_LOCALES:  # secret-link pages switch language per page, without a session
        return shown
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


def _translations():
    """This request's translations, looked up once.

    Flask-Babel resolves domain, locale and cache on every gettext call (about
    50 µs each; a table row of labels costs milliseconds). We keep the result
    on Flask-Babel's own request namespace under the attribute that
    ``force_locale`` already clears and restores, so emails rendered in
    another language inside a request still get the right catalogue.
    """
    try:  # the namespace itself once it exists (one proxy lookup, not three: a list page makes hundreds)
        ctx = g._flask_babel
    except (AttributeError, RuntimeError):
        ctx = _get_current_context()
        if ctx is None:
            return get_translations()
    translations = getattr(ctx, "babel_translations", None)
    if translations is None:
        translations = ctx.babel_translations = get_translations()
    return translations


def N_(string: str) -> str:
    """Marks a string for translation where it is translated later (Babel extracts ``N_``)."""
    return string


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's ``lazy_gettext``, resolved through this request's cached
    translations: a page of labels (regions, service types, statuses) would
    otherwise spend milliseconds in Flask-Babel's per-call lookups."""
    return LazyString(_lazy_text, string, **variables)


def _lazy_text(string: str, **variables) -> str:
    text = _translations().ugettext(string)
    return text % variables if variables else text


def template_gettext(string: str) -> str:
    return _translations().ugettext(string)


def template_ngettext(singular: str, plural: str, num: int) -> str:
    return _translations().ungettext(singular, plural, num)


def install_template_gettext(app) -> None:
    """Templates' ``_()`` / ``ngettext()`` through the per-request cache (newstyle:
    Jinja escapes and fills ``%(name)s`` placeholders itself)."""
    app.jinja_env.install_gettext_callables(template_gettext, template_ngettext, newstyle=True)
