"""Customer health on the account page: account NPS with the rule behind its
status, each contact's latest score, the trend by quarter, CSAT after tickets
with the tickets, comments, renewal and course completion."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from markupsafe import escape


from portal.auth.models import Role
from portal.customers import services as customers
from portal.reports import dashboard
from portal.reports.health import HEALTH_RULE
from portal.surveys.models import InvitationStatus, Response
from portal.timeutil import utcnow
from tests.access_roles import HTMX


@pytest.fixture
def answer(db, make_survey, make_invitation):
    surveys = {}

    def _answer(contact, nps=None, csat=None, comment=None, days_ago=1, kind="nps", ticket=None):
        if kind not in surveys:
            surveys[kind] = make_survey(kind)
        invitation, _token = make_invitation(survey=surveys[kind], contact=contact, ticket=ticket)
        at = utcnow() - timedelta(days=days_ago)
        invitation.sent_at, invitation.status, invitation.answered_at = at, InvitationStatus.ANSWERED, at
        response = Response(
            invitation_id=invitation.id, survey_id=invitation.survey_id, account_id=contact.account_id, contact_id=contact.id,
            ticket_id=ticket.id if ticket else None, nps_score=nps, csat_score=csat, comment=comment, created_at=at,
        )
        db.session.add(response)
        db.session.commit()
        return response

    return _answer


def test_the_section_is_registered_on_the_account_page():
    assert dashboard.account_health_section in customers.ACCOUNT_SECTIONS


def test_account_page_shows_health_with_its_rule_and_each_contacts_latest_score(login_as, make_account, make_contact, answer):
    account = make_account(name="Kranich AG", contract_renewal_on=date.today() + timedelta(days=45))
    lena, jonas = make_contact(account=account, name="Lena Vogel"), make_contact(account=account, name="Jonas Berg")
    answer(lena, nps=9, days_ago=200)
    answer(lena, nps=2, days_ago=3, comment="Seit dem Umzug keine Verbindung")  # her latest counts
    answer(jonas, nps=6, days_ago=10)

    health = dashboard.account_health(account)
    assert health.health.status == "critical" and health.health.nps.nps == -100.0 and health.health.nps.responses == 2
    assert {c.contact.name: c.nps.nps_score for c in health.contacts} == {"Lena Vogel": 2, "Jonas Berg": 6}
    assert health.renewal_days == 45
    assert [q.nps.responses for q in health.quarters] == [0, 1, 0, 2]  # 200 days ago: the second-oldest period

    html = login_as(Role.MANAGER).get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    assert "Customer health" in html and "critical" in html and str(escape(str(HEALTH_RULE))) in html
    assert "Seit dem Umzug keine Verbindung" in html and "45" in html and "days to the contract renewal" in html
    section = html.split('id="health-title"')[1]
    assert section.index("Lena Vogel") and "detractor" in section


def test_csat_after_tickets_lists_the_tickets(login_as, make_contact, make_ticket, answer):
    contact = make_contact()
    ticket = make_ticket(contact=contact, subject="Rufumleitung defekt", category="technical")
    answer(contact, csat=2, kind="post_ticket", ticket=ticket)
    answer(contact, csat=5, kind="nps")  # no ticket: not in the history
    html = login_as(Role.ADMIN).get(f"/staff/accounts/{contact.account_id}").get_data(as_text=True)
    history = html.split("<h3>Satisfaction after tickets</h3>")[1].split("</table>")[0]
    assert "Rufumleitung defekt" in history and ticket.external_id in history and "<strong>2</strong> / 5" in history
    assert "<strong>5</strong>" not in history


def test_comments_are_capped_with_the_count(login_as, make_contact, answer):
    contact = make_contact()
    for i in range(dashboard.ACCOUNT_COMMENTS_SHOWN + 3):
        answer(contact, nps=5, comment=f"Kommentar Nummer {i:02d}", days_ago=i + 1)
    html = login_as(Role.ADMIN).get(f"/staff/accounts/{contact.account_id}").get_data(as_text=True)
    assert "Kommentar Nummer 00" in html and "Kommentar Nummer 22" not in html
    assert f"The newest {dashboard.ACCOUNT_COMMENTS_SHOWN} of {dashboard.ACCOUNT_COMMENTS_SHOWN + 3} comments." in html


def test_course_completion_on_the_account_page(login_as, make_access_link, make_learner):
    from portal.courses import services as courses

    link, _raw = make_access_link(course_slugs=["kundenportal-nutzen"])
    learner = make_learner(link, name="Mara Lernt")
    course = courses.get_catalog().course("kundenportal-nutzen")
    for lesson in course.lessons:
        courses.record_completion(learner, lesson)
    health = dashboard.account_health(learner.account)
    assert health.courses.learners == 1 and health.courses.completed == 1
    html = login_as(Role.ADMIN).get(f"/staff/accounts/{link.account_id}").get_data(as_text=True)
    assert "Mara Lernt" in html and "completed" in html


def test_no_answers_yet_says_so(login_as, make_account):
    account = make_account()
    html = login_as(Role.ADMIN).get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    assert "no answers yet" in html and "No comments yet." in html


def test_the_tickets_fragment_leaves_the_sections_out(login_as, make_contact):
    contact = make_contact()
    fragment = login_as(Role.ADMIN).get(f"/staff/accounts/{contact.account_id}?tickets=40", headers=HTMX).get_data(as_text=True)
    assert "Customer health" not in fragment and "<html" not in fragment


def test_account_managers_see_health_only_of_their_accounts(login_as, make_account, make_contact, answer):
    client = login_as(Role.ACCOUNT_MANAGER)
    other = make_account()
    answer(make_contact(account=other), nps=1, comment="Vertraulich")
    response = client.get(f"/staff/accounts/{other.id}")
    assert response.status_code == 404 and "Vertraulich" not in response.get_data(as_text=True)
