"""What every template can use: branding, navigation, htmx configuration."""

from __future__ import annotations

import json

from flask import current_app, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from portal.web import bp, theme
from portal.web.i18n import LANGUAGE_NAMES
from portal.web.i18n import lazy_gettext as _l
from portal.web.urls import this_url, url_with_args

#: The staff navigation, in order. An entry appears once its feature exists
#: and only for the roles its view admits.
STAFF_NAVIGATION = (
    ("reports.dashboard", _l("Dashboard")),
    ("customers.accounts", _l("Accounts")),
    ("surveys.index", _l("Surveys")),
    ("reports.overview", _l("Reports")),
    ("followups.tasks", _l("Tasks")),
    ("courses.staff_index", _l("Courses")),
    ("mail.outbox", _l("Outbox")),
    ("settings.brand", _l("Settings")),
)

#: Badges on navigation entries: endpoint → function(user) giving a count or
#: None. Feature packages register here (followups: the active tasks).
NAVIGATION_COUNTS: dict = {}

# DESIGN.md §6. Errors are swapped too, so an htmx user sees the same
# message a full page would show instead of nothing happening.
HTMX_CONFIG = {
    "selfRequestsOnly": True,
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "historyCacheSize": 0,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "401", "swap": False},
        {"code": "[45]..", "swap": True, "error": True},
    ],
}


#: As the layout's <meta name="htmx-config"> carries it (autoescaped there).
HTMX_CONFIG_JSON = json.dumps(HTMX_CONFIG, separators=(",", ":"))


def staff_navigation() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label in STAFF_NAVIGATION:
        view = current_app.view_functions.get(endpoint)
        if view is None:
            continue
        allowed = getattr(view, "allowed_roles", ())
        if current_user.role not in allowed:
            continue
        count = NAVIGATION_COUNTS[endpoint](current_user) if endpoint in NAVIGATION_COUNTS else None
        items.append({"endpoint": endpoint, "label": label, "current": _is_current(endpoint), "count": count})
    return items


def _is_current(endpoint: str) -> bool:
    if request.endpoint == endpoint:
        return True
    blueprint = endpoint.split(".")[0]
    return blueprint not in ("reports",) and request.blueprint == blueprint


def static_url(filename: str) -> str:
    """``url_for("web.static", filename=...)``, built once per app and script
    root: the layout links the same static files on every page. Nothing to
    invalidate: the URL depends only on the routes and the script root."""
    urls = current_app.extensions.setdefault("portal_static_urls", {})
    key = (request.script_root, filename)
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for("web.static", filename=filename)
    return url


@bp.app_context_processor
def layout_context() -> dict:
    config = current_app.config
    return {
        "brand": theme.brand(),
        "htmx_config": HTMX_CONFIG_JSON,
        "current_locale": str(get_locale() or config["BABEL_DEFAULT_LOCALE"]),
        "languages": LANGUAGE_NAMES,
        "staff_navigation": staff_navigation,
        "this_url": this_url,
    }


# Globals, not context variables: macros imported without context use them.
bp.add_app_template_global(url_with_args)
bp.add_app_template_global(static_url)


@bp.app_template_filter("hours")
def format_hours(value: float | None) -> str:
    """Durations as staff read them: minutes, hours, or days."""
    from flask_babel import format_decimal, gettext

    if value is None:
        return "–"
    if value < 1:
        return gettext("%(n)s min", n=format_decimal(round(value * 60)))
    if value < 48:
        return gettext("%(n)s h", n=format_decimal(round(value, 1)))
    return gettext("%(n)s d", n=format_decimal(round(value / 24, 1)))
