"""Events in from the helpdesk and CRM.

Intake (DESIGN.md §5.1): verify the signature, validate, then in ONE
transaction store the event, upsert account, contact and ticket (through
``portal.customers.services``, which owns those tables), pick the survey,
check throttling and create the invitation with its outbox message.
The event is stored once per (integration, id); a redelivery gets the first
outcome back and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.customers import services as customers
from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES, Account, Contact
from portal.extensions import db
from portal.integrations.models import Event, EventOutcome, Integration
from portal.surveys import services as surveys
from portal.timeutil import MAX_YEAR, MIN_YEAR, utcnow
from portal.tokens import hash_token, new_token

SIGNATURE_TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32  # objects and arrays; the schema needs 3
MAX_NUMBER_LENGTH = 64  # characters of a number literal
CLOCK_SKEW = timedelta(minutes=5)
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


class BodyError(EventError):
    """The body is not JSON the portal accepts (answered 400, not 422)."""

    def __init__(self, reason: str):
        super().__init__("body", reason)


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


# A string up to its closing quote, or to the end when unterminated: without
# the optional quote, "\"\"\"... would be rescanned from every quote (quadratic).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tabs and line breaks are text


def load_json(body: bytes) -> Any:
    """The body as JSON, refusing what would break later: nesting deeper than
    MAX_DEPTH (the parser recurses), numbers longer than MAX_NUMBER_LENGTH
    (Python refuses ints of more than 4300 digits, and converting long ones
    is slow), and NaN or Infinity (not JSON, and not storable)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyError("must be UTF-8 JSON") from error
    if _nesting_depth(text) > MAX_DEPTH:
        raise BodyError(f"must not nest objects and arrays more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except json.JSONDecodeError as error:
        raise BodyError(f"must be UTF-8 JSON ({error.msg} at character {error.pos})") from error


def _nesting_depth(text: str) -> int:
    """How deep brackets nest outside strings (checked before parsing)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise BodyError(f"numbers must have at most {MAX_NUMBER_LENGTH} characters")
    return int(literal)


def _parse_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise BodyError(f"numbers must have at most {MAX_NUMBER_LENGTH} characters")
    number = float(literal)
    if not math.isfinite(number):
        raise BodyError("numbers must be finite")
    return number


def _parse_constant(name: str) -> float:
    raise BodyError(f"{name} is not a JSON number")


def _check_strings(payload: Any) -> None:
    """Every key and string anywhere in the payload, unknown fields included
    (the payload is stored as it came), must be storable: valid Unicode, no
    lone surrogates, no NUL characters."""
    pending = deque([(payload, "")])
    while pending:
        value, path = pending.popleft()
        if isinstance(value, str):
            _check_text(value, path or "body", "must")
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, path or "body", "keys must")
                pending.append((item, _path(path, key)))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(value))


def _check_text(value: str, field: str, subject: str) -> None:
    if "\x00" in value:
        raise EventError(field, f"{subject} not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise EventError(field, f"{subject} be valid Unicode (no lone surrogates)") from error


def _path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _string(obj: dict, key: str, path: str, *, required: bool = True, max_length: int = 200, text: bool = False) -> str | None:
    """A string field without surrounding whitespace; blank counts as absent.
    One-line values must not contain control characters; free ``text`` may
    hold tabs and line breaks."""
    name = _path(path, key)
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise EventError(name, "must be a string")
    if value is not None and len(value) > max_length:
        raise EventError(name, f"must be at most {max_length} characters")
    value = value.strip() if value else None
    if not value:
        if required:
            raise EventError(name, "is required")
        return None
    if (_CONTROL_IN_TEXT if text else _CONTROL).search(value):
        raise EventError(name, "must not contain control characters")
    return value


def _email(obj: dict, key: str, path: str, *, required: bool = True) -> str | None:
    """One plain address (no list, display name, quotes, comments or IP
    literal), in email-validator's normalised form, lower-cased."""
    value = _string(obj, key, path, required=required, max_length=254)
    if value is None:
        return None
    try:
        email = validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise EventError(_path(path, key), f"must be one email address: {error}") from error
    if len(email) > 254:
        raise EventError(_path(path, key), "must be at most 254 characters")
    return email


def _timestamp(obj: dict, key: str, path: str, *, required: bool = True) -> datetime | None:
    """A naive UTC datetime; without an offset the value is taken as UTC."""
    value = _string(obj, key, path, required=required, max_length=40)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None or not datetime(MIN_YEAR, 1, 1) <= parsed < datetime(MAX_YEAR + 1, 1, 1):
        raise EventError(_path(path, key), f"must be an ISO 8601 date-time like 2026-11-20T09:30:00Z in the years {MIN_YEAR} to {MAX_YEAR}")
    return parsed


def _date(obj: dict, key: str, path: str) -> date | None:
    value = _string(obj, key, path, required=False, max_length=10)
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise EventError(_path(path, key), f"must be a date like 2027-03-31 in the years {MIN_YEAR} to {MAX_YEAR}")
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
    """Validate a parsed body (see schema.py for the documented shape)."""
    if not isinstance(payload, dict):
        raise EventError("body", "must be a JSON object")
    _check_strings(payload)
    event_id = _string(payload, "id", "", max_length=128)
    event_type = _string(payload, "type", "", max_length=64)
    if event_type not in EVENT_TYPES:
        raise EventError("type", f"must be one of {', '.join(EVENT_TYPES)}")
    occurred_at = _timestamp(payload, "occurred_at", "")

    account_raw = _object(payload, "account", required=True)
    account = {
        "external_id": _string(account_raw, "external_id", "account", max_length=64),
        "name": _string(account_raw, "name", "account", required=False, text=True),
        "region": _string(account_raw, "region", "account", required=False, max_length=64),
        "account_manager_email": _email(account_raw, "account_manager_email", "account", required=False),
        "contract_renewal_on": _date(account_raw, "contract_renewal_on", "account"),
        "service_types": None,
    }
    types = account_raw.get("service_types")
    if types is not None:
        if not isinstance(types, list) or not all(isinstance(t, str) and t in SERVICE_TYPES for t in types):
            raise EventError("account.service_types", f"must be a list of {', '.join(SERVICE_TYPES)}")
        account["service_types"] = list(dict.fromkeys(types))

    needs_contact = event_type in ("ticket.closed", "installation.completed", "contact.upserted")
    contact = None
    contact_raw = _object(payload, "contact", required=needs_contact)
    if contact_raw is not None:
        email = _email(contact_raw, "email", "contact")
        language = _string(contact_raw, "language", "contact", required=False, max_length=5)
        if language and language[:2].lower() not in ("de", "en"):
            raise EventError("contact.language", "must be de or en")
        contact = {
            "external_id": _string(contact_raw, "external_id", "contact", required=False, max_length=64),
            "email": email,
            "name": _string(contact_raw, "name", "contact", required=False, text=True) or email.split("@")[0],
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
            "subject": _string(ticket_raw, "subject", "ticket", required=False, max_length=300, text=True) or "",
            "category": category,
            "opened_at": _timestamp(ticket_raw, "opened_at", "ticket", required=False),
            "first_response_at": _timestamp(ticket_raw, "first_response_at", "ticket", required=False),
            "closed_at": _timestamp(ticket_raw, "closed_at", "ticket", required=event_type == "ticket.closed"),
            "agent": _string(ticket_raw, "agent", "ticket", required=False, max_length=120, text=True),
            "auto_closed": auto_closed,
        }

    project = None
    project_raw = _object(payload, "project", required=event_type == "installation.completed")
    if project_raw is not None:
        project = {
            "external_id": _string(project_raw, "external_id", "project", max_length=64),
            "name": _string(project_raw, "name", "project", required=False, text=True) or "",
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
    """Apply an event once, or answer a redelivery with the first outcome.

    Flushes; the caller commits through ``portal.web.transaction.run_in_transaction``,
    which runs this again when a concurrent delivery won a race (the same event
    id, a new account or contact) or the database broke a deadlock.
    """
    existing = find_event(integration, data.id)
    if existing is not None:
        return IntakeResult(existing, duplicate=True)
    return IntakeResult(_apply(integration, data, now or utcnow()), duplicate=False)


def _apply(integration: Integration, data: EventData, now: datetime) -> Event:
    """Locks are taken in one order, so that concurrent events cannot
    deadlock: the event's id (its unique row), the account row, the contact
    row, each before anything that references it is written (a reference
    takes a share lock that a later lock of the row would have to upgrade).
    The contact lock also makes concurrent events for one contact pass the
    throttling checks one after the other."""
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

    account = customers.upsert_account(data.account)
    event.account_id = account.id
    contact = _upsert_contact(account, data.contact) if data.contact else None
    event.contact_id = contact.id if contact else None
    ticket = customers.upsert_ticket(account, contact, data.ticket) if data.ticket else None
    event.ticket_id = ticket.id if ticket else None
    project = customers.upsert_project(account, data.project) if data.project else None

    if data.type in ("account.upserted", "contact.upserted"):
        return event
    survey = surveys.matching_survey(data.type, account, ticket)
    if survey is None:
        event.outcome = EventOutcome.NO_MATCHING_SURVEY
        return event
    happened = event_time(data, now)
    if now - happened > timedelta(days=current_app.config["PORTAL_EVENT_MAX_AGE_DAYS"]):
        event.outcome, event.reason = EventOutcome.THROTTLED, "stale_event"
        return event
    reason = surveys.throttle_reason(survey, contact, ticket, now=now)
    if reason:
        event.outcome, event.reason = EventOutcome.THROTTLED, reason
        return event
    send_after = max(now, happened + timedelta(hours=survey.delay_hours))
    created = surveys.invite(survey, contact, ticket=ticket, project=project, send_after=send_after, now=now)
    event.outcome = EventOutcome.INVITED
    event.invitation_id = created.invitation.id
    return event


def event_time(data: EventData, now: datetime) -> datetime:
    """When what the survey asks about happened: the ticket was closed, the
    installation completed (else the event's occurred_at). The survey's delay
    counts from there, not from a late delivery. A time in the future beyond
    CLOCK_SKEW counts as now."""
    happened = (data.ticket or {}).get("closed_at") or (data.project or {}).get("completed_at") or data.occurred_at
    return now if happened > now + CLOCK_SKEW else happened


def _upsert_contact(account: Account, values: dict) -> Contact:
    try:
        return customers.upsert_contact(account, values)
    except customers.ContactEmailTaken as error:
        raise EventError("contact.email", "belongs to another contact of this account") from error


def account_events(account_id: int, limit: int) -> list[Event]:
    """The account's events, newest first: its page shows them (a
    ``customers.services.TIMELINE_SOURCES`` entry, added by subscribers.py)."""
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.account_id == account_id)
            .options(selectinload(Event.invitation), selectinload(Event.ticket))
            .order_by(Event.received_at.desc(), Event.id.desc())
            .limit(limit)
        )
    )
