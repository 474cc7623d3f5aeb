"""The reports page, the answers behind its figures and the CSV exports, as
staff use them: with and without htmx, with bad parameters, as an account
manager, and as a spreadsheet opens the files."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.extensions import db as _db
from portal.reports import rollup
from portal.reports.models import ExportLog
from portal.surveys.models import Response
from portal.web.transaction import unit_of_work
from tests.test_reports_engine import TODAY, seed_history

HTMX = {"HX-Request": "true"}
PERIOD = f"from={(TODAY - timedelta(days=180)).isoformat()}&to={TODAY.isoformat()}"


@pytest.fixture
def history(app, db):
    data = seed_history(random.Random(7), answers=300)
    with unit_of_work():
        rollup.rebuild()
    return data


def test_the_report_shows_charts_tables_and_segments(history, login_as):
    client = login_as(Role.MANAGER)
    response = client.get(f"/staff/reports?{PERIOD}&interval=month")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    for chart in ("chart-nps", "chart-csat", "chart-volume", "chart-distribution", "chart-csat-distribution"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html and f'id="{chart}-title"' in html
    assert "<script" not in html.split("<main", 1)[1]  # no chart JavaScript
    assert "NPS by segment" in html and "Nord" in html and "small sample" in html
    assert "/staff/reports/responses?" in html and "period=2026-" in html  # every figure links to its answers


def test_a_filter_change_with_htmx_swaps_the_results_only(history, login_as):
    client = login_as(Role.MANAGER)
    fragment = client.get(f"/staff/reports?{PERIOD}&region=Nord&interval=week", headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and "<form" not in html
    assert "chart-nps" in html and "filtered" in html


@pytest.mark.parametrize(("query", "name"), [("interval=day", "interval"), ("from=2026-02-30", "from"), ("from=2026-05-01&to=2026-04-01", "to")])
def test_a_bad_parameter_is_a_400_that_names_it(history, login_as, query, name):
    for headers in ({}, HTMX):
        response = login_as(Role.ADMIN).get(f"/staff/reports?{query}", headers=headers)
        assert response.status_code == 400 and f"{name}:" in response.get_data(as_text=True)


def test_an_account_manager_starts_with_their_portfolio_and_may_widen_it(history, app, login_as):
    client = login_as(Role.ACCOUNT_MANAGER, email="am-reader@operator.example")
    html = client.get(f"/staff/reports?{PERIOD}").get_data(as_text=True)
    assert "filtered" in html and "No answers in this period." in html  # their portfolio is empty
    assert "No answers in this period." not in client.get(f"/staff/reports?{PERIOD}&region=Nord&region=Süd").get_data(as_text=True)


def test_the_answers_behind_a_figure_with_comments_as_text(history, login_as):
    hostile = _db.session.scalar(select(Response).where(Response.comment == "schlecht"))
    hostile.comment = "<b>schlecht</b> =cmd|' /C calc'!A0"
    hostile.created_at = datetime.combine(TODAY, datetime.min.time()) - timedelta(hours=1)  # the newest: on the first page
    _db.session.commit()
    client = login_as(Role.MANAGER)
    html = client.get(f"/staff/reports/responses?{PERIOD}&q=schlecht").get_data(as_text=True)
    assert "&lt;b&gt;schlecht&lt;/b&gt;" in html and "<b>schlecht</b>" not in html
    fragment = client.get(f"/staff/reports/responses?{PERIOD}&q=SCHLECHT", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "schlecht" in fragment and "gut" not in fragment.split('class="answer-list"', 1)[-1]
    assert client.get("/staff/reports/responses?group=angry").status_code == 400
    assert client.get("/staff/reports/responses?period=2026-W99").status_code == 400


def test_csv_exports_open_safely_in_a_spreadsheet_and_are_logged(history, login_as):
    hostile = _db.session.scalar(select(Response).where(Response.comment == "schlecht"))
    hostile.comment = "=HYPERLINK(\"http://evil.example\")"
    _db.session.commit()
    client = login_as(Role.MANAGER)
    raw = client.get(f"/staff/reports/responses.csv?{PERIOD}&comments=1")
    assert raw.status_code == 200 and raw.headers["Content-Type"].startswith("text/csv")
    text = raw.get_data().decode("utf-8")
    assert text.startswith("\ufeffanswered_at,account,")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    german = client.get(f"/staff/reports/export.csv?{PERIOD}&view=series&sep=semicolon").get_data().decode("utf-8")
    header, first = german.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("period;responses;") and ";" in first
    assert any("," in cell and cell.replace(",", "").lstrip("-'").isdigit() for cell in german.replace("\r\n", ";").split(";"))  # decimal comma
    segments = client.get(f"/staff/reports/export.csv?{PERIOD}&view=segments").get_data().decode("utf-8")
    assert "region,Nord" in segments
    logs = list(_db.session.scalars(select(ExportLog).order_by(ExportLog.id)))
    assert [log.what for log in logs] == ["responses", "report:series", "report:segments"]
    assert logs[0].user_id is not None and logs[0].rows >= 1
    assert logs[1].parameters["sep"] == "semicolon" and logs[1].parameters["from"] == [(TODAY - timedelta(days=180)).isoformat()]
    assert client.get("/staff/reports/export.csv?view=pie").status_code == 400


def test_editors_see_no_reports(history, login_as):
    editor = login_as(Role.EDITOR)
    for path in ("/staff/reports", "/staff/reports/responses", "/staff/reports/export.csv", "/staff/reports/responses.csv"):
        assert editor.get(path).status_code == 403
