"""Hostile event bodies: each is a 4xx naming the field, never a 500, and
nothing of it is stored. Each case here was a 500 (or was accepted) before."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.customers.models import Account, Contact, Project, Ticket
from portal.integrations.models import Event
from portal.integrations.schema import EVENT_SCHEMA
from portal.mail.models import OutboxMessage
from portal.surveys.models import Invitation
from portal.timeutil import utcnow
from tests.conftest import post_event, ticket_closed_event

MODELS = (Event, Account, Contact, Ticket, Project, Invitation, OutboxMessage)


def nothing_stored(db) -> bool:
    return all(db.session.scalar(select(func.count()).select_from(model)) == 0 for model in MODELS)


def recent_event(n: int = 1) -> dict:
    closed = (utcnow() - timedelta(hours=3)).isoformat(timespec="seconds") + "Z"
    event = ticket_closed_event(n, occurred_at=closed)
    event["ticket"]["closed_at"] = closed
    return event


def with_value(path: str, value) -> dict:
    """A valid event with ``value`` at the dotted ``path`` (created if missing)."""
    event = copy.deepcopy(recent_event())
    target = event
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return event


def rejected(response, status: int, field: str) -> bool:
    error = response.json["error"]
    return response.status_code == status and error["status"] == status and error["field"] == field and bool(error["reason"])


def raw_body(event: dict, placeholder: str, raw: str) -> bytes:
    """The event as JSON with the string ``placeholder`` replaced by raw JSON text."""
    return json.dumps(event).replace(json.dumps(placeholder), raw).encode()


# --- not acceptable JSON: 400 naming the body --------------------------------------------------

DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(
    "raw",
    [
        DEEP,  # RecursionError in the parser
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        "[" * 33 + "]" * 33,
        "1" * 5_000,  # more digits than Python converts
        "-" + "9" * 65,
        "1" + "0" * 400 + ".5",
        "1e999",  # infinite
        "NaN",
        "Infinity",
        "-Infinity",
    ],
)
def test_unacceptable_json_anywhere_is_400(client, db, integration, raw):
    body = raw_body(with_value("extra", "RAW"), "RAW", raw)
    response = post_event(client, integration, None, body=body)
    assert rejected(response, 400, "body"), response.json
    assert nothing_stored(db)


def test_a_deep_body_on_its_own_is_400(client, db, integration):
    response = post_event(client, integration, None, body=DEEP.encode())
    assert rejected(response, 400, "body") and nothing_stored(db)


def test_brackets_inside_strings_do_not_count_as_nesting(client, db, integration):
    event = with_value("extra", {"note": "[" * 1000 + '\\"{' * 100})
    event["extra"]["list"] = [[[[["ok"]]]]]
    assert post_event(client, integration, event).status_code == 202


def test_numbers_in_unknown_fields_are_kept(client, db, integration):
    event = with_value("extra", {"count": 12345678901234567890, "ratio": -0.25, "big": 1.5e300})
    assert post_event(client, integration, event).status_code == 202
    assert db.session.scalar(select(Event)).payload["extra"] == {"count": 12345678901234567890, "ratio": -0.25, "big": 1.5e300}


# --- date-times --------------------------------------------------------------------------------

BAD_TIMES = [
    "0001-01-01T00:00:00+23:59",  # OverflowError converting to UTC
    "9999-12-31T23:59:59-23:59",
    "1999-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "tomorrow",
]


@pytest.mark.parametrize("path", ["occurred_at", "ticket.closed_at", "ticket.opened_at", "ticket.first_response_at"])
def test_date_times_out_of_range_are_422(client, db, integration, path):
    for value in BAD_TIMES:
        response = post_event(client, integration, with_value(path, value))
        assert rejected(response, 422, path), (value, response.json)
    assert nothing_stored(db)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+23:59", "2150-06-01T00:00:00Z"])
def test_project_completion_out_of_range_is_422(client, db, integration, value):
    event = with_value("project", {"external_id": "PRJ-1", "completed_at": value})
    event.update(type="installation.completed", ticket=None)
    assert rejected(post_event(client, integration, event), 422, "project.completed_at") and nothing_stored(db)


@pytest.mark.parametrize("value", ["1899-12-31", "2999-01-01", "0001-01-01", "2027-02-30"])
def test_renewal_dates_out_of_range_are_422(client, db, integration, value):
    response = post_event(client, integration, with_value("account.contract_renewal_on", value))
    assert rejected(response, 422, "account.contract_renewal_on") and nothing_stored(db)


# --- types ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [[["x"]], [{"a": 1}], [1], [None], [True], "sip_trunk", {"sip_trunk": True}, 7])
def test_service_types_must_be_a_list_of_known_names(client, db, integration, value):
    response = post_event(client, integration, with_value("account.service_types", value))
    assert rejected(response, 422, "account.service_types") and nothing_stored(db)


STRING_FIELDS = [
    "id", "type", "occurred_at", "account.external_id", "account.name", "account.region", "account.account_manager_email",
    "account.contract_renewal_on", "contact.external_id", "contact.email", "contact.name", "contact.language",
    "ticket.external_id", "ticket.subject", "ticket.category", "ticket.closed_at", "ticket.agent",
]  # fmt: skip


@pytest.mark.parametrize("path", STRING_FIELDS)
def test_non_strings_where_strings_belong_are_422(client, db, integration, path):
    for value in (42, 1.5, True, False, [], ["x"], {}, {"a": "b"}):
        response = post_event(client, integration, with_value(path, value))
        assert rejected(response, 422, path), (value, response.json)
    assert nothing_stored(db)


def test_auto_closed_must_be_a_boolean(client, db, integration):
    for value in ("true", 1, 0, None, [], {}):
        assert rejected(post_event(client, integration, with_value("ticket.auto_closed", value)), 422, "ticket.auto_closed"), value


@pytest.mark.parametrize("path", ["account", "contact", "ticket"])
def test_parts_must_be_objects(client, db, integration, path):
    for value in ("x", 1, True, [], [{"external_id": "A"}]):
        assert rejected(post_event(client, integration, with_value(path, value)), 422, path), value
    assert nothing_stored(db)


# --- strings -------------------------------------------------------------------------------------

REQUIRED = ["id", "type", "occurred_at", "account.external_id", "contact.email", "ticket.external_id", "ticket.closed_at"]


@pytest.mark.parametrize("path", REQUIRED)
def test_blank_required_strings_are_422(client, db, integration, path):
    for blank in ("", "   ", "\t\n ", "\u3000"):
        response = post_event(client, integration, with_value(path, blank))
        assert rejected(response, 422, path) and response.json["error"]["reason"] == "is required", (blank, response.json)
    assert nothing_stored(db)


def test_values_are_stored_without_surrounding_whitespace(client, db, integration):
    event = recent_event()
    event["ticket"]["external_id"] = "  HD-1 \n"
    event["contact"]["email"] = " lena.vogel@mueller-logistik.example "
    assert post_event(client, integration, event).status_code == 202
    assert db.session.scalar(select(Ticket.external_id)) == "HD-1"
    assert db.session.scalar(select(Contact.email)) == "lena.vogel@mueller-logistik.example"


def schema_limits():
    """(path, maxLength) of every free-form string field of the published schema."""
    definitions = EVENT_SCHEMA["$defs"]
    yield "id", definitions["event_id"]["maxLength"]
    for part in ("account", "contact", "ticket", "project"):
        for key, field in definitions[part]["properties"].items():
            if "maxLength" in field and "format" not in field and field.get("pattern", "").startswith("^[^"):
                yield f"{part}.{key}", field["maxLength"]


def event_with(path: str, value) -> dict:
    if not path.startswith("project."):
        return with_value(path, value)
    event = with_value(path, value)
    event.update(type="installation.completed", ticket=None)
    event["project"].setdefault("external_id", "PRJ-1")
    return event


@pytest.mark.parametrize(("path", "limit"), list(schema_limits()))
def test_the_schemas_length_limits_are_the_parsers(client, db, integration, path, limit):
    for value in ("x" * (limit + 1), "x" * 10_000):
        assert rejected(post_event(client, integration, event_with(path, value)), 422, path)
    assert nothing_stored(db)
    assert post_event(client, integration, event_with(path, "x" * limit)).status_code == 202


@pytest.mark.parametrize("path", ["id", "account.external_id", "account.region", "contact.external_id", "ticket.external_id", "contact.language"])
def test_control_characters_in_identifiers_are_422(client, db, integration, path):
    for char in ("\x01", "\x1b", "\x7f", "\x9b", "\n", "\t"):
        assert rejected(post_event(client, integration, with_value(path, f"de{char}X")), 422, path), char
    assert nothing_stored(db)


def test_line_breaks_and_tabs_in_text_are_kept(client, db, integration):
    event = with_value("ticket.subject", "Echo\r\nbei\tGesprächen")
    assert post_event(client, integration, event).status_code == 202
    assert db.session.scalar(select(Ticket.subject)) == "Echo\r\nbei\tGesprächen"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("contact.name", "Lena \ud800 Vogel", "contact.name"),
        ("ticket.subject", "\udfff", "ticket.subject"),
        ("id", "evt-\ud83d", "id"),
        ("extra", "\ud800", "extra"),
        ("extra", {"notes": ["ok", "bad \udc00"]}, "extra.notes[1]"),
        ("extra", {"deeper": {"\ud800": 1}}, "extra.deeper"),
        ("account.note", "\ud800", "account.note"),
        ("extra", "NUL \x00 here", "extra"),
        ("extra", {"list": [{"x": "\x00"}]}, "extra.list[0].x"),
        ("contact.name", "Lena\x00Vogel", "contact.name"),
    ],
)
def test_unstorable_strings_anywhere_are_422(client, db, integration, path, value, field):
    response = post_event(client, integration, with_value(path, value))
    assert rejected(response, 422, field), response.json
    assert nothing_stored(db)


@pytest.mark.parametrize(("key", "field"), [("\ud800", "body"), ("a\x00b", "body")])
def test_unstorable_keys_are_422(client, db, integration, key, field):
    event = recent_event()
    event[key] = 1
    assert rejected(post_event(client, integration, event), 422, field)
    event = recent_event()
    event["account"][key] = 1
    assert rejected(post_event(client, integration, event), 422, "account")
    assert nothing_stored(db)


def test_a_surrogate_pair_is_one_character_and_fine(client, db, integration):
    event = with_value("contact.name", "Lena \ud83d\ude00")
    assert post_event(client, integration, event).status_code == 202
    assert db.session.scalar(select(Contact.name)) == "Lena 😀"


# --- one email address per contact ---------------------------------------------------------------

HOSTILE_EMAILS = [
    "a@b.c,x@evil.example",
    "a@b.c;x@evil.example",
    "a@b.c x@evil.example",
    "a@b.c>x@evil.example",
    "a@b.c(x@evil.example)",
    "<a@b.c>",
    "Lena <a@b.c>",
    '"a b"@c.d',
    '"a@b.c"@evil.example',
    "a@[127.0.0.1]",
    "a@b",
    "a@localhost",
    "@b.c",
    "a@",
    "a@@b.c",
    "a..b@c.d",
    "a@b.c\r\nBcc: x@evil.example",
    "not-an-email",
]


@pytest.mark.parametrize("path", ["contact.email", "account.account_manager_email"])
def test_an_email_field_holds_exactly_one_plain_address(client, db, integration, path):
    for value in HOSTILE_EMAILS:
        response = post_event(client, integration, with_value(path, value))
        assert rejected(response, 422, path), (value, response.json)
    assert nothing_stored(db)


def test_emails_are_normalised_and_match_existing_contacts(client, db, integration, make_staff):
    manager = make_staff("account_manager", email="anna@operator.example")
    first = with_value("contact.email", "Lena.Vogel@Mueller-Logistik.EXAMPLE")
    first["account"]["account_manager_email"] = " ANNA@Operator.Example "
    assert post_event(client, integration, first).status_code == 202
    second = recent_event(2)
    second["contact"] = {"email": "lena.vogel@mueller-logistik.example"}
    assert post_event(client, integration, second).status_code == 202
    assert [c.email for c in db.session.scalars(select(Contact))] == ["lena.vogel@mueller-logistik.example"]
    assert db.session.scalar(select(Account)).account_manager_id == manager.id


def test_international_addresses_are_accepted(client, db, integration):
    assert post_event(client, integration, with_value("contact.email", "Jörg@Müller-Logistik.example")).status_code == 202
    assert db.session.scalar(select(Contact.email)) == "jörg@müller-logistik.example"


def test_an_email_taken_by_another_contact_of_the_account_is_422(client, db, integration, make_account, make_contact):
    account = make_account(external_id="CRM-1")
    make_contact(account=account, email="lena.vogel@mueller-logistik.example", external_id="CON-1")
    make_contact(account=account, email="kai@mueller-logistik.example", external_id="CON-2")
    event = with_value("contact.email", "kai@mueller-logistik.example")  # CON-1 takes CON-2's address
    response = post_event(client, integration, event)
    assert rejected(response, 422, "contact.email"), response.json
    assert db.session.scalar(select(func.count(Event.id))) == 0 and db.session.scalar(select(func.count(Ticket.id))) == 0
