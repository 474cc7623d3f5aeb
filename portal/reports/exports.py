"""CSV exports of the reports and of raw answers, and their log.

- UTF-8 with a byte-order mark, so spreadsheet programs read umlauts right;
- ``sep=semicolon`` for German spreadsheets: semicolons between cells and a
  decimal comma in numbers;
- a text cell that starts with = + - @, a tab or a carriage return is
  prefixed with ' so that no spreadsheet runs it as a formula (CSV injection);
  numbers the report computed (ints and floats, −12.5 too) stay numbers;
- every export is written to the export log: who, when, what, which filters
  and how many rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from flask import Response

from portal.extensions import db
from portal.reports import services
from portal.reports.models import ExportLog
from portal.reports.query import ReportQuery
from portal.web.transaction import begin_writing

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
#: Report views a CSV can be made of: the API's metrics, the series by period and the segments.
VIEWS = ("nps", "csat", "response-rate", "distribution", "series", "segments")


def neutralise(value) -> str:
    """A cell as text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(DANGEROUS_START):
        return "'" + text
    return text


def _cell(value, semicolon: bool) -> str:
    """A number the report computed stays a number (−12.5 is no formula, and a
    spreadsheet must be able to sum it); every text is neutralised."""
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


def csv_response(filename_stem: str, header: list[str], rows: list[list], *, what: str, query: ReportQuery | None, user=None, semicolon: bool = False) -> Response:
    """A CSV download of rows already computed (reports are small), logged."""
    from flask_login import current_user

    log_export(user or current_user, what, query, len(rows), {"sep": "semicolon"} if semicolon else None)
    return _download(filename_stem, "".join(csv_text(header, rows, semicolon)))


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
        header = ["dimension", "group", "label", "responses", "nps", "ci_low", "ci_high", "small_sample", "previous_responses", "previous_nps", "change", "significant"]
        rows = []
        for dimension, segments in overview.segments.items():
            for s in segments:
                low, high = s.now.interval
                rows.append([dimension, s.group or "", s.label, s.now.responses, s.now.nps, low, high, s.now.small_sample, s.before.responses, s.before.nps, s.change.delta, s.change.significant])
        return header, rows
    data = services.report(view, query)
    figure_names = [k for k in data["total"] if k != "counts"]
    counts = list(data["total"].get("counts", {}))
    header = ["period", "group", *figure_names, *counts]
    rows = [[r["period"] or "", r["group"] or "", *[r[k] for k in figure_names], *[r["counts"][c] for c in counts]] for r in data["rows"]]
    rows.append(["total", "", *[data["total"][k] for k in figure_names], *[data["total"]["counts"][c] for c in counts]])
    return header, rows
