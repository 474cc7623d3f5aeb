"""CSV exports of the reports and of raw answers, as a spreadsheet opens them:
UTF-8 with a byte-order mark, in the exporter's language with semicolons and
decimal commas for German spreadsheets, machine codes on request, no cell a
spreadsheet would run as a formula, every export in the export log, the same
figures as the page."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.extensions import db as _db
from portal.reports import answers, exports
from portal.reports import services as reports
from portal.reports.models import ExportLog
from portal.reports.query import ReportQuery
from portal.surveys.models import Response
from tests.test_reports_engine import TODAY, counted_history

START = TODAY - timedelta(days=180)
PERIOD = f"from={START.isoformat()}&to={TODAY.isoformat()}"


@pytest.fixture
def history(app, db):
    return counted_history(11, answers=300)


def table(response, delimiter: str = ",") -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff"), "no byte-order mark"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


def logs() -> list[ExportLog]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(ExportLog).order_by(ExportLog.id)))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_text_cell_a_spreadsheet_would_run_is_neutralised(start):
    assert exports.neutralise(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"
    assert exports._cell(f"{start}1+1", semicolon=True) == f"'{start}1+1"


@pytest.mark.parametrize("value", ["Müller GmbH", "sehr gut = schnell", "5", "", " =1", "'quoted"])
def test_harmless_text_is_left_alone(value):
    assert exports.neutralise(value) == value


def test_numbers_stay_numbers_with_a_decimal_comma_for_german_spreadsheets():
    header, *rows = "".join(exports.csv_text(["a", "b", "c", "d"], [[-12.5, 3, None, True]], semicolon=True)).lstrip("\ufeff").splitlines()
    assert header == "a;b;c;d" and rows == ["-12,5;3;;True"]
    english = "".join(exports.csv_text(["a"], [[-12.5], ["-12.5"]]))
    assert english == "\ufeffa\r\n-12.5\r\n'-12.5\r\n"  # a number from the report, then a customer's text


def test_raw_answers_are_safe_to_open_and_logged(history, login_as):
    hostile = _db.session.scalar(select(Response).where(Response.comment == "schlecht"))
    hostile.comment = '=HYPERLINK("http://evil.example","klick")'
    hostile.created_at = datetime.combine(TODAY, datetime.min.time()) - timedelta(hours=2)
    _db.session.commit()
    client = login_as(Role.MANAGER)
    response = client.get(f"/staff/reports/responses.csv?{PERIOD}&comments=1&codes=1")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    header, first, *rest = table(response)
    assert header == ["answered_at", "account", "contact", "survey_kind", "ticket", "ticket_category", "nps", "csat", "comment"]
    assert first[-1] == "'" + hostile.comment  # the newest first, and never a formula
    assert first[0] == hostile.created_at.isoformat(timespec="seconds") + "Z"
    assert all(row[-1] for row in rest)  # "with a comment" only
    entry = logs()[-1]
    assert (entry.what, entry.rows, entry.user_id) == ("responses", 1 + len(rest), client.user.id)
    assert entry.parameters["from"] == [START.isoformat()] and entry.created_at is not None


def test_german_spreadsheets_get_semicolons_and_decimal_commas(history, login_as):
    client = login_as(Role.MANAGER)
    rows = table(client.get(f"/staff/reports/export.csv?{PERIOD}&view=nps&interval=month&sep=semicolon&codes=1"), delimiter=";")
    header, total = rows[0], rows[-1]
    assert header[:3] == ["period", "group", "responses"] and total[0] == "total"
    nps = total[header.index("nps")]
    expected = reports.report("nps", ReportQuery(start=START, end=TODAY, interval="month"))["total"]["nps"]
    assert nps == str(expected).replace(".", ",")
    assert logs()[-1].parameters["sep"] == "semicolon"


@pytest.mark.parametrize("view", ["nps", "csat", "response-rate", "distribution", "segments", "series"])
def test_every_report_view_exports_the_page_figures(history, login_as, view):
    client = login_as(Role.ADMIN)
    rows = table(client.get(f"/staff/reports/export.csv?{PERIOD}&view={view}&interval=month&codes=1"))
    assert len(rows) > 2
    overview = reports.overview(ReportQuery(start=START, end=TODAY, interval="month"))
    if view == "series":
        total = dict(zip(rows[0], rows[-1], strict=True))
        assert total["period"] == "total" and int(total["responses"]) == overview.total.nps.responses and int(total["sent"]) == overview.total.sent
    elif view == "segments":
        nord = next(dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[:2] == ["region", "Nord"])
        segment = next(s for s in overview.segments["region"] if s.group == "Nord")
        assert int(nord["responses"]) == segment.now.responses and float(nord["nps"]) == segment.now.nps
        # the significance comes with the interval that backs it
        assert (float(nord["change_ci_low"]), float(nord["change_ci_high"])) == (segment.change.low, segment.change.high)
    elif view == "distribution":
        total = dict(zip(rows[0], rows[-1], strict=True))
        assert [int(total[str(score)]) for score in range(11)] == [n for _score, n in overview.distribution]
    assert logs()[-1].what == f"report:{view}" and logs()[-1].rows == len(rows) - 1


@pytest.mark.parametrize(("query", "name"), [("view=pie", "view"), ("view=nps&from=2026-13-01", "from"), ("view=nps&interval=day", "interval")])
def test_a_bad_parameter_is_a_400_page_that_names_it_and_nothing_is_logged(history, login_as, query, name):
    response = login_as(Role.MANAGER).get(f"/staff/reports/export.csv?{query}")
    assert response.status_code == 400 and f"{name}:" in response.get_data(as_text=True)
    raw = login_as(Role.MANAGER).get("/staff/reports/responses.csv?group=angry")
    assert raw.status_code == 400 and "group:" in raw.get_data(as_text=True)
    assert logs() == []


def test_an_account_managers_export_is_their_portfolio_even_when_they_widen_it(history, login_as):
    """Figures are everyone's, files the portfolio's (README, Roles): widening the
    filter widens the page's figures, not the file."""
    client = login_as(Role.ACCOUNT_MANAGER, email="am-export@operator.example")
    own = table(client.get(f"/staff/reports/responses.csv?{PERIOD}"))
    assert len(own) == 1  # their portfolio is empty: the header only
    assert logs()[-1].parameters["account_manager"] == ["am-export@operator.example"]
    widened = table(client.get(f"/staff/reports/responses.csv?{PERIOD}&account_manager="))
    assert len(widened) == 1 and "account_manager" not in logs()[-1].parameters
    assert logs()[-1].parameters["portfolio"] == ["am-export@operator.example"] and logs()[-1].user_id == client.user.id
    figures = table(client.get(f"/staff/reports/export.csv?{PERIOD}&view=nps&account_manager=&codes=1"))
    assert figures[-1][0] == "total" and figures[-1][2] == "0"  # responses: none of their accounts answered
    manager = login_as(Role.MANAGER)
    assert len(table(manager.get(f"/staff/reports/responses.csv?{PERIOD}&account_manager="))) > 50
    assert "portfolio" not in logs()[-1].parameters


def test_csv_response_is_reusable_and_logs_who_exported_what(app, db, make_staff):
    user = make_staff(Role.MANAGER)
    query = ReportQuery(start=START, end=TODAY, regions=("Nord",))
    with app.test_request_context("/"):
        response = exports.csv_response("insights-x", ["name", "value"], [["+49 30 1234", 1.5], ["ok", 2]], what="insights:x", query=query, user=user, semicolon=True)
    body = b"".join(response.response).decode("utf-8")
    assert body == "\ufeffname;value\r\n'+49 30 1234;1,5\r\nok;2\r\n"
    assert 'filename="insights-x-' in response.headers["Content-Disposition"]
    entry = logs()[-1]
    assert (entry.what, entry.rows, entry.user_id) == ("insights:x", 2, user.id)
    assert entry.parameters == {"from": [START.isoformat()], "to": [TODAY.isoformat()], "region": ["Nord"], "sep": "semicolon"}


def test_editors_export_nothing(history, login_as):
    editor = login_as(Role.EDITOR)
    for path in ("/staff/reports/export.csv?view=nps", "/staff/reports/responses.csv"):
        assert editor.get(path).status_code == 403
    assert logs() == []


def test_a_german_export_is_in_german_words_for_german_spreadsheets(history, login_as):
    client = login_as(Role.MANAGER, language="de")
    rows = table(client.get(f"/staff/reports/export.csv?{PERIOD}&view=segments&interval=month"), delimiter=";")
    header = rows[0]
    assert header[:4] == ["Aufgeteilt nach", "Gruppe", "Segment", "Antworten"] and "Signifikant" in header
    nord = dict(zip(header, next(row for row in rows[1:] if row[1] == "Nord"), strict=True))
    assert nord["Aufgeteilt nach"] == "Region" and nord["Kleine Stichprobe"] in ("ja", "nein")
    segment = next(s for s in reports.overview(ReportQuery(start=START, end=TODAY, interval="month")).segments["region"] if s.group == "Nord")
    assert nord["NPS"] == str(segment.now.nps).replace(".", ",")  # a number German Excel reads as one

    series = table(client.get(f"/staff/reports/export.csv?{PERIOD}&view=series&interval=week"), delimiter=";")
    assert series[0][0] == "Zeitraum" and series[1][0].startswith("KW ") and series[-1][0] == "Gesamt"


def test_an_english_export_is_in_english_words_with_commas(history, login_as):
    client = login_as(Role.MANAGER, language="en")
    rows = table(client.get(f"/staff/reports/responses.csv?{PERIOD}"))
    header, first = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[0] == "Answered (Europe/Berlin)" and header[1:4] == ["Account", "Contact", "Survey"]
    assert first["Survey"] in ("After a ticket is closed", "After an installation", "Periodic NPS", "Custom")
    categories = {dict(zip(header, row, strict=True))["Ticket category"] for row in rows[1:]}
    assert categories <= {"Technical", "Billing", "Provisioning", "General", ""} and categories - {""}
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d", first[header[0]])


def test_answers_read_in_german_with_the_operators_time(history, login_as):
    newest = _db.session.scalar(select(Response).order_by(Response.created_at.desc()))
    newest.created_at = datetime(2026, 1, 15, 23, 30)  # UTC: the 16th in Berlin
    newest.nps_score, newest.csat_score = 7, None
    _db.session.commit()
    client = login_as(Role.MANAGER, language="de")
    text = client.get(f"/staff/reports/responses.csv?from=2026-01-01&to=2026-02-01&account_manager=").get_data(as_text=True)
    assert "16.01.2026 00:30" in text and "2026-01-15T23:30" not in text
    machine = client.get(f"/staff/reports/responses.csv?from=2026-01-01&to=2026-02-01&account_manager=&codes=1").get_data(as_text=True)
    assert "2026-01-15T23:30:00Z" in machine and machine.lstrip("\ufeff").startswith("answered_at,account,contact,survey_kind")


@pytest.mark.parametrize(("args", "codes", "semicolon"), [
    ({}, False, True),
    ({"codes": "1"}, True, False),
    ({"format": "codes"}, True, False),
    ({"codes": "1", "sep": "semicolon"}, True, True),
    ({"sep": "comma"}, False, False),
])
def test_the_csv_style_follows_the_request_and_the_language(app, args, codes, semicolon):
    from flask_babel import force_locale

    with app.test_request_context("/"):
        with force_locale("de"):
            assert exports.CsvStyle.from_args(args) == exports.CsvStyle(codes=codes, semicolon=semicolon)
        with force_locale("en"):
            assert exports.CsvStyle.from_args({}).semicolon is False


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_time_in_words_reads_as_the_pages_write_it(app, language):
    """The export's fast path for times (one per raw answer) writes what format_date and format_time write."""
    from portal.web.dates import format_date, format_time

    with app.test_request_context(headers={"Accept-Language": language}):
        from flask_babel import refresh

        refresh()
        moment = exports._moment_words()
        for value in (datetime(2026, 3, 29, 0, 59, 59), datetime(2026, 3, 29, 1, 0), datetime(2026, 10, 25, 0, 30), datetime(2026, 12, 31, 23, 30), datetime(2025, 1, 1, 0, 0, 5)):
            assert moment(value) == f"{format_date(value)} {format_time(value)}"


def test_the_raw_answers_stream_and_are_logged_with_their_count(history, login_as):
    client = login_as(Role.MANAGER)
    response = client.get(f"/staff/reports/responses.csv?{PERIOD}&codes=1", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    text = b"".join(response.response).decode("utf-8-sig")
    response.close()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == answers.EXPORT_HEADER and len(rows) - 1 == logs()[-1].rows > 0
    assert client.get("/staff/reports/responses.csv?period=2026-W99").status_code == 400  # a bad parameter, before the download begins


def test_a_streamed_export_reads_its_rows_as_a_reader_after_logging(app, db, make_staff):
    """The log is a write (begin_writing); the rows that stream after it must not hold SQLite's writer queue."""
    from portal.extensions import write_intent

    user = make_staff(role=Role.ADMIN)
    seen = []

    def rows():
        seen.append(write_intent.get())
        yield ["a", 1]

    with app.test_request_context("/staff/reports/responses.csv"):
        response = exports.csv_response("answers", ["name", "value"], rows(), count=1, what="responses", query=None, user=user)
        assert write_intent.get() is True  # the log was written as a writer
        assert "".join(response.response).lstrip("\ufeff").splitlines() == ["name,value", "a,1"]
        response.close()
    assert seen == [False]
