"""Events in from the helpdesk and CRM; satisfaction out to them.

Intake (DESIGN.md §5.1): verify the signature, validate, then in ONE
transaction store the event, upsert account, contact and ticket, pick the
survey, check throttling and create the invitation with its outbox message.
The event is stored once per (integration, id); a redelivery gets the first
outcome back and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import StaffUser
from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES, Account, Contact, Project, Ticket
from portal.extensions import db
from portal.integrations.models import Event, EventOutcome, Integration
from portal.surveys import services as surveys
from portal.timeutil import utcnow
from portal.tokens import hash_token, new_token

SIGNATURE_TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
EVENT_TYPES = ("ticket.closed", "installation.completed", "account.upserted", "contact.upserted")


# --- integrations ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewIntegration:
    integration: Integration
    signing_secret: str
    api_token: str


def create_integration(name: str) -> NewIntegration:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("The name must have 1 to 100 characters.")
    if db.session.scalar(select(Integration.id).where(Integration.name == name)):
        raise ValueError(f"An integration named {name!r} already exists.")
    secret = secrets.token_hex(32)
    api_token, api_token_hash = new_token()
    integration = Integration(name=name, key_id="key_" + secrets.token_hex(8), signing_secret=secret, api_token_hash=api_token_hash)
    db.session.add(integration)
    db.session.flush()
    return NewIntegration(integration, secret, api_token)


def integration_for_key(key_id: str | None) -> Integration | None:
    if not key_id or len(key_id) > 64:
        return None
    return db.session.scalar(select(Integration).where(Integration.key_id == key_id, Integration.active.is_(True)))


def integration_for_api_token(token: str | None) -> Integration | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Integration).where(Integration.api_token_hash == hash_token(token), Integration.active.is_(True)))


# --- signatures --------------------------------------------------------------------------


class SignatureError(ValueError):
    pass


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Portal-Signature`` header value for ``body`` (integrators do the same)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str | None, body: bytes, now: float | None = None) -> None:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>``, within 300 s."""
    if not header:
        raise SignatureError("missing Portal-Signature header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError) as error:
        raise SignatureError("malformed Portal-Signature header") from error
    now = time.time() if now is None else now
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise SignatureError("signature timestamp outside the 300 s tolerance")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise SignatureError("signature does not match")


# --- validation --------------------------------------------------------------------------


class EventError(ValueError):
    """Invalid event: ``field`` is a dotted path, ``reason`` says what is wrong."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class EventData:
    id: str
    type: str
    occurred_at: datetime
    account: dict[str, Any]
    contact: dict[str, Any] | None = None
    ticket: dict[str, Any] | None = None
    project: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _string(obj: dict, key: str, path: str, *, required: bool = True, max_length: int = 200) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise EventError(f"{path}.{key}" if path else key, "is required")
        return None
    if not isinstance(value, str):
        raise EventError(f"{path}.{key}" if path else key, "must be a string")
    if "\x00" in value or len(value) > max_length:
        raise EventError(f"{path}.{key}" if path else key, f"must be at most {max_length} characters without NUL bytes")
    return value.strip()


def _timestamp(obj: dict, key: str, path: str, *, required: bool = True) -> datetime | None:
    value = _string(obj, key, path, required=required, max_length=40)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise EventError(f"{path}.{key}" if path else key, "must be an ISO 8601 date-time") from error
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _object(payload: dict, key: str, required: bool) -> dict | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise EventError(key, "is required for this event type")
        return None
    if not isinstance(value, dict):
        raise EventError(key, "must be an object")
    return value


def parse_event(payload: Any) -> EventData:
    if not isinstance(payload, dict):
        raise EventError("body", "must be a JSON object")
    event_id = _string(payload, "id", "", max_length=128)
    event_type = _string(payload, "type", "", max_length=64)
    if event_type not in EVENT_TYPES:
        raise EventError("type", f"must be one of {', '.join(EVENT_TYPES)}")
    occurred_at = _timestamp(payload, "occurred_at", "")

    account_raw = _object(payload, "account", required=True)
    account = {
        "external_id": _string(account_raw, "external_id", "account", max_length=64),
        "name": _string(account_raw, "name", "account", required=False),
        "region": _string(account_raw, "region", "account", required=False, max_length=64),
        "account_manager_email": _string(account_raw, "account_manager_email", "account", required=False, max_length=254),
        "contract_renewal_on": None,
        "service_types": None,
    }
    if "service_types" in account_raw and account_raw["service_types"] is not None:
        types = account_raw["service_types"]
        if not isinstance(types, list) or any(t not in SERVICE_TYPES for t in types):
            raise EventError("account.service_types", f"must be a list of {', '.join(SERVICE_TYPES)}")
        account["service_types"] = list(dict.fromkeys(types))
    renewal = _string(account_raw, "contract_renewal_on", "account", required=False, max_length=10)
    if renewal:
        try:
            account["contract_renewal_on"] = date.fromisoformat(renewal)
        except ValueError as error:
            raise EventError("account.contract_renewal_on", "must be a date like 2027-03-31") from error

    needs_contact = event_type in ("ticket.closed", "installation.completed", "contact.upserted")
    contact = None
    contact_raw = _object(payload, "contact", required=needs_contact)
    if contact_raw is not None:
        email = _string(contact_raw, "email", "contact", max_length=254)
        if "@" not in email or any(ch.isspace() for ch in email):
            raise EventError("contact.email", "must be an email address")
        language = _string(contact_raw, "language", "contact", required=False, max_length=5)
        if language and language[:2].lower() not in ("de", "en"):
            raise EventError("contact.language", "must be de or en")
        contact = {
            "external_id": _string(contact_raw, "external_id", "contact", required=False, max_length=64),
            "email": email.lower(),
            "name": _string(contact_raw, "name", "contact", required=False) or email.split("@")[0],
            "language": language[:2].lower() if language else None,
        }

    ticket = None
    ticket_raw = _object(payload, "ticket", required=event_type == "ticket.closed")
    if ticket_raw is not None:
        category = _string(ticket_raw, "category", "ticket", required=False, max_length=32) or "general"
        if category not in TICKET_CATEGORIES:
            raise EventError("ticket.category", f"must be one of {', '.join(TICKET_CATEGORIES)}")
        auto_closed = ticket_raw.get("auto_closed", False)
        if not isinstance(auto_closed, bool):
            raise EventError("ticket.auto_closed", "must be true or false")
        ticket = {
            "external_id": _string(ticket_raw, "external_id", "ticket", max_length=64),
            "subject": _string(ticket_raw, "subject", "ticket", required=False, max_length=300) or "",
            "category": category,
            "opened_at": _timestamp(ticket_raw, "opened_at", "ticket", required=False),
            "first_response_at": _timestamp(ticket_raw, "first_response_at", "ticket", required=False),
            "closed_at": _timestamp(ticket_raw, "closed_at", "ticket", required=event_type == "ticket.closed"),
            "agent": _string(ticket_raw, "agent", "ticket", required=False, max_length=120),
            "auto_closed": auto_closed,
        }

    project = None
    project_raw = _object(payload, "project", required=event_type == "installation.completed")
    if project_raw is not None:
        project = {
            "external_id": _string(project_raw, "external_id", "project", max_length=64),
            "name": _string(project_raw, "name", "project", required=False) or "",
            "completed_at": _timestamp(project_raw, "completed_at", "project", required=False),
        }
    return EventData(event_id, event_type, occurred_at, account, contact, ticket, project, raw=payload)


# --- intake ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeResult:
    event: Event
    duplicate: bool

    def as_json(self) -> dict:
        return {
            "event": self.event.external_id,
            "outcome": self.event.outcome,
            "reason": self.event.reason,
            "duplicate": self.duplicate,
            "invitation": self.event.invitation_id,
        }


def find_event(integration: Integration, event_id: str) -> Event | None:
    return db.session.scalar(select(Event).where(Event.integration_id == integration.id, Event.external_id == event_id))


def ingest(integration: Integration, data: EventData, now: datetime | None = None) -> IntakeResult:
    """Apply an event once. Commits. Safe to call concurrently with the same event."""
    for attempt in range(3):
        existing = find_event(integration, data.id)
        if existing is not None:
            db.session.rollback()
            return IntakeResult(existing, duplicate=True)
        try:
            event = _apply(integration, data, now or utcnow())
            db.session.commit()
            return IntakeResult(event, duplicate=False)
        except IntegrityError:
            # Another delivery of this event, or of another event creating the
            # same account/contact, won the race: look again.
            db.session.rollback()
            if attempt == 2:
                raise
    raise RuntimeError("unreachable")


def _apply(integration: Integration, data: EventData, now: datetime) -> Event:
    event = Event(
        integration_id=integration.id,
        external_id=data.id,
        type=data.type,
        occurred_at=data.occurred_at,
        received_at=now,
        payload=data.raw,
        outcome=EventOutcome.RECORDED,
    )
    db.session.add(event)
    db.session.flush()  # claims (integration, id) first: a concurrent duplicate fails here

    account = upsert_account(data.account)
    event.account_id = account.id
    contact = upsert_contact(account, data.contact) if data.contact else None
    event.contact_id = contact.id if contact else None
    ticket = upsert_ticket(account, contact, data.ticket) if data.ticket else None
    event.ticket_id = ticket.id if ticket else None
    project = upsert_project(account, data.project) if data.project else None

    if data.type in ("account.upserted", "contact.upserted"):
        return event
    survey = surveys.matching_survey(data.type, account, ticket)
    if survey is None:
        event.outcome = EventOutcome.NO_MATCHING_SURVEY
        return event
    contact = surveys.lock_contact(contact.id)
    reason = surveys.throttle_reason(survey, contact, ticket, now=now)
    if reason:
        event.outcome, event.reason = EventOutcome.THROTTLED, reason
        return event
    created = surveys.invite(survey, contact, ticket=ticket, project=project, send_after=now + timedelta(hours=survey.delay_hours), now=now)
    event.outcome = EventOutcome.INVITED
    event.invitation_id = created.invitation.id
    return event


def upsert_account(values: dict) -> Account:
    account = db.session.scalar(select(Account).where(Account.external_id == values["external_id"]))
    if account is None:
        account = Account(external_id=values["external_id"], name=values["name"] or values["external_id"])
        db.session.add(account)
    if values.get("name"):
        account.name = values["name"]
    if values.get("region"):
        account.region = values["region"]
    if values.get("service_types") is not None:
        account.service_types = values["service_types"]
    if values.get("contract_renewal_on"):
        account.contract_renewal_on = values["contract_renewal_on"]
    if values.get("account_manager_email"):
        manager = db.session.scalar(select(StaffUser).where(StaffUser.email == values["account_manager_email"].lower()))
        if manager is not None:
            account.account_manager_id = manager.id
    db.session.flush()
    return account


def upsert_contact(account: Account, values: dict) -> Contact:
    contact = None
    if values.get("external_id"):
        contact = db.session.scalar(select(Contact).where(Contact.external_id == values["external_id"]))
    if contact is None:
        contact = db.session.scalar(select(Contact).where(Contact.account_id == account.id, Contact.email == values["email"]))
    if contact is None:
        contact = Contact(account_id=account.id, email=values["email"], name=values["name"], language=values["language"] or "de")
        db.session.add(contact)
    contact.email = values["email"]
    contact.name = values["name"] or contact.name
    if values.get("language"):
        contact.language = values["language"]
    if values.get("external_id"):
        contact.external_id = values["external_id"]
    db.session.flush()
    return contact


def upsert_ticket(account: Account, contact: Contact | None, values: dict) -> Ticket:
    ticket = db.session.scalar(select(Ticket).where(Ticket.external_id == values["external_id"]))
    if ticket is None:
        ticket = Ticket(external_id=values["external_id"], account_id=account.id, opened_at=values["opened_at"] or values["closed_at"] or utcnow())
        db.session.add(ticket)
    ticket.account_id = account.id
    ticket.contact_id = contact.id if contact else ticket.contact_id
    ticket.subject = values["subject"] or ticket.subject or ""
    ticket.category = values["category"]
    for key in ("opened_at", "first_response_at", "closed_at", "agent"):
        if values.get(key):
            setattr(ticket, key, values[key])
    ticket.auto_closed = values["auto_closed"]
    db.session.flush()
    return ticket


def upsert_project(account: Account, values: dict) -> Project:
    project = db.session.scalar(select(Project).where(Project.external_id == values["external_id"]))
    if project is None:
        project = Project(external_id=values["external_id"], account_id=account.id, name=values["name"] or values["external_id"])
        db.session.add(project)
    project.name = values["name"] or project.name
    project.completed_at = values["completed_at"] or project.completed_at
    db.session.flush()
    return project


def account_timeline(account_id: int, limit: int = 50) -> list[Event]:
    return list(
        db.session.scalars(select(Event).where(Event.account_id == account_id).order_by(Event.received_at.desc(), Event.id.desc()).limit(limit))
    )
