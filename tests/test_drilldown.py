"""The answers behind a figure are exactly the answers the figure counts: every
link from the reports page, the dashboard and the account page to the answers
list opens a list whose count equals the figure's n."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.auth.models import Role
from portal.reports import dashboard, services
from portal.reports.query import ReportQuery
from tests.test_reports_dashboard import answer, rebuild  # noqa: F401 (a fixture)

SEGMENT_FIELDS = {"region": "region", "service_type": "service_type", "account_manager": "account_manager", "ticket_category": "ticket_category"}


@pytest.fixture
def history(db, make_staff, make_account, make_contact, make_ticket, answer):
    """NPS and CSAT answers (after tickets of two categories and without one) in several
    weeks, over accounts in two regions with different services and managers."""
    manager = make_staff(role=Role.ACCOUNT_MANAGER, email="am@operator.example")
    mitte = make_account(name="Mitte AG", region="Mitte", service_types=["ucaas", "sip_trunk"], account_manager_id=manager.id)
    nord = make_account(name="Nord AG", region="Nord", service_types=["connectivity"])
    scores = [(mitte, 10, None, 3), (mitte, 3, None, 10), (nord, 8, None, 20), (nord, 9, None, 40), (nord, 0, None, 3)]
    for account, nps, _csat, days in scores:
        answer(make_contact(account=account), nps=nps, days_ago=days, comment="Kommentar" if nps < 5 else None)
    for account, csat, category, days in [(mitte, 5, "technical", 3), (mitte, 1, "billing", 12), (nord, 4, "technical", 25), (nord, 2, "billing", 3)]:
        contact = make_contact(account=account)
        answer(contact, csat=csat, kind="post_ticket", ticket=make_ticket(contact=contact, category=category), days_ago=days, comment="Rechnung falsch" if csat < 3 else None)
    answer(make_contact(account=mitte), nps=7, csat=2, kind="post_installation", days_ago=5)
    contact = make_contact(account=nord)
    answer(contact, nps=5, csat=3, kind="post_ticket", ticket=make_ticket(contact=contact, category="billing"), days_ago=8)
    answer(make_contact(account=nord), nps=6, days_ago=200)  # outside the period: never counted, never listed
    rebuild(db)


def listed(client, href: str) -> int:
    html = client.get(unescape(href)).get_data(as_text=True)
    return int(re.search(r"(\d+) answers?\b", html.split('role="status"')[1]).group(1))


def expected(overview, args: dict[str, list[str]]) -> tuple[str, int]:
    """The figure a link belongs to (by what it narrows to) and that figure's n."""
    one = {k: v[0] for k, v in args.items() if len(v) == 1 and v[0]}
    # "ticket_category=" is the segment "no ticket"; an empty "account_manager=" only says "no filter"
    segment = [(name, v[0]) for name, v in args.items() if name in SEGMENT_FIELDS and (v[0] or name == "ticket_category")]
    if segment:
        (dimension, value), = segment
        found = next(s for s in overview.segments[dimension] if (s.group or "") == value)
        return f"segment:{dimension}", found.now.responses
    if "nps_score" in one:
        return "nps score", dict(overview.distribution)[int(one["nps_score"])]
    if "csat_score" in one:
        return "csat score", dict(overview.csat_distribution)[int(one["csat_score"])]
    if one.get("comments") == "1":
        return "comments", overview.total.comments
    if "period" in one:
        row = next(r for r in overview.series if r.period == one["period"])
        return f"{one['group']} period", (row.nps if one["group"] == "nps" else row.csat).responses
    group = one["group"]
    total = overview.total
    return group, {"nps": total.nps.responses, "csat": total.csat.responses, "promoter": total.nps.promoters,
                   "passive": total.nps.passives, "detractor": total.nps.detractors}[group]  # fmt: skip


def test_every_figure_on_the_reports_page_opens_exactly_its_answers(db, login_as, history):
    client = login_as(Role.MANAGER)
    html = client.get("/staff/reports").get_data(as_text=True)
    links = set(re.findall(r'href="(/staff/reports/responses\?[^"]*)"', html))
    overview = services.overview(ReportQuery.last_days())
    kinds = {}
    for href in links:
        kind, n = expected(overview, parse_qs(urlsplit(unescape(href)).query, keep_blank_values=True))
        assert listed(client, href) == n, (kind, unescape(href))
        kinds[kind] = kinds.get(kind, 0) + 1
    assert set(kinds) == {
        "nps", "csat", "comments", "promoter", "passive", "detractor", "nps period", "csat period", "nps score", "csat score",
        *(f"segment:{d}" for d in SEGMENT_FIELDS),
    }  # fmt: skip
    # The case: a segment of two NPS answers listed NPS and CSAT answers alike.
    mitte = next(s for s in overview.segments["region"] if s.group == "Mitte")
    assert mitte.now.responses == 3


def test_the_account_pages_comment_count_opens_its_comments(db, login_as, make_contact, answer):
    contact = make_contact()
    total = dashboard.ACCOUNT_COMMENTS_SHOWN + 3
    for i in range(total):
        answer(contact, nps=5, comment=f"Kommentar {i}", days_ago=i + 1)
    answer(contact, csat=4, kind="post_ticket", days_ago=2)  # no comment: not behind the count
    client = login_as(Role.MANAGER)
    html = client.get(f"/staff/accounts/{contact.account_id}").get_data(as_text=True)
    assert f"The newest {dashboard.ACCOUNT_COMMENTS_SHOWN} of {total} comments." in html
    href = re.search(r'href="(/staff/reports/responses\?[^"]*)">All comments of this account', html).group(1)
    assert listed(client, href) == total


def test_the_dashboards_comment_link_lists_answers_with_comments(db, login_as, history):
    client = login_as(Role.MANAGER)
    html = client.get("/staff/").get_data(as_text=True)
    href = re.search(r'href="(/staff/reports/responses\?[^"]*)">All answers with comments', html).group(1)
    assert "comments=1" in unescape(href)
    assert listed(client, href) == services.overview(ReportQuery.last_days()).total.comments
