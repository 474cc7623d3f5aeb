"""CSV exports of the reports and of raw answers, and their log.

- UTF-8 with a byte-order mark, so spreadsheet programs read umlauts right;
- for people by default, in the exporter's language: column names and values
  in words (ja/nein, survey kinds, "KW 36/2026", dates in the operator's time
  zone). German exports have semicolons between cells and a decimal comma,
  which German spreadsheets open as they are; English ones commas and a
  decimal point. Numbers stay bare numbers (no thousands separator);
- ``codes=1`` for integrations: the machine names of the columns (snake_case)
  and raw values (``post_ticket``, ``True``, ISO 8601 in UTC, ``2026-W36``),
  commas and a decimal point;
- ``sep=semicolon`` or ``sep=comma`` chooses the separator in either form;
  with semicolons numbers have a decimal comma;
- a text cell that starts with = + - @, a tab or a carriage return is
  prefixed with ' so that no spreadsheet runs it as a formula (CSV injection);
  numbers the report computed (ints and floats, −12.5 too) stay numbers;
- every export is written to the export log: who, when, what, which filters
  and how many rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone

import flask_babel
from babel import dates as babel_dates
from flask import Response, current_app, stream_with_context
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.customers.models import TICKET_CATEGORIES
from portal.extensions import db, write_intent
from portal.reports import services
from portal.reports.models import ExportLog
from portal.reports.query import ReportQuery
from portal.web.transaction import begin_writing
from portal.surveys.models import SurveyKind
from portal.web.dates import _patterns as dates_patterns
from portal.web.dates import format_date, format_time, period_label
from portal.web.i18n import lazy_gettext as _l

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
#: Report views a CSV can be made of: the API's metrics, the series by period and the segments.
VIEWS = ("nps", "csat", "response-rate", "distribution", "series", "segments")


#: Column names for people; the keys are the machine names (``codes=1``). A
#: column not listed keeps its machine name.
COLUMN_LABELS = {
    "period": _l("Period"),
    "group": _l("Group"),
    "dimension": _l("Segmented by"),
    "label": _l("Segment"),
    "responses": _l("Answers"),
    "promoters": _l("Promoters"),
    "passives": _l("Passives"),
    "detractors": _l("Detractors"),
    "nps": _l("NPS"),
    "ci_low": _l("lower bound of the 95 percent interval"),
    "ci_high": _l("upper bound of the 95 percent interval"),
    "small_sample": _l("Small sample"),
    "csat_responses": _l("CSAT answers"),
    "satisfied": _l("Satisfied (4–5)"),
    "csat": _l("CSAT %"),
    "csat_mean": _l("Mean (1–5)"),
    "mean": _l("Mean (1–5)"),
    "sent": _l("Invitations sent"),
    "answered": _l("Invitations answered"),
    "rate": _l("Response rate %"),
    "previous_responses": _l("Answers in the previous period"),
    "previous_nps": _l("NPS in the previous period"),
    "change": _l("Change"),
    "change_ci_low": _l("lower bound of the change's 95 percent interval"),
    "change_ci_high": _l("upper bound of the change's 95 percent interval"),
    "significant": _l("Significant"),
    "accounts": _l("Accounts"),
    "answered_at": _l("Answered"),
    "account": _l("Account"),
    "contact": _l("Contact"),
    "survey_kind": _l("Survey"),
    "ticket": _l("Ticket"),
    "ticket_category": _l("Ticket category"),
    "comment": _l("Comment"),
}
DIMENSION_LABELS = {
    "region": _l("Region"),
    "service_type": _l("Service type"),
    "account_manager": _l("Account manager"),
    "ticket_category": _l("Ticket category"),
}
#: Columns whose values are codes, and the words people read for them.
VALUE_WORDS: dict[str, Callable[[str], str]] = {
    "period": lambda key: _("Total") if key == "total" else period_label(key),
    "dimension": lambda code: str(DIMENSION_LABELS.get(code, code)),
    "survey_kind": lambda code: str(SurveyKind.LABELS.get(code, code)),
    "ticket_category": lambda code: str(TICKET_CATEGORIES.get(code, code)),
}


@dataclass(frozen=True)
class CsvStyle:
    """How one CSV is written: for people (the default) or with ``codes``,
    and with semicolons and a decimal comma or with commas and a decimal point."""

    codes: bool = False
    semicolon: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CsvStyle:
        codes = args.get("codes", "").lower() in ("1", "true", "yes") or args.get("format") == "codes"
        sep = args.get("sep")
        if sep in ("semicolon", "comma"):
            return cls(codes=codes, semicolon=sep == "semicolon")
        locale = get_locale()
        return cls(codes=codes, semicolon=not codes and locale is not None and locale.language == "de")


def for_people(header: list[str], rows: Iterable[list]) -> tuple[list[str], Iterable[list]]:
    """Column names and coded values in words, in the current language."""
    zone = current_app.config.get("PORTAL_TIMEZONE", "UTC")
    labels = [str(COLUMN_LABELS.get(name, name)) for name in header]
    labels = [f"{label} ({zone})" if name == "answered_at" else label for name, label in zip(header, labels, strict=True)]
    words = [VALUE_WORDS.get(name) for name in header]
    # A column in words has few distinct codes: each is put in words once per export (the language cannot change within it).
    said: list[dict] = [{} for _name in header]
    moment = _moment_words()

    def word(convert, known: dict, value):
        text = known.get(value)
        if text is None:
            text = known[value] = convert(value)
        return text

    def in_words(row: list) -> list:
        return [
            (moment(value) if isinstance(value, datetime) else _plain(value)) if convert is None or value in (None, "") else word(convert, known, value)
            for convert, known, value in zip(words, said, row, strict=True)
        ]

    return labels, (in_words(row) for row in rows)


def _moment_words() -> Callable[[datetime], str]:
    """A time as ``_plain`` writes it (03.12.2026 12:08 in the operator's zone), with the
    language, the patterns and the zone looked up once: a raw export writes one per row."""
    patterns, zone, locale = dates_patterns(), flask_babel.get_timezone(), get_locale()
    pattern = f"{patterns['date']} {patterns['time']}"

    def words(value: datetime) -> str:
        return babel_dates.format_datetime(value if value.tzinfo else value.replace(tzinfo=timezone.utc), pattern, tzinfo=zone, locale=locale)

    return words


def _plain(value):
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):  # 03.12.2026 12:08 in the operator's zone: a spreadsheet reads it as a date
        return f"{format_date(value)} {format_time(value)}"
    if isinstance(value, date):
        return format_date(value)
    return value


def neutralise(value) -> str:
    """A cell as text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(DANGEROUS_START):
        return "'" + text
    return text


def _cell(value, semicolon: bool) -> str:
    """A number the report computed stays a number (−12.5 is no formula, and a
    spreadsheet must be able to sum it); every text is neutralised. A time is
    ISO 8601 in UTC (with codes; for people it was put in words before)."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return neutralise(value)
    text = str(value)
    return text.replace(".", ",") if semicolon and isinstance(value, float) else text


def csv_text(header: list[str], rows: Iterable[list], semicolon: bool = False) -> Iterable[str]:
    """The CSV, chunk by chunk, starting with the byte-order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if semicolon else ",", lineterminator="\r\n")
    yield BOM
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v, semicolon) for v in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def log_export(user, what: str, query: ReportQuery | None, rows: int, extra: dict | None = None) -> ExportLog:
    """Log an export whose rows were read: in a write transaction of its own,
    queued like every other writer (a GET reads first; see ``begin_writing``)."""
    user_id = user.id if user else None
    begin_writing()
    entry = ExportLog(user_id=user_id, what=what, parameters={**dict_of(query), **(extra or {})}, rows=rows, created_at=datetime.utcnow())
    db.session.add(entry)
    db.session.flush()
    return entry


def dict_of(query: ReportQuery | None) -> dict:
    parameters: dict[str, list[str]] = {}
    for name, value in query.args() if query else []:
        parameters.setdefault(name, []).append(value)
    if query is not None and query.portfolio:
        parameters["portfolio"] = [query.portfolio]  # an account manager's file: their accounts only
    return parameters


def csv_response(
    filename_stem: str,
    header: list[str],
    rows: list[list] | Iterable[list],
    *,
    what: str,
    query: ReportQuery | None,
    user=None,
    semicolon: bool = False,
    style: CsvStyle | None = None,
    count: int | None = None,
) -> Response:
    """A CSV download, logged.

    ``header`` holds the machine names and ``rows`` the raw values; ``style``
    (from the request's ``codes`` and ``sep``) says whether they are put in
    words. Without it the CSV has codes, with semicolons if ``semicolon``.

    ``rows`` is either a list computed already (reports are small), or, with its
    ``count`` given (the export log is written before the first row), an iterable
    read while the CSV streams out in chunks: fifty thousand raw answers never sit
    in memory at once, and the first bytes leave before the last row is read."""
    from flask_login import current_user

    style = style or CsvStyle(codes=True, semicolon=semicolon)
    log_export(user or current_user, what, query, len(rows) if count is None else count, {"sep": "semicolon"} if style.semicolon else None)
    if not style.codes:
        header, rows = for_people(header, rows)
    if count is None:
        return _download(filename_stem, "".join(csv_text(header, rows, style.semicolon)))
    # The request commits the log (after_request) before the body is read; the rows are read after it, in the request's context.
    return _download(filename_stem, stream_with_context(csv_text(header, _as_reader(rows), style.semicolon)))


def _as_reader(rows: Iterable[list]) -> Iterable[list]:
    """Rows read while a CSV streams, after the request committed its export log: in a
    reader's transaction again (a plain BEGIN on SQLite), so a long download never holds
    the writers' queue that survey answers wait in."""
    write_intent.set(False)
    yield from rows


def _download(filename_stem: str, body) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename_stem}-{datetime.utcnow():%Y-%m-%d}.csv"'
    return response


def report_rows(view: str, query: ReportQuery) -> tuple[list[str], list[list]]:
    """The rows of one report view, as the page shows them (the same service functions)."""
    if view == "series":
        overview = services.overview(query)
        header = ["period", "responses", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high", "csat_responses", "csat", "csat_mean", "sent", "answered", "rate"]
        rows = []
        for row in [*overview.series, overview.total]:
            low, high = row.nps.interval if row.nps.responses else (None, None)
            rows.append([row.period or "total", row.nps.responses, row.nps.promoters, row.nps.passives, row.nps.detractors, row.nps.nps, low, high,
                         row.csat.responses, row.csat.csat, row.csat.mean, row.sent, row.answered, row.rate])  # fmt: skip
        return header, rows
    if view == "segments":
        overview = services.overview(query)
        header = ["dimension", "group", "label", "responses", "nps", "ci_low", "ci_high", "small_sample", "previous_responses", "previous_nps", "change", "significant", "change_ci_low", "change_ci_high"]
        rows = []
        for dimension, segments in overview.segments.items():
            for s in segments:
                low, high = s.now.interval
                rows.append([dimension, s.group or "", s.label, s.now.responses, s.now.nps, low, high, s.now.small_sample, s.before.responses, s.before.nps, s.change.delta, s.change.significant, s.change.low, s.change.high])
        return header, rows
    data = services.report(view, query)
    figure_names = [k for k in data["total"] if k != "counts"]
    counts = list(data["total"].get("counts", {}))
    header = ["period", "group", *figure_names, *counts]
    rows = [[r["period"] or "", r["group"] or "", *[r[k] for k in figure_names], *[r["counts"][c] for c in counts]] for r in data["rows"]]
    rows.append(["total", "", *[data["total"][k] for k in figure_names], *[data["total"]["counts"][c] for c in counts]])
    return header, rows
