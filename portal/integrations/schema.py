"""The JSON Schema of an event body (POST /api/v1/events).

It documents the payload for integrators (served at
GET /api/v1/schema/event.json) and drives the API fuzz tests. The parser in
services.py is the authority; tests keep the two in step: every event this
schema accepts is accepted (202), and every length limit here is the one the
parser enforces.

What a schema cannot say, the descriptions do: date-times must lie in the
years 2000 to 2100; strings anywhere in the body, unknown fields and keys
included, must be valid Unicode without NUL characters; numbers must be
finite and at most 64 characters long; nesting is limited to 32 levels.
"""

from __future__ import annotations

from portal.customers.models import SERVICE_TYPES, TICKET_CATEGORIES
from portal.integrations.services import MAX_BODY_BYTES, MAX_DEPTH, MAX_NUMBER_LENGTH
from portal.timeutil import MAX_YEAR, MIN_YEAR

# Identifiers and one-line values: no control characters. Free text may also
# hold tabs and line breaks. Required values need one non-blank character
# (the portal strips surrounding whitespace first).
_LINE = r"[^\u0000-\u001f\u007f-\u009f]"
_TEXT = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]"
_NOT_BLANK = r"[^\s\u0000-\u001f\u007f-\u009f]"


def _identifier(max_length: int, description: str) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": f"^{_LINE}*{_NOT_BLANK}{_LINE}*$", "description": description}


def _optional(max_length: int, description: str, *, text: bool = False) -> dict:
    chars = _TEXT if text else _LINE
    return {"type": ["string", "null"], "maxLength": max_length, "pattern": f"^{chars}*$", "description": description}


def _timestamp(description: str, *, required: bool = True) -> dict:
    return {
        "type": "string" if required else ["string", "null"],
        "format": "date-time",
        "maxLength": 40,
        "description": f"{description} ISO 8601 / RFC 3339, e.g. 2026-11-20T09:30:00Z; without an offset it is UTC; "
        f"years {MIN_YEAR} to {MAX_YEAR}.",
    }


def _email(description: str, *, required: bool) -> dict:
    return {
        "type": "string" if required else ["string", "null"],
        "format": "email",
        "maxLength": 254,
        "description": f"{description} One address, without a display name, quotes, comments or IP literal; stored lower-cased.",
    }


ACCOUNT = {
    "type": "object",
    "description": "The customer account (CRM). Created on first sight, updated by every event; absent or null fields are left as they are.",
    "required": ["external_id"],
    "properties": {
        "external_id": _identifier(64, "The account's id in the CRM."),
        "name": _optional(200, "Company name; defaults to the external id.", text=True),
        "region": _optional(64, "Sales region, used in report filters."),
        "account_manager_email": _email("A staff user's email: that user becomes the account manager (unknown addresses are ignored).", required=False),
        "contract_renewal_on": {"type": ["string", "null"], "format": "date", "description": f"Contract renewal date, e.g. 2027-06-30; years {MIN_YEAR} to {MAX_YEAR}."},
        "service_types": {"type": ["array", "null"], "items": {"enum": list(SERVICE_TYPES)}, "description": "The services the account has (replaces the stored list)."},
    },
}

CONTACT = {
    "type": "object",
    "description": "The person to survey. Found by external_id, else by email within the account.",
    "required": ["email"],
    "properties": {
        "external_id": _optional(64, "The contact's id in the CRM or helpdesk."),
        "email": _email("The contact's email address.", required=True),
        "name": _optional(200, "Full name; defaults to the part of the email before the @.", text=True),
        "language": {
            "type": ["string", "null"],
            "maxLength": 5,
            "pattern": "^([dD][eE]|[eE][nN])([-_][A-Za-z]{2})?$",
            "description": "Survey language: de or en (a region suffix such as de-AT is ignored).",
        },
    },
}

TICKET = {
    "type": "object",
    "description": "The helpdesk ticket.",
    "required": ["external_id"],
    "properties": {
        "external_id": _identifier(64, "The ticket's id in the helpdesk."),
        "subject": _optional(300, "Ticket subject, shown in the survey email.", text=True),
        "category": {"enum": [*TICKET_CATEGORIES, None], "description": "Ticket category; default general."},
        "opened_at": _timestamp("When the ticket was opened.", required=False),
        "first_response_at": _timestamp("First answer to the customer.", required=False),
        "closed_at": _timestamp("When the ticket was closed: the survey's delay counts from here.", required=False),
        "agent": _optional(120, "The agent who handled it.", text=True),
        "auto_closed": {"type": "boolean", "description": "Closed without a human (e.g. no reply): never surveyed. Default false."},
    },
}

PROJECT = {
    "type": "object",
    "description": "The installation project (CRM).",
    "required": ["external_id"],
    "properties": {
        "external_id": _identifier(64, "The project's id in the CRM."),
        "name": _optional(200, "Project name, shown in the survey email.", text=True),
        "completed_at": _timestamp("When the installation was completed: the survey's delay counts from here.", required=False),
    },
}


def _part(name: str, required: bool) -> dict:
    return {"$ref": f"#/$defs/{name}"} if required else {"anyOf": [{"$ref": f"#/$defs/{name}"}, {"type": "null"}]}


def _variant(event_type: str, *, contact: bool = False, ticket: bool = False, project: bool = False) -> dict:
    """The body of one event type: which parts it requires, which it allows."""
    required = ["id", "type", "occurred_at", "account"] + [name for name, needed in (("contact", contact), ("ticket", ticket), ("project", project)) if needed]
    return {
        "type": "object",
        "required": required,
        "properties": {
            "id": {"$ref": "#/$defs/event_id"},
            "type": {"const": event_type},
            "occurred_at": {"$ref": "#/$defs/occurred_at"},
            "account": {"$ref": "#/$defs/account"},
            "contact": _part("contact", contact),
            "ticket": _part("closed_ticket" if ticket else "ticket", ticket),
            "project": _part("project", project),
        },
    }


EVENT_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Portal event",
    "description": (
        "The body of POST /api/v1/events, signed with the Portal-Signature header. "
        f"At most {MAX_BODY_BYTES} bytes of UTF-8 JSON. Unknown fields are kept with the event and otherwise ignored. "
        "Strings anywhere in the body, unknown fields and keys included, must be valid Unicode (no lone surrogates) "
        f"without NUL characters; numbers must be finite and at most {MAX_NUMBER_LENGTH} characters long; objects and "
        f"arrays nest at most {MAX_DEPTH} levels deep. A body that is not such JSON is answered 400, an invalid field 422; "
        'both as {"error": {"status", "field", "reason"}} with the field as a dotted path.'
    ),
    "oneOf": [
        _variant("ticket.closed", contact=True, ticket=True),
        _variant("installation.completed", contact=True, project=True),
        _variant("contact.upserted", contact=True),
        _variant("account.upserted"),
    ],
    "$defs": {
        "event_id": _identifier(128, "The event's unique id: a redelivery with the same id changes nothing and gets the first answer."),
        "occurred_at": _timestamp("When it happened in the source system; the survey's delay counts from here unless the ticket or project says when."),
        "account": ACCOUNT,
        "contact": CONTACT,
        "ticket": TICKET,
        "closed_ticket": {
            **TICKET,
            "required": ["external_id", "closed_at"],
            "properties": {**TICKET["properties"], "closed_at": _timestamp("When the ticket was closed: the survey's delay counts from here.")},
        },
        "project": PROJECT,
    },
}
