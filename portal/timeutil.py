"""Time helpers. The database stores naive UTC datetimes on every backend."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

#: Dates and times outside these years are mistakes (or attacks): a period
#: ending in 9999 would overflow the calendar as soon as it is extended.
MIN_YEAR, MAX_YEAR = 2000, 2100
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_day(text: str) -> date:
    """A date written ``YYYY-MM-DD`` in the years MIN_YEAR–MAX_YEAR; ValueError otherwise.

    Stricter than ``date.fromisoformat``, which also takes ``20261101`` and
    ISO week dates (``2026-W47-1``): the forms and the API say YYYY-MM-DD.
    """
    if not _DAY.fullmatch(text):
        raise ValueError(f"not a date like 2026-11-01: {text!r}")
    day = date.fromisoformat(text)
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"not in the years {MIN_YEAR} to {MAX_YEAR}: {text!r}")
    return day
