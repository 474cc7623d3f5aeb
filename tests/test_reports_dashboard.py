"""The staff dashboard: NPS of the last 90 days against the 90 before, trend,
response rate, latest comments (detractors first), accounts at risk, panels of
other packages, and what each role sees first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest


from portal.auth.models import Role
from portal.reports import dashboard, rollup
from portal.reports.metrics import NpsFigures
from portal.surveys.models import InvitationStatus, Response
from portal.timeutil import utcnow
from tests.access_roles import HTMX

URL = "/staff/"


@pytest.fixture
def answer(db, make_survey, make_invitation):
    """Record an answer as of ``days_ago`` (the invitation sent just before it);
    call ``rebuild()`` afterwards, as bulk writes do."""
    surveys = {}

    def _answer(contact, nps=None, csat=None, comment=None, days_ago=1, kind="nps", ticket=None):
        if kind not in surveys:
            surveys[kind] = make_survey(kind)
        invitation, _token = make_invitation(survey=surveys[kind], contact=contact, ticket=ticket)
        at = utcnow() - timedelta(days=days_ago)
        invitation.sent_at = at - timedelta(hours=1)
        invitation.status = InvitationStatus.ANSWERED
        invitation.answered_at = at
        response = Response(
            invitation_id=invitation.id,
            survey_id=invitation.survey_id,
            account_id=contact.account_id,
            contact_id=contact.id,
            ticket_id=ticket.id if ticket else None,
            nps_score=nps,
            csat_score=csat,
            comment=comment,
            created_at=at,
            completed_at=at,
        )
        db.session.add(response)
        db.session.commit()
        return response

    return _answer


def rebuild(db):
    rollup.rebuild()
    db.session.commit()


def test_nps_against_the_90_days_before_with_trend_and_response_rate(db, login_as, make_contact, make_account, answer):
    account = make_account(name="Nordwind AG")
    contacts = [make_contact(account=account) for _ in range(4)]
    for c in contacts:  # now: 3 promoters, 1 detractor → NPS 50
        answer(c, nps=10 if c is not contacts[0] else 3, days_ago=10)
    for c in contacts:  # before: all detractors → NPS −100
        answer(c, nps=2, days_ago=120)
    rebuild(db)

    board = dashboard.dashboard_for(login_as(Role.MANAGER).user)
    assert board.nps == NpsFigures(4, 3, 0, 1) and board.nps.nps == 50.0
    # By hand: adjusted Wald −57.1 (Var 0.0656) before, 28.6 (Var 0.1006) now: +85.7 ± 79.9 → 5.8 … 165.6.
    # The interval excludes 0, but four answers a side are too few to call it significant.
    assert board.previous.nps == -100.0 and board.change.delta == 150.0
    assert (board.change.low, board.change.high, board.change.significant, board.change.why) == (5.8, 165.6, False, "too_few")
    assert board.sent == 4 and board.answered == 4 and board.rate == 100.0
    assert [p.value for p in board.trend.points if p.value is not None] == [-100.0, 50.0]

    html = login_as(Role.MANAGER).get(URL).get_data(as_text=True)
    assert "All customers" in html and "Your customers" not in html
    assert "+150.0" in html and "too few answers to tell" in html and "significant change" not in html and "100.0 %" in html
    assert "95 % interval of the change 5.8 to 165.6" in html
    svg = re.search(r"<svg.*?</svg>", html, re.DOTALL).group(0)
    assert "<title" in svg and "<desc" in svg
    assert "<polyline" not in svg and svg.count('r="2"') == 2  # two weeks with answers, months apart: two dots, no line bridging the weeks between
    assert "Show the numbers" in html  # the same numbers as a table


def test_no_answers_show_no_figures_but_no_error(login_as):
    html = login_as(Role.ADMIN).get(URL).get_data(as_text=True)
    assert "Not enough answers for a trend yet." in html and "No comments in the last 90 days." in html
    assert "No comparison" in html


def test_account_manager_sees_only_their_portfolio(db, login_as, make_staff, make_account, make_contact, answer):
    client = login_as(Role.ACCOUNT_MANAGER)
    mine = make_account(name="Meine Kunde GmbH", account_manager_id=client.user.id)
    other = make_account(name="Fremde AG", account_manager_id=make_staff(role=Role.ACCOUNT_MANAGER).id)
    answer(make_contact(account=mine), nps=2, comment="Meine Leitung fällt ständig aus")
    answer(make_contact(account=other), nps=1, comment="Fremder Kommentar")
    answer(make_contact(account=other), nps=1)
    rebuild(db)

    board = dashboard.dashboard_for(client.user)
    assert board.nps.responses == 1 and board.account_count == 1
    assert [r.comment for r in board.comments] == ["Meine Leitung fällt ständig aus"]
    assert [a.name for a in board.at_risk] == ["Meine Kunde GmbH"]

    html = client.get(URL).get_data(as_text=True)
    assert "Your customers" in html and "All customers" not in html
    assert "Meine Kunde GmbH" in html and "Fremde AG" not in html and "Fremder Kommentar" not in html


def test_comments_detractors_first_and_plain_text(db, login_as, make_contact, answer):
    contact = make_contact()
    answer(contact, nps=10, comment="Alles super", days_ago=1)
    answer(contact, nps=3, comment="<script>alert(1)</script> zu langsam", days_ago=5)
    answer(contact, nps=8, comment="Ganz ok", days_ago=2)
    answer(contact, nps=9, comment="Zu alt", days_ago=100)  # outside the 90 days
    rebuild(db)

    board = dashboard.dashboard_for(login_as(Role.ADMIN).user)
    assert [r.nps_score for r in board.comments] == [3, 10, 8]
    html = login_as(Role.ADMIN).get(URL).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert html.index("zu langsam") < html.index("Alles super") < html.index("Ganz ok") and "Zu alt" not in html


def test_accounts_at_risk_say_why_and_a_fall_from_few_answers_is_not_a_risk(db, login_as, make_account, make_contact, answer):
    healthy, falling, detractors, renewing = (make_account(name=n) for n in ("Gesund GmbH", "Fallend GmbH", "Kritiker GmbH", "Verlängert GmbH"))
    renewing.contract_renewal_on = utcnow().date() + timedelta(days=30)
    for _ in range(3):
        answer(make_contact(account=healthy), nps=10)
        answer(make_contact(account=detractors), nps=2)
    answer(make_contact(account=renewing), nps=4)
    falling_contacts = [make_contact(account=falling) for _ in range(5)]
    for c in falling_contacts:
        answer(c, nps=10, days_ago=120)
    for c, score in zip(falling_contacts, [10, 10, 10, 8, 8], strict=True):  # NPS 60: fell by 40, from five answers
        answer(c, nps=score, days_ago=5)
    rebuild(db)

    board = dashboard.dashboard_for(login_as(Role.MANAGER).user)
    # A detractor while the contract renews within 90 days is critical; detractors alone are at risk;
    # the fall from five answers could be chance, and three promoters are too few to call healthy.
    assert [(a.name, a.health.status) for a in board.at_risk] == [("Verlängert GmbH", "critical"), ("Kritiker GmbH", "at_risk")]
    reasons = [r.text for r in board.at_risk[1].health.reasons]
    assert reasons == ["3 of 3 contacts gave a detractor score (0–6) as their latest answer."]
    html = login_as(Role.MANAGER).get(URL).get_data(as_text=True)
    risk = html.split('id="risk-title"')[1].split("</section>")[0]
    assert f'href="/staff/accounts/{detractors.id}"' in risk and "Gesund GmbH" not in risk and "Fallend GmbH" not in risk
    assert "The contract renews in 30 days." in risk and "3 of 3 contacts gave a detractor score" in risk


def test_panels_of_other_packages_show_only_when_registered(login_as, monkeypatch):
    client = login_as(Role.ACCOUNT_MANAGER)
    assert "Open follow-ups" not in client.get(URL).get_data(as_text=True)
    panel = dashboard.DashboardPanel(title="Open follow-ups", lines=[("2 overdue", "/staff/tasks/?overdue=1"), ("5 open", None)])
    monkeypatch.setattr(dashboard, "DASHBOARD_PANELS", [lambda user, now: panel if user.role == Role.ACCOUNT_MANAGER else None])
    html = client.get(URL).get_data(as_text=True)
    assert "Open follow-ups" in html and '<a href="/staff/tasks/?overdue=1">2 overdue</a>' in html and "5 open" in html
    assert "Open follow-ups" not in login_as(Role.MANAGER).get(URL).get_data(as_text=True)


def test_editor_sees_their_courses_and_what_to_do(login_as, make_account):
    make_account(name="Geheim GmbH")
    html = login_as(Role.EDITOR).get(URL).get_data(as_text=True)
    assert "Geheim GmbH" not in html and "NPS" not in html
    assert "Your courses" in html and "What to do next" in html and 'href="/staff/courses/"' in html
    assert "content check" in html


def test_the_dashboard_fragment_for_htmx(login_as):
    client = login_as(Role.MANAGER)
    fragment = client.get(URL, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "NPS, last 90 days" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers.get("Vary", "")


def test_sparkline_geometry():
    line = dashboard.sparkline([("a", -100.0, 1), ("b", None, 0), ("c", 100.0, 2)], width=104, height=28, pad=2)
    assert line.lines == [] and line.zero_y == 14.0 and line.has_line  # a week without answers is a gap, not bridged
    assert [(dot.x, dot.y) for dot in line.dots] == [(2.0, 26.0), (102.0, 2.0)]
    joined = dashboard.sparkline([("a", -100.0, 1), ("b", 0.0, 1), ("c", None, 0), ("d", 50.0, 1), ("e", 100.0, 2)], width=104, height=28, pad=2)
    assert joined.lines == ["2.0,26.0 27.0,14.0", "77.0,8.0 102.0,2.0"] and joined.dots == []
    assert not dashboard.sparkline([("a", 10.0, 1), ("b", None, 0)]).has_line
