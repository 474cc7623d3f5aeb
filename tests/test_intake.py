"""Signed events in: validated, stored once, and answered with what happened."""

import copy
import json
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.customers.models import Account, Contact, Ticket
from portal.integrations.models import Event
from portal.mail.models import OutboxMessage
from portal.surveys.models import Invitation
from portal.timeutil import utcnow
from tests.conftest import post_event, ticket_closed_event


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def nothing_stored(db) -> bool:
    return all(count(db, m) == 0 for m in (Event, Account, Contact, Ticket, Invitation, OutboxMessage))


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def closed_ago(age: timedelta, n: int = 1) -> dict:
    """A ticket.closed event whose ticket was closed ``age`` ago."""
    closed = utcnow().replace(microsecond=0) - age
    event = ticket_closed_event(n, occurred_at=iso(closed))
    event["ticket"].update(opened_at=iso(closed - timedelta(days=1)), first_response_at=iso(closed - timedelta(hours=20)), closed_at=iso(closed))
    return event


def test_a_closed_ticket_invites_the_contact(client, db, integration, make_survey):
    survey = make_survey("post_ticket")
    response = post_event(client, integration, closed_ago(timedelta(0)))
    assert response.status_code == 202, response.json
    assert response.json["outcome"] == "invited" and response.json["duplicate"] is False
    invitation = db.session.scalar(select(Invitation))
    assert invitation.survey_id == survey.id and invitation.ticket.external_id == "HD-1"
    assert invitation.contact.email == "lena.vogel@mueller-logistik.example"
    assert invitation.account.name == "Müller Logistik GmbH" and invitation.account.service_types == ["sip_trunk"]
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    assert message.to_address == invitation.contact.email and "HD-1" in message.subject
    assert message.next_attempt_at > invitation.created_at  # the survey's delay


def test_a_redelivery_returns_the_first_outcome_and_changes_nothing(client, db, integration, make_survey):
    make_survey("post_ticket")
    first = post_event(client, integration, ticket_closed_event())
    again = post_event(client, integration, ticket_closed_event())
    assert again.status_code == 202
    assert again.json == {**first.json, "duplicate": True}
    assert count(db, Invitation) == 1 and count(db, OutboxMessage) == 1 and count(db, Event) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["ticket"].update(auto_closed=True), "auto_closed"),
    ],
)
def test_throttled_events_say_why(client, db, integration, make_survey, change, reason):
    make_survey("post_ticket")
    event = ticket_closed_event()
    change(event)
    response = post_event(client, integration, event)
    assert response.json["outcome"] == "throttled" and response.json["reason"] == reason
    assert count(db, Invitation) == 0 and count(db, Event) == 1


def test_opted_out_contacts_are_never_invited(client, db, integration, make_survey):
    make_survey("post_ticket")
    post_event(client, integration, {**ticket_closed_event(), "type": "contact.upserted", "ticket": None})
    db.session.scalar(select(Contact)).survey_opt_out = True
    db.session.commit()
    response = post_event(client, integration, ticket_closed_event(2))
    assert response.json["reason"] == "opted_out"


def test_minimum_days_between_invitations(client, db, integration, make_survey):
    make_survey("post_ticket", min_days_since_any=7)
    assert post_event(client, integration, ticket_closed_event(1)).json["outcome"] == "invited"
    second = post_event(client, integration, ticket_closed_event(2))
    assert second.json["outcome"] == "throttled" and second.json["reason"] == "recently_invited"


def test_frequency_cap_per_90_days(client, db, integration, make_survey):
    make_survey("post_ticket", min_days_since_any=0, min_days_since_this=0, max_per_90_days=2)
    outcomes = [post_event(client, integration, ticket_closed_event(n)).json for n in range(3)]
    assert [o["outcome"] for o in outcomes] == ["invited", "invited", "throttled"]
    assert outcomes[2]["reason"] == "frequency_cap"


def test_no_matching_survey(client, db, integration, make_survey):
    make_survey("post_ticket", trigger_categories=["billing"])
    response = post_event(client, integration, ticket_closed_event())
    assert response.json["outcome"] == "no_matching_survey"
    assert count(db, Ticket) == 1  # the data is mirrored all the same


def test_service_type_condition(client, db, integration, make_survey):
    make_survey("post_ticket", trigger_service_types=["hosted_pbx"])
    assert post_event(client, integration, ticket_closed_event()).json["outcome"] == "no_matching_survey"


def test_installation_completed_invites_with_the_project(client, db, integration, make_survey):
    make_survey("post_installation")
    event = ticket_closed_event(9, type="installation.completed", ticket=None, project={"external_id": "PRJ-7", "name": "Standort Hamburg", "completed_at": iso(utcnow() - timedelta(days=1))})
    response = post_event(client, integration, event)
    assert response.json["outcome"] == "invited"
    invitation = db.session.scalar(select(Invitation))
    assert invitation.project.name == "Standort Hamburg"
    assert "Standort Hamburg" in db.session.get(OutboxMessage, invitation.outbox_message_id).subject


def test_account_upserted_updates_the_mirror(client, db, integration, make_staff):
    manager = make_staff("account_manager", email="anna@operator.example")
    event = {"id": "acc-1", "type": "account.upserted", "occurred_at": "2026-11-20T09:30:00Z", "account": {"external_id": "CRM-9", "name": "Neu AG", "region": "Süd", "service_types": ["ucaas", "hosted_pbx"], "account_manager_email": "ANNA@operator.example", "contract_renewal_on": "2027-01-31"}}
    response = post_event(client, integration, event)
    assert response.status_code == 202 and response.json["outcome"] == "recorded"
    account = db.session.scalar(select(Account))
    assert account.account_manager_id == manager.id and account.region == "Süd" and account.contract_renewal_on.isoformat() == "2027-01-31"


def test_the_account_page_shows_the_timeline(client, db, integration, make_survey, login_as):
    make_survey("post_ticket")
    post_event(client, integration, ticket_closed_event(1))
    post_event(client, integration, ticket_closed_event(2))
    account = db.session.scalar(select(Account))
    html = login_as("manager").get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    assert "survey queued" in html and "the contact was asked recently" in html and "HD-2" in html
    assert "survey sent" not in html  # the email has not gone out yet


def test_the_timeline_follows_the_invitation_and_dates_events_by_their_own_time(client, db, integration, make_survey, login_as):
    from portal.integrations.models import Event
    from portal.signals import message_sent
    from portal.surveys.models import Invitation
    from portal.web.transaction import unit_of_work

    make_survey("post_ticket")
    closed = (utcnow() - timedelta(hours=30)).replace(microsecond=0)
    event = ticket_closed_event(1)
    event["ticket"]["closed_at"] = event["occurred_at"] = closed.isoformat() + "Z"
    post_event(client, integration, event)
    account = db.session.scalar(select(Account))
    manager = login_as("manager")
    html = manager.get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    assert f'datetime="{closed.isoformat()}Z"' in html  # the ticket's close time, not the arrival
    assert db.session.scalar(select(Event)).received_at > closed + timedelta(hours=29)
    assert "survey queued" in html
    invitation = db.session.scalar(select(Invitation))
    with unit_of_work():
        message_sent.send(None, message_ids=[invitation.outbox_message_id], sent_at=utcnow())
    assert "survey sent" in manager.get(f"/staff/accounts/{account.id}").get_data(as_text=True)
    invitation = db.session.scalar(select(Invitation))
    invitation.status = "expired"
    db.session.commit()
    assert "survey expired unanswered" in manager.get(f"/staff/accounts/{account.id}").get_data(as_text=True)


# --- when the survey is sent ----------------------------------------------------------------


def outbox_due(db) -> datetime:
    return db.session.scalar(select(OutboxMessage)).next_attempt_at


def test_the_delay_counts_from_when_the_ticket_closed(client, db, integration, make_survey):
    make_survey("post_ticket", delay_hours=2)
    event = closed_ago(timedelta(minutes=30))
    assert post_event(client, integration, event).json["outcome"] == "invited"
    closed = datetime.fromisoformat(event["ticket"]["closed_at"]).replace(tzinfo=None)
    assert outbox_due(db) == closed + timedelta(hours=2)  # 1.5 h from now, not 2 h


def test_a_late_delivery_is_due_at_once(client, db, integration, make_survey):
    make_survey("post_ticket", delay_hours=2)
    assert post_event(client, integration, closed_ago(timedelta(days=2))).json["outcome"] == "invited"
    invitation = db.session.scalar(select(Invitation))
    assert outbox_due(db) == invitation.created_at <= utcnow()


def test_an_event_time_in_the_future_counts_as_now(client, db, integration, make_survey):
    make_survey("post_ticket", delay_hours=2)
    before = utcnow()
    assert post_event(client, integration, closed_ago(-timedelta(days=3))).json["outcome"] == "invited"
    assert before + timedelta(hours=2) <= outbox_due(db) <= utcnow() + timedelta(hours=2)


@pytest.mark.parametrize("event_type", ["ticket.closed", "installation.completed"])
def test_a_stale_event_invites_nobody(client, db, integration, make_survey, event_type):
    make_survey("post_ticket")
    make_survey("post_installation")
    event = closed_ago(timedelta(days=15))
    if event_type == "installation.completed":
        event.update(type=event_type, ticket=None, project={"external_id": "PRJ-1", "name": "Standort Kiel"})  # occurred_at counts
    response = post_event(client, integration, event)
    assert response.status_code == 202
    assert response.json["outcome"] == "throttled" and response.json["reason"] == "stale_event"
    assert count(db, Invitation) == 0 and count(db, OutboxMessage) == 0
    assert count(db, Event) == 1 and count(db, Contact) == 1  # the mirror is still updated


def test_the_account_timeline_says_why_a_stale_event_invited_nobody(client, db, integration, make_survey, login_as):
    make_survey("post_ticket")
    post_event(client, integration, closed_ago(timedelta(days=15)))
    account = db.session.scalar(select(Account))
    assert "the event was too old for a survey" in login_as("manager").get(f"/staff/accounts/{account.id}").get_data(as_text=True)


def test_the_maximum_event_age_is_configurable(app, client, db, integration, make_survey):
    make_survey("post_ticket")
    app.config["PORTAL_EVENT_MAX_AGE_DAYS"] = 1
    assert post_event(client, integration, closed_ago(timedelta(days=2))).json["reason"] == "stale_event"
    assert post_event(client, integration, closed_ago(timedelta(hours=20), n=2)).json["outcome"] == "invited"


def test_the_event_schema_is_served_and_describes_events(client):
    import jsonschema

    response = client.get("/api/v1/schema/event.json")
    assert response.status_code == 200 and response.json["title"] == "Portal event"
    jsonschema.validate(ticket_closed_event(), response.json)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(ticket_closed_event(ticket=None), response.json)


# --- rejected: no side effects ------------------------------------------------------------


def test_wrong_secret_is_rejected(client, db, integration):
    response = post_event(client, integration, ticket_closed_event(), secret="0" * 64)
    assert response.status_code == 401 and response.json["error"]["field"] == "Portal-Signature"
    assert nothing_stored(db)


def test_one_altered_byte_is_rejected(client, db, integration):
    from portal.integrations.services import sign

    body = json.dumps(ticket_closed_event()).encode()
    signature = sign(integration.signing_secret, body)
    tampered = body.replace(b"Lena", b"Lina", 1)
    response = client.post("/api/v1/events", data=tampered, headers={"Portal-Key": integration.integration.key_id, "Portal-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 401 and nothing_stored(db)


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_stale_or_future_timestamps_are_rejected(client, db, integration, age):
    response = post_event(client, integration, ticket_closed_event(), timestamp=int(time.time()) - age)
    assert response.status_code == 401 and "tolerance" in response.json["error"]["reason"]
    assert nothing_stored(db)


def test_a_replayed_request_changes_nothing(client, db, integration, make_survey):
    from portal.integrations.services import sign

    make_survey("post_ticket")
    body = json.dumps(ticket_closed_event()).encode()
    headers = {"Portal-Key": integration.integration.key_id, "Portal-Signature": sign(integration.signing_secret, body), "Content-Type": "application/json"}
    first = client.post("/api/v1/events", data=body, headers=headers)
    replay = client.post("/api/v1/events", data=body, headers=headers)
    assert first.json["duplicate"] is False and replay.json["duplicate"] is True
    assert count(db, Invitation) == 1 and count(db, OutboxMessage) == 1


@pytest.mark.parametrize("headers", [{}, {"Portal-Key": "key_unknown"}])
def test_unknown_or_missing_key_is_rejected(client, db, integration, headers):
    body = json.dumps(ticket_closed_event()).encode()
    response = client.post("/api/v1/events", data=body, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 401 and nothing_stored(db)


@pytest.mark.parametrize("signature", ["", "garbage", "t=abc,v1=00", "v1=abcd", "t=1,v1="])
def test_malformed_signatures_are_rejected(client, db, integration, signature):
    body = json.dumps(ticket_closed_event()).encode()
    response = client.post("/api/v1/events", data=body, headers={"Portal-Key": integration.integration.key_id, "Portal-Signature": signature})
    assert response.status_code == 401 and nothing_stored(db)


def test_body_size_limit(client, db, integration):
    event = ticket_closed_event()
    event["padding"] = "x" * 70_000
    response = post_event(client, integration, event)
    assert response.status_code == 413 and nothing_stored(db)


def _invalid(path: str, value):
    event = copy.deepcopy(ticket_closed_event())
    target = event
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return event


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("id", KeyError, "id"),
        ("id", 42, "id"),
        ("type", "ticket.deleted", "type"),
        ("occurred_at", "yesterday", "occurred_at"),
        ("account", KeyError, "account"),
        ("account.external_id", "", "account.external_id"),
        ("account.service_types", ["fax"], "account.service_types"),
        ("account.contract_renewal_on", "31.12.2027", "account.contract_renewal_on"),
        ("contact", KeyError, "contact"),
        ("contact.email", "not-an-email", "contact.email"),
        ("contact.language", "fr", "contact.language"),
        ("ticket", KeyError, "ticket"),
        ("ticket.category", "sales", "ticket.category"),
        ("ticket.closed_at", KeyError, "ticket.closed_at"),
        ("ticket.auto_closed", "no", "ticket.auto_closed"),
        ("ticket.subject", "x" * 301, "ticket.subject"),
        ("contact.name", "Lena\x00Vogel", "contact.name"),
    ],
)
def test_invalid_events_name_the_field(client, db, integration, path, value, field):
    response = post_event(client, integration, _invalid(path, value))
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field and response.json["error"]["reason"]
    assert nothing_stored(db)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_non_object_bodies_are_4xx(client, db, integration, body):
    response = post_event(client, integration, None, body=body)
    assert response.status_code in (400, 422) and nothing_stored(db)


def test_the_api_needs_no_csrf_but_rejects_get(client):
    assert client.get("/api/v1/events").status_code == 405


def test_integrations_cli_prints_credentials(runner, db):
    result = runner.invoke(args=["integrations", "create", "CRM"])
    assert result.exit_code == 0, result.output
    assert "Key id:" in result.output and "Signing secret:" in result.output and "API token:" in result.output
    duplicate = runner.invoke(args=["integrations", "create", "CRM"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
