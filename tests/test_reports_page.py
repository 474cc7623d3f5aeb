"""The reports page, the answers behind its figures and the CSV exports, as
staff use them: with and without htmx, with bad parameters, as an account
manager, and as a spreadsheet opens the files."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.extensions import db as _db
from portal.reports import services as reports
from portal.reports.query import ReportQuery
from portal.signals import message_sent
from portal.surveys.models import Response
from portal.timeutil import utcnow
from portal.web.transaction import unit_of_work
from tests.test_reports_engine import TODAY, counted_history

HTMX = {"HX-Request": "true"}
START = TODAY - timedelta(days=180)
PERIOD = f"from={START.isoformat()}&to={TODAY.isoformat()}"


def answer_links(html: str) -> list[str]:
    """The links to the answers behind the figures, in page order."""
    return [unescape(href) for href in re.findall(r'href="(/staff/reports/responses\?[^"]*)"', html)]


def answers_listed(client, link: str) -> int:
    html = client.get(link).get_data(as_text=True)
    return int(re.search(r"(\d+) answers?\b", html.split('id="answers"', 1)[1]).group(1))


@pytest.fixture
def history(app, db):
    return counted_history(7, answers=300)


def test_the_report_shows_charts_tables_and_segments(history, login_as):
    client = login_as(Role.MANAGER)
    response = client.get(f"/staff/reports?{PERIOD}&interval=month")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    for chart in ("chart-nps", "chart-csat", "chart-volume", "chart-distribution", "chart-csat-distribution"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html and f'id="{chart}-title"' in html
    assert "<script" not in html.split("<main", 1)[1]  # no chart JavaScript
    assert "NPS by segment" in html and "Nord" in html and "small sample" in html
    assert '<figcaption class="chart-note">The band shows the 95 % confidence interval' in html  # beside the NPS chart
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


def test_editors_see_no_reports(history, login_as):
    editor = login_as(Role.EDITOR)
    for path in ("/staff/reports", "/staff/reports/responses", "/staff/reports/export.csv", "/staff/reports/responses.csv"):
        assert editor.get(path).status_code == 403


def test_every_figure_opens_the_answers_behind_it(history, login_as):
    """Only the answers the figure counts (every figure type: tests/test_drilldown.py)."""
    client = login_as(Role.MANAGER)
    html = client.get(f"/staff/reports?{PERIOD}&interval=month").get_data(as_text=True)
    overview = reports.overview(ReportQuery(start=START, end=TODAY, interval="month"))
    links = answer_links(html)

    month = overview.series[-2]  # a period point: in the table and, for a mouse, on the chart
    for group, figures in (("nps", month.nps), ("csat", month.csat)):
        period = next(link for link in links if f"period={month.period}" in link and f"group={group}" in link)
        assert answers_listed(client, period) == figures.responses
        assert html.count(f'<a href="{period.replace("&", "&amp;")}" aria-label="{month.period}') == 1  # its chart's point
    assert not any(f"period={month.period}" in link and "group=" not in link for link in links)  # sent and answered count invitations

    promoters = next(link for link in links if "group=promoter" in link)  # a row of the distribution's table
    assert answers_listed(client, promoters) == overview.total.nps.promoters
    ten = next(link for link in links if "nps_score=10" in link)  # the bar of 10
    assert answers_listed(client, ten) == dict(overview.distribution)[10]
    assert html.count(f'<a href="{ten.replace("&", "&amp;")}" aria-label="') == 1

    nord = next(link for link in links if "region=Nord" in link)  # a segment row
    segment = next(s for s in overview.segments["region"] if s.group == "Nord")
    assert "group=nps" in nord and answers_listed(client, nord) == segment.now.responses


def test_a_history_restore_gets_the_whole_page(history, login_as):
    """historyCacheSize is 0: back and forward fetch the URL again with this header."""
    client = login_as(Role.MANAGER)
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = client.get(f"/staff/reports?{PERIOD}&region=Nord", headers=restore).get_data(as_text=True)
    assert "<html" in html and 'action="/staff/reports"' in html and '<input type="checkbox" name="region" value="Nord" checked>' in html and "chart-nps" in html


def test_period_presets_keep_every_filter(history, login_as):
    client = login_as(Role.MANAGER)
    html = client.get("/staff/reports?region=Nord&interval=month").get_data(as_text=True)
    presets = re.findall(r'<a class="button" href="([^"]*)"( aria-current="true")?>(Last \d+ days)</a>', html)
    assert [label for _href, _current, label in presets] == ["Last 30 days", "Last 90 days", "Last 365 days"]
    assert [bool(current) for _href, current, _label in presets] == [False, True, False]  # the default: 90 days
    href = unescape(presets[0][0])
    assert "region=Nord" in href and "interval=month" in href
    start = utcnow().date() + timedelta(days=1) - timedelta(days=30)
    shown = client.get(href).get_data(as_text=True)
    assert f'name="from" value="{start.isoformat()}"' in shown and '<input type="checkbox" name="region" value="Nord" checked>' in shown


def test_an_account_manager_may_widen_the_figures_but_reads_only_their_portfolios_answers(history, login_as):
    """Figures are everyone's, single answers the portfolio's (README, Roles)."""
    client = login_as(Role.ACCOUNT_MANAGER, email="am-wide@operator.example")
    html = client.get(f"/staff/reports?{PERIOD}&account_manager=").get_data(as_text=True)
    assert "No answers in this period." not in html  # everyone's figures
    assert '<input type="hidden" name="account_manager" value="">' in html  # the form sends "all" when nothing is chosen
    link = next(link for link in answer_links(html) if "period=" in link)
    assert "account_manager=" in link and answers_listed(client, link) == 0  # their portfolio is empty
    assert "You see the answers of your own accounts" in client.get(link).get_data(as_text=True)
    assert answers_listed(login_as(Role.MANAGER), link) > 0


def test_a_bad_parameter_on_the_answers_is_a_400_with_htmx_too(history, login_as):
    fragment = login_as(Role.MANAGER).get("/staff/reports/responses?period=2026-W99", headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 400 and "<html" not in html and "period:" in html


def test_an_answer_on_the_survey_page_is_on_the_report_at_once(client, db, login_as, make_account, make_contact, make_invitation):
    account = make_account(external_id="CRM-REPORT", region="Ost")
    invitation, token = make_invitation(kind="nps", contact=make_contact(account=account))
    with unit_of_work():
        message_sent.send(None, message_ids=[invitation.outbox_message_id], sent_at=datetime.utcnow())
    score, follow_up = invitation.survey.questions[:2]
    assert client.post(f"/s/{token}", data={"question": score.id, "answer": "2"}).status_code == 303
    assert client.post(f"/s/{token}", data={"question": follow_up.id, "answer": "<b>Leitung</b> =tot"}).status_code == 303

    manager = login_as(Role.MANAGER)
    html = manager.get("/staff/reports?region=Ost").get_data(as_text=True)
    assert re.search(r'<span class="figure">−100[.,]0</span></a> NPS', html)
    assert "1 of 1 invitations answered" in html
    detractors = next(link for link in answer_links(html) if "group=detractor" in link)
    listed = manager.get(detractors).get_data(as_text=True)
    assert "&lt;b&gt;Leitung&lt;/b&gt; =tot" in listed and "<b>Leitung</b>" not in listed


def test_the_filters_are_checkbox_lists_that_send_the_same_parameters(history, login_as):
    """No Ctrl-click list boxes: each filter is a list of checkboxes under the parameter's
    name (region=Nord&region=Süd, as before), the chosen ones ticked, first and named."""
    client = login_as(Role.MANAGER)
    html = client.get(f"/staff/reports?{PERIOD}&region=Süd&region=Nord&survey_kind=nps").get_data(as_text=True)
    form = html.split('class="card stack report-filters"', 1)[1].split("</form>", 1)[0]
    assert "<select" in form and "multiple" not in form  # only the interval is a select
    regions = re.findall(r'<input type="checkbox" name="region" value="([^"]+)"( checked)?>', form)
    assert regions[:2] == [("Nord", " checked"), ("Süd", " checked")] and all(not checked for _value, checked in regions[2:])
    assert re.search(r'class="multi-chosen"[^>]*>Nord, Süd</span>', form)
    assert re.search(r'class="multi-chosen"[^>]*>all</span>', form)  # a list with nothing ticked: all
    filtered = client.get(f"/staff/reports?{PERIOD}&region=Nord").get_data(as_text=True)
    assert "filtered" in filtered


def test_in_german_the_band_is_explained_and_the_filters_say_how_to_choose(history, login_as):
    client = login_as(Role.MANAGER)
    client.post("/language", data={"lang": "de", "next": "/staff/reports", "csrf_token": client.csrf})
    html = client.get(f"/staff/reports?{PERIOD}").get_data(as_text=True)
    assert "Das Band zeigt das 95-%-Konfidenzintervall" in html
    assert "nichts angekreuzt bedeutet alle" in html and "Strg" not in html and "Ctrl" not in html


def test_a_long_weekly_report_lists_the_latest_periods_and_keeps_the_rest_behind_a_link(history, login_as):
    """The week chosen is kept over a long period; its tables page (charts.TABLE_PERIODS) so the page stays light."""
    from portal.reports import charts

    client = login_as(Role.MANAGER)
    year = f"from={(TODAY - timedelta(days=364)).isoformat()}&to={TODAY.isoformat()}"
    series = reports.overview(ReportQuery(start=TODAY - timedelta(days=364), end=TODAY, interval="week")).series
    assert len(series) > charts.TABLE_PERIODS
    html = client.get(f"/staff/reports?{year}&interval=week").get_data(as_text=True)
    assert '<option value="week" selected>' in html  # the choice is kept
    nps_table = html.split('id="nps-time"', 1)[1].split("<table", 1)[1].split("</table>", 1)[0]
    assert nps_table.count('<th scope="row">') == charts.TABLE_PERIODS
    assert f"period={series[-1].period}&amp;group=nps" in nps_table and f"period={series[0].period}&amp;group=nps" not in nps_table
    assert f"The latest {charts.TABLE_PERIODS} of {len(series)} periods." in html
    more = unescape(re.search(r'href="([^"]*periods=all[^"]*)"', html).group(1))
    assert "interval=week" in more and more.endswith("#nps-time")
    everything = client.get(more.split("#")[0]).get_data(as_text=True)
    full = everything.split('id="nps-time"', 1)[1].split("<table", 1)[1].split("</table>", 1)[0]
    assert full.count('<th scope="row">') == len(series) and "<details open>" in everything and "periods=all" not in full
    for link in answer_links(full)[:3]:  # the earlier periods open their answers from the full table
        period = re.search(r"period=([^&]+)", link).group(1)
        row = next(row for row in series if row.period == period)
        assert answers_listed(client, link) == row.nps.responses
    fragment = client.get(f"/staff/reports?{year}&interval=week", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "periods=all" in fragment
