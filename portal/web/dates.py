"""Dates and times as staff read them.

The database holds naive UTC; everything a person reads is in the operator's
time zone (``PORTAL_TIMEZONE``, Flask-Babel's default time zone). German
dates read 12.03.2026 and weeks "KW 36"; English dates are written so that
no reader on either side of the Atlantic can misread them (3 Dec 2026,
"W36 2026"), and times are 24-hour in both languages.

The functions replace Flask-Babel's ``dateformat``, ``datetimeformat`` and
``timeformat`` template filters (same names, same first arguments), so a
template's ``|datetimeformat("short")`` follows these rules without change.
``zone=True`` adds the zone's name where the hour matters (a due time in an
email read anywhere): "12:08 MEZ", "12:08 CET".
"""

from __future__ import annotations

from datetime import date, datetime

import flask_babel
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.web import bp

#: Babel patterns per language; a language not listed uses English.
PATTERNS = {
    "de": {"date": "dd.MM.yyyy", "date_long": "d. MMMM yyyy", "time": "HH:mm", "month": "LLLL yyyy", "short_month": "LLL yyyy"},
    "en": {"date": "d MMM yyyy", "date_long": "d MMMM yyyy", "time": "HH:mm", "month": "LLLL yyyy", "short_month": "LLL yyyy"},
}


def _patterns() -> dict[str, str]:
    locale = get_locale()
    return PATTERNS.get(locale.language if locale else "en", PATTERNS["en"])


def format_date(value: date | datetime | None, format: str | None = "short") -> str:
    """A day: 12.03.2026 / 3 Dec 2026; ``long``: 12. März 2026 / 3 March 2026.
    A datetime is first moved into the operator's time zone."""
    if value is None:
        return "–"
    pattern = _patterns()["date_long"] if format in ("long", "full") else _patterns()["date"]
    return flask_babel.format_date(value, pattern)


def format_time(value: datetime | None, format: str | None = None, zone: bool = False) -> str:
    if value is None:
        return "–"
    return _with_zone(value, flask_babel.format_time(value, _patterns()["time"]), zone)


def format_datetime(value: datetime | None, format: str | None = "short", zone: bool = False) -> str:
    """12.03.2026, 12:08 / 3 Dec 2026, 12:08 in the operator's time zone."""
    if value is None:
        return "–"
    patterns = _patterns()
    text = flask_babel.format_datetime(value, f"{patterns['date']}, {patterns['time']}")
    return _with_zone(value, text, zone)


def _with_zone(value: datetime, text: str, zone: bool) -> str:
    if not zone:
        return text
    local = flask_babel.to_user_timezone(value)
    locale = get_locale()
    if locale is not None and locale.language == "de":  # MEZ / MESZ, as CLDR names them
        name = flask_babel.format_time(value, "z")
    else:  # CET / CEST / UTC: the zone database's own abbreviation reads well in English
        name = local.tzname()
    return f"{text} {name}"


def period_label(key: str | None, short: bool = False) -> str:
    """A report period key as people write it.

    Weeks ``2026-W36`` → "KW 36/2026" / "W36 2026" (``short``, for a chart's
    axis: "KW 36" / "W36"), months ``2026-11`` → "November 2026" (``short``:
    "Nov. 2026" / "Nov 2026"), quarters ``2026-Q4`` → "Q4 2026",
    days ``2026-11-03`` → the date. Anything else is shown as it is.
    """
    if not key:
        return ""
    try:
        if "-W" in key:
            year, week = (int(part) for part in key.split("-W"))
            if short:
                return _("W%(week)d", week=week)
            return _("W%(week)d %(year)d", week=week, year=year)
        if "-Q" in key:
            year, quarter = (int(part) for part in key.split("-Q"))
            return _("Q%(quarter)d %(year)d", quarter=quarter, year=year)
        if len(key) == 7:
            return flask_babel.format_date(date(int(key[:4]), int(key[5:7]), 1), _patterns()["short_month" if short else "month"])
        return format_date(date.fromisoformat(key))
    except ValueError:
        return key


bp.add_app_template_filter(format_date, "dateformat")
bp.add_app_template_filter(format_datetime, "datetimeformat")
bp.add_app_template_filter(format_time, "timeformat")
bp.add_app_template_filter(period_label, "period_label")
