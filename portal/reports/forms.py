"""The reports filter: a plain GET form (reports/filters.html) read by
``services.query_for`` → ``ReportQuery.from_args``, the same reader the CSV
exports and ``GET /api/v1/reports/<metric>`` use, so page, file and API
always answer the same question; a bad value is a 400 naming the parameter.

What this module adds are the period presets offered above the form ("last
30 / 90 / 365 days"): links that keep every filter and change only the dates,
so they work without JavaScript and with htmx alike. No WTForms here: a GET
form that changes nothing needs no CSRF token and no server-side form object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from portal.reports.query import ReportQuery
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l

#: Days a preset covers, with its label.
PRESETS = ((30, _l("Last 30 days")), (90, _l("Last 90 days")), (365, _l("Last 365 days")))


@dataclass(frozen=True)
class Preset:
    days: int
    label: str
    query: ReportQuery
    current: bool


def period_presets(query: ReportQuery, today: date | None = None) -> list[Preset]:
    """The presets for ``query``: the same filters and interval, the last N days up to
    and including today; ``current`` marks the preset the query already shows."""
    end = (today or utcnow().date()) + timedelta(days=1)
    presets = []
    for days, label in PRESETS:
        start = end - timedelta(days=days)
        presets.append(Preset(days, str(label), query.but(start=start, end=end), query.start == start and query.end == end))
    return presets
