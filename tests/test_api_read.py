"""The read API for the helpdesk and the CRM."""

import pytest

from portal.integrations.services import create_integration


def auth(integration) -> dict:
    return {"Authorization": f"Bearer {integration.api_token}"}


def answer(client, token, invitation, score, comment=None):
    nps = invitation.survey.questions[0]
    client.post(f"/s/{token}", data={"question": nps.id, "answer": str(score)})
    if comment:
        client.post(f"/s/{token}", data={"question": invitation.survey.questions[1].id, "answer": comment})


def test_ticket_satisfaction(client, integration, make_invitation, make_ticket, make_survey):
    ticket = make_ticket()
    survey = make_survey("post_ticket")
    invitation, token = make_invitation(survey=survey, contact=ticket.contact, ticket=ticket)
    client.post(f"/s/{token}", data={"question": survey.questions[0].id, "answer": "2"})
    data = client.get(f"/api/v1/tickets/{ticket.external_id}/satisfaction", headers=auth(integration)).json
    assert data["ticket"] == ticket.external_id and data["response"]["csat"] == 2 and data["response"]["completed"] is False
    assert data["survey"]["status"] == "answered"


def test_ticket_without_survey(client, integration, make_ticket):
    ticket = make_ticket()
    data = client.get(f"/api/v1/tickets/{ticket.external_id}/satisfaction", headers=auth(integration)).json
    assert data["survey"] is None and data["response"] is None


def test_account_satisfaction(client, integration, make_invitation, make_contact, make_account):
    account = make_account(external_id="CRM-77")
    for score, comment in ((10, "Top Support"), (9, None), (3, "Zu viele Ausfälle")):
        invitation, token = make_invitation(kind="nps", contact=make_contact(account=account))
        answer(client, token, invitation, score, comment)
    data = client.get("/api/v1/accounts/CRM-77/satisfaction", headers=auth(integration)).json
    assert data["nps"] == round(100 * (2 - 1) / 3, 1)
    assert len(data["contacts"]) == 3 and {c["category"] for c in data["contacts"]} == {"promoter", "detractor"}
    assert data["trend"][-1]["responses"] == 3
    # Every NPS names its window; the 90 days are the account page's "Account NPS, last 90 days".
    assert data["nps_90_days"]["nps"] == data["nps_730_days"]["nps"] == data["nps"] == 33.3
    assert data["nps_90_days"]["responses"] == 3 and data["nps_90_days"]["small_sample"] is True
    assert data["nps_90_days"]["to"] == data["nps_730_days"]["to"] == data["trend"][-1]["to"] == data["trend"][-1]["to"]
    assert data["nps_90_days"]["from"] == data["trend"][-1]["from"] and data["trend"][-1]["nps"] == 33.3
    assert {c["text"] for c in data["recent_comments"]} == {"Top Support", "Zu viele Ausfälle"}


def test_unknown_records_are_404(client, integration):
    assert client.get("/api/v1/accounts/nope/satisfaction", headers=auth(integration)).status_code == 404
    assert client.get("/api/v1/tickets/nope/satisfaction", headers=auth(integration)).status_code == 404


def test_the_read_api_needs_a_valid_bearer_token(client, db, integration):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {integration.api_token}"}, {"Authorization": integration.signing_secret}):
        response = client.get("/api/v1/accounts/x/satisfaction", headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    other = create_integration("CRM")
    db.session.commit()
    other.integration.active = False
    db.session.commit()
    assert client.get("/api/v1/accounts/x/satisfaction", headers=auth(other)).status_code == 401


def test_the_api_token_is_stored_only_as_a_hash(integration):
    assert integration.api_token not in integration.integration.api_token_hash
    assert len(integration.integration.api_token_hash) == 64


HOSTILE_IDS = ["%00", "HD-1%00", "%ED%A0%80", "x%ED%B0%80", "%FF%FE", "x" * 10_000, "%0D%0ASet-Cookie:%20a=b", "%01", "%C0%AF", "%E2%80%AE", "'%20OR%201=1--"]


@pytest.mark.parametrize("route", ["tickets", "accounts"])
def test_hostile_path_values_are_4xx_never_500(client, integration, make_ticket, route):
    make_ticket(external_id="HD-1")
    for value in HOSTILE_IDS:
        response = client.get(f"/api/v1/{route}/{value}/satisfaction", headers=auth(integration))
        assert 400 <= response.status_code < 500 and response.json["error"], (value, response.status_code)


def test_account_satisfaction_lists_the_open_follow_up_tasks(client, db, integration, make_invitation, make_contact, make_account, make_staff):
    manager = make_staff("account_manager", email="anna@operator.example")
    account = make_account(external_id="CRM-TASKS", account_manager=manager)
    empty = client.get("/api/v1/accounts/CRM-TASKS/satisfaction", headers=auth(integration)).json
    assert empty["open_tasks"] == []
    invitation, token = make_invitation(kind="nps", contact=make_contact(account=account))
    answer(client, token, invitation, 2)
    [task] = client.get("/api/v1/accounts/CRM-TASKS/satisfaction", headers=auth(integration)).json["open_tasks"]
    assert set(task) == {"id", "title", "status", "assignee", "due", "created", "url"}
    assert task["status"] == "open" and task["assignee"] == "anna@operator.example"
    assert task["due"].endswith("Z") and task["created"].endswith("Z") and task["url"].endswith(f"/staff/tasks/{task['id']}")
    assert task["title"].startswith("Follow up with")  # in the portal's default language (English in the tests)
