"""Insights: CSAT by ticket category, by resolution and first-response time,
NPS by service type, NPS with and without a completed onboarding course."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict


from portal.auth.models import Role
from portal.courses import services as courses
from portal.reports import insights, rollup
from portal.reports.query import ReportQuery
from portal.surveys.models import InvitationStatus, Response
from portal.timeutil import utcnow
from tests.access_roles import HTMX

URL = "/staff/reports/insights"


@pytest.fixture
def answer(db, make_survey, make_invitation):
    surveys = {}

    def _answer(contact, nps=None, csat=None, days_ago=1, kind="nps", ticket=None):
        if kind not in surveys:
            surveys[kind] = make_survey(kind)
        invitation, _token = make_invitation(survey=surveys[kind], contact=contact, ticket=ticket)
        at = utcnow() - timedelta(days=days_ago)
        invitation.sent_at, invitation.status, invitation.answered_at = at, InvitationStatus.ANSWERED, at
        db.session.add(
            Response(
                invitation_id=invitation.id, survey_id=invitation.survey_id, account_id=contact.account_id, contact_id=contact.id,
                ticket_id=ticket.id if ticket else None, nps_score=nps, csat_score=csat, created_at=at,
            )
        )
        db.session.commit()

    return _answer


def rebuild(db):
    rollup.rebuild()
    db.session.commit()


def rows(table):
    return {row.key: (row.n, row.value) for row in table.rows}


@pytest.fixture
def tickets(db, make_contact, make_ticket, answer):
    """Post-ticket answers: fast tickets satisfied, slow ones not."""
    contact = make_contact()
    now = utcnow()

    def ticket(category, resolution_hours, first_response_hours):
        opened = now - timedelta(days=5)
        return make_ticket(
            contact=contact,
            category=category,
            opened_at=opened,
            first_response_at=opened + timedelta(hours=first_response_hours) if first_response_hours is not None else None,
            closed_at=opened + timedelta(hours=resolution_hours),
        )

    answer(contact, csat=5, kind="post_ticket", ticket=ticket("technical", 2, 0.5))
    answer(contact, csat=4, kind="post_ticket", ticket=ticket("technical", 3.9, 5))
    answer(contact, csat=2, kind="post_ticket", ticket=ticket("billing", 30, 30))
    answer(contact, csat=1, kind="post_ticket", ticket=ticket("billing", 100, None))
    answer(contact, csat=1, kind="post_ticket", ticket=ticket("billing", 100, 1), days_ago=200)  # outside the period
    rebuild(db)
    return contact


def test_csat_by_ticket_category(app, tickets):
    table = insights.insights(ReportQuery.last_days(90), ("ticket_category",)).table("ticket_category")
    assert rows(table) == {"technical": (2, 100.0), "billing": (2, 0.0)}
    assert all(row.small_sample for row in table.rows)


def test_csat_by_resolution_and_first_response_time(app, tickets):
    found = insights.insights(ReportQuery.last_days(90), ("resolution_time", "first_response_time"))
    assert rows(found.table("resolution_time")) == {"lt_4h": (2, 100.0), "lt_1d": (0, None), "lt_3d": (1, 0.0), "longer": (1, 0.0)}
    assert rows(found.table("first_response_time")) == {"lt_4h": (1, 100.0), "lt_1d": (1, 100.0), "lt_3d": (1, 0.0), "longer": (0, None), "unknown": (1, 0.0)}
    mean = {row.key: row.mean for row in found.table("resolution_time").rows}
    assert mean["lt_4h"] == 4.5


def test_ticket_filters_apply_to_the_time_buckets(app, tickets):
    query = ReportQuery.last_days(90, ticket_categories=("billing",))
    assert rows(insights.insights(query, ("resolution_time",)).table("resolution_time"))["lt_4h"] == (0, None)
    other = ReportQuery.last_days(90, regions=("Süd",))  # the contact's account is in "Nord"
    assert insights.insights(other, ("resolution_time",)).table("resolution_time").n == 0


def test_nps_by_service_type_counts_an_account_in_each_of_its_types(db, app, make_account, make_contact, answer):
    both = make_account(service_types=["sip_trunk", "ucaas"])
    pbx = make_account(service_types=["hosted_pbx"])
    answer(make_contact(account=both), nps=10)
    answer(make_contact(account=pbx), nps=0)
    answer(make_contact(account=pbx), nps=10)
    rebuild(db)
    table = insights.insights(ReportQuery.last_days(90), ("service_type",)).table("service_type")
    assert rows(table) == {"sip_trunk": (1, 100.0), "ucaas": (1, 100.0), "hosted_pbx": (2, 0.0)}
    pbx_row = next(r for r in table.rows if r.key == "hosted_pbx")
    assert pbx_row.low < 0 < pbx_row.high


def test_nps_with_and_without_a_completed_onboarding_course(db, app, make_access_link, make_learner, make_contact, make_account, answer):
    from portal.courses import services as courses

    link, _raw = make_access_link(course_slugs=["kundenportal-nutzen"])
    learner = make_learner(link)
    for lesson in courses.get_catalog().course("kundenportal-nutzen").lessons:
        courses.record_completion(learner, lesson)
    started_only = make_learner(make_access_link(course_slugs=["kundenportal-nutzen"])[0])
    courses.record_completion(started_only, courses.get_catalog().course("kundenportal-nutzen").lessons[0])
    db.session.commit()

    answer(make_contact(account=learner.account), nps=10)
    answer(make_contact(account=learner.account), nps=9)
    answer(make_contact(account=started_only.account), nps=2)  # started, never completed
    answer(make_contact(account=make_account()), nps=10)
    rebuild(db)

    assert courses.accounts_with_completed_course() == {learner.account_id}
    table = insights.insights(ReportQuery.last_days(90), ("courses",)).table("courses")
    by_key = {row.key: row for row in table.rows}
    assert (by_key["completed"].n, by_key["completed"].value, by_key["completed"].accounts) == (2, 100.0, 1)
    assert (by_key["not_completed"].n, by_key["not_completed"].value, by_key["not_completed"].accounts) == (2, 0.0, 2)
    assert by_key["completed"].low is not None and by_key["completed"].small_sample


def test_the_page_with_and_without_htmx(login_as, tickets):
    client = login_as(Role.MANAGER)
    html = client.get(URL).get_data(as_text=True)
    for title in ("CSAT by ticket category", "CSAT by resolution time", "CSAT by first-response time", "NPS by service type", "NPS and onboarding courses"):
        assert title in html
    assert "small sample" in html and 'href="/staff/reports/insights/resolution_time.csv?' in html
    fragment = client.get(URL + "?ticket_category=billing", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)


def test_a_bad_parameter_is_a_400(login_as):
    response = login_as(Role.MANAGER).get(URL + "?from=gestern")
    assert response.status_code == 400 and "from" in response.get_data(as_text=True)


def test_account_managers_see_their_portfolio_by_default(db, login_as, make_account, make_contact, answer):
    client = login_as(Role.ACCOUNT_MANAGER)
    mine = make_account(account_manager_id=client.user.id, service_types=["ucaas"])
    other = make_account(service_types=["hosted_pbx"])
    answer(make_contact(account=mine), nps=10)
    answer(make_contact(account=other), nps=0)
    rebuild(db)
    query = insights.query_for(client.user, MultiDict())
    assert query.account_managers == (client.user.email,)
    html = client.get(URL).get_data(as_text=True)
    assert "UCaaS" in html.split('id="t-service_type"')[1] and "Hosted PBX" not in html.split('id="t-service_type"')[1].split("</section>")[0]
    assert login_as(Role.EDITOR).get(URL).status_code == 403


def test_csv_of_a_table(login_as, tickets):
    pytest.importorskip("portal.reports.exports")
    response = login_as(Role.MANAGER).get(URL + "/ticket_category.csv")
    assert response.status_code == 200 and "text/csv" in response.content_type
    body = response.get_data(as_text=True)
    assert "Technical" in body and "Billing" in body
    assert login_as(Role.MANAGER).get(URL + "/nonsense.csv").status_code == 404
