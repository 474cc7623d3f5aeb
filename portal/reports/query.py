"""What a report is asked for: period, interval, grouping and filters.

One object, :class:`ReportQuery`, read from a query string by the reports
page, the CSV exports and ``GET /api/v1/reports/<metric>`` alike, so that all
three answer the same question the same way. A bad parameter raises
:class:`ParameterError` naming it (the API answers 400 with that name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from portal.timeutil import MAX_YEAR, MIN_YEAR, parse_day, utcnow
from portal.web.i18n import N_, lazy_gettext

METRICS = ("nps", "csat", "response-rate", "distribution")
INTERVALS = ("week", "month", "quarter")
DIMENSIONS = ("region", "service_type", "account_manager", "ticket_category", "survey_kind", "account")
SCALES = ("nps", "csat")
DEFAULT_DAYS = 90
#: The longest period one report may cover (ten years): beyond it a typo, not a question.
MAX_DAYS = 3660
#: Filters: query-string name → field; each may repeat.
FILTERS = {
    "region": "regions",
    "service_type": "service_types",
    "account_manager": "account_managers",
    "ticket_category": "ticket_categories",
    "survey_kind": "survey_kinds",
    "account": "accounts",
}
MAX_FILTER_VALUES = 200
MAX_VALUE_LENGTH = 254


class ParameterError(ValueError):
    """A query parameter that cannot be used: ``english`` for the API (its words
    are part of the contract), ``message`` in the reader's language for pages."""

    def __init__(self, name: str, message: str, **values):
        self.name = name
        self.english = message % values if values else message
        self.message = lazy_gettext(message, **values)
        super().__init__(f"{name}: {self.english}")


@dataclass(frozen=True)
class ReportQuery:
    start: date  # inclusive
    end: date  # exclusive
    interval: str | None = None
    group_by: str | None = None
    scale: str = "nps"
    regions: tuple[str, ...] = ()
    service_types: tuple[str, ...] = ()
    account_managers: tuple[str, ...] = ()  # staff emails
    ticket_categories: tuple[str, ...] = ()  # "" is "no ticket"
    survey_kinds: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # external ids
    #: One account manager's email: only their accounts, whatever the filters say. Not a
    #: query-string parameter: set by the server for what an account manager reads answer
    #: by answer or exports (``services.readable_by``).
    portfolio: str | None = None

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, today: date | None = None, **values) -> ReportQuery:
        end = (today or utcnow().date()) + timedelta(days=1)
        return cls(start=end - timedelta(days=days), end=end, **values)

    @classmethod
    def from_args(cls, args: Mapping, today: date | None = None, **defaults) -> ReportQuery:
        """Read a query string (a MultiDict). Missing ``from``/``to``: the last 90 days up to today."""
        def one(name: str, allowed: tuple[str, ...] | None = None) -> str | None:
            values = args.getlist(name)
            if len(values) > 1:
                raise ParameterError(name, N_("given more than once"))
            value = values[0].strip() if values else ""
            if not value:
                return None
            if allowed is not None and value not in allowed:
                raise ParameterError(name, N_("must be one of %(values)s"), values=", ".join(allowed))
            return value

        end = _date(one("to"), "to")
        start = _date(one("from"), "from")
        if end is None:
            end = (start + timedelta(days=DEFAULT_DAYS)) if start else (today or utcnow().date()) + timedelta(days=1)
        if start is None:
            start = end - timedelta(days=DEFAULT_DAYS)
        if start >= end:
            raise ParameterError("to", N_("must be after from"))
        if (end - start).days > MAX_DAYS:
            raise ParameterError("from", N_("the period may span at most %(days)d days"), days=MAX_DAYS)
        values = dict(defaults)
        values.update(
            start=start,
            end=end,
            interval=one("interval", INTERVALS) or defaults.get("interval"),
            group_by=one("group_by", DIMENSIONS) or defaults.get("group_by"),
            scale=one("scale", SCALES) or defaults.get("scale", "nps"),
        )
        for name, field in FILTERS.items():
            given = _many(args, name)
            if given is not None:
                values[field] = given
        return cls(**values)

    def args(self) -> list[tuple[str, str]]:
        """This query as query-string pairs (for links, exports and the pushed URL)."""
        pairs = [("from", self.start.isoformat()), ("to", self.end.isoformat())]
        for name in ("interval", "group_by"):
            if getattr(self, name):
                pairs.append((name, getattr(self, name)))
        if self.scale != "nps":
            pairs.append(("scale", self.scale))
        for name, field in FILTERS.items():
            pairs.extend((name, value) for value in getattr(self, field))
        return pairs

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> ReportQuery:
        """The period of the same length just before this one, with the same filters."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start)

    def but(self, **changes) -> ReportQuery:
        return replace(self, **changes)

    @property
    def filtered(self) -> bool:
        return any(getattr(self, field) for field in FILTERS.values())

    def filter_values(self) -> dict[str, tuple[str, ...]]:
        return {name: getattr(self, field) for name, field in FILTERS.items()}


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise ParameterError(name, N_("must be a date like 2026-11-01 in the years %(first)d to %(last)d"), first=MIN_YEAR, last=MAX_YEAR) from None


def _many(args: Mapping, name: str) -> tuple[str, ...] | None:
    if name not in args:
        return None
    # An empty ticket category is the category "no ticket" (NO_CATEGORY); elsewhere an empty value means no filter.
    values = tuple(dict.fromkeys(v.strip() for v in args.getlist(name) if v.strip() or name == "ticket_category"))
    if len(values) > MAX_FILTER_VALUES:
        raise ParameterError(name, N_("at most %(count)d values"), count=MAX_FILTER_VALUES)
    if any(len(v) > MAX_VALUE_LENGTH for v in values):
        raise ParameterError(name, N_("value too long"))
    return values
