"""Property-based fuzzing of the JSON API.

Events are generated from the published JSON Schema (portal/integrations/schema.py)
with hypothesis-jsonschema: every event it allows is accepted (202). Hostile
mutations of such events (wrong types at any path, huge or non-finite numbers,
deep nesting, lone surrogates, NUL, 10 kB strings, out-of-range date-times,
several addresses, odd keys) are answered 4xx with the error naming a field,
never 5xx, and write nothing. The read routes answer any path value without a 5xx.

Bounded and derandomised: the same examples on every run. Needs
hypothesis < 6.170.10: later versions dropped an internal (``many.more()``)
that hypothesis-jsonschema 0.23.1 uses for every object schema.
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import date, datetime, timedelta
from urllib.parse import quote

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from sqlalchemy import func, select

from portal.customers.models import Account, Contact, Project, Ticket
from portal.integrations.models import Event
from portal.integrations.schema import EVENT_SCHEMA
from portal.surveys.models import Invitation
from portal.timeutil import utcnow
from tests.conftest import post_event

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: it replays requests for minutes; failures show the example as generated
    # One app and database per test function, shared by its examples: each
    # example compares row counts before and after instead of starting empty.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
NOW = utcnow().replace(microsecond=0)
MODELS = (Event, Account, Contact, Ticket, Project, Invitation)


def _narrowed(node):
    """The schema with its date formats renamed: hypothesis-jsonschema draws
    date-times from the years 0 to 9999, the portal takes 2000 to 2100 (as the
    schema's descriptions say), so the test supplies these two formats."""
    if isinstance(node, dict):
        return {key: f"portal-{value}" if key == "format" and value in ("date-time", "date") else _narrowed(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_narrowed(value) for value in node]
    return node


def _date_times() -> st.SearchStrategy[str]:
    recent = st.datetimes(min_value=NOW - timedelta(days=10), max_value=NOW + timedelta(days=1))  # invites
    moments = st.one_of(recent, recent, st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2100, 12, 30)))
    return st.builds(lambda moment, offset: moment.isoformat() + offset, moments, st.sampled_from(["Z", "+00:00", "+01:00", "-05:30", "+14:00", ""]))


def _storable(value):
    """Unknown fields as the schema's description allows them: no NUL, no
    number longer than 64 characters (hypothesis-jsonschema's generator for
    unknown fields ignores ``allow_x00``)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) > 64:
        return 0
    return value


EVENTS = from_schema(
    _narrowed(EVENT_SCHEMA),
    custom_formats={"portal-date-time": _date_times(), "portal-date": st.dates(date(2000, 1, 1), date(2100, 12, 31)).map(str)},
    allow_x00=False,
    codec="utf-8",
).map(_storable)
_unique = itertools.count(1)


def fresh(event: dict) -> dict:
    """A generated event with an id of its own (else most would be redeliveries
    of earlier examples) and a new contact external id (else a contact found by
    an earlier example's id could be given the address of another contact of
    its account: a real conflict, answered 422)."""
    event = copy.deepcopy(event)
    event["id"] = f"{event['id'][:100]}#{next(_unique)}"
    if isinstance(event.get("contact"), dict) and event["contact"].get("external_id"):
        event["contact"]["external_id"] = f"fuzz-{next(_unique)}"
    return event


def counts(db) -> list[int]:
    db.session.rollback()
    return [db.session.scalar(select(func.count()).select_from(model)) for model in MODELS]


@pytest.fixture
def surveys(make_survey):
    """Surveys for both triggers, so accepted events go all the way to an invitation."""
    return make_survey("post_ticket"), make_survey("post_installation")


@FUZZ
@given(event=EVENTS)
def test_every_event_the_schema_allows_is_accepted(client, db, integration, surveys, event):
    response = post_event(client, integration, fresh(event))
    assert response.status_code == 202, (event, response.json)
    hypothesis.event(f"{event['type']}: {response.json['outcome']} {response.json['reason'] or ''}")  # see --hypothesis-show-statistics
    assert response.json["outcome"] in ("invited", "throttled", "no_matching_survey", "recorded")


# --- hostile mutations ------------------------------------------------------------------------


class Raw(str):
    """JSON text to splice in as it is (what json.dumps cannot produce)."""


RAW_JSON = [
    "1" * 5_000,  # more digits than Python converts
    "-" + "9" * 100,
    "1e999",  # infinite
    "NaN",
    "Infinity",
    "-Infinity",
    "[" * 5_000 + "]" * 5_000,  # deeper than the parser recurses
    '{"a":' * 40 + "1" + "}" * 40,
]
HOSTILE_STRINGS = [
    "x" * 10_000,
    "   ",
    "\ud800",
    "ok \udfff",
    "NUL \x00",
    "\x1b[31m",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "1999-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "a@b.c,x@evil.example",
    "a@b.c;x@evil.example",
    "a@b.c>x@evil.example",
    "a@b.c(x@evil.example)",
    '"a b"@c.d',
    "Lena <a@b.c>",
    "a@b.c\r\nBcc: x@evil.example",
]
HOSTILE_VALUES = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from([[], {}, [["x"]], [{"a": 1}], [1, 2], {"a": "b"}]),
    st.sampled_from(HOSTILE_STRINGS),
    st.text(st.characters(exclude_categories=()), max_size=20),  # lone surrogates and control characters too
    st.sampled_from(RAW_JSON).map(Raw),
)
HOSTILE_KEYS = st.one_of(st.sampled_from(["\ud800", "a\x00b", "x" * 200, "", "id", "type"]), st.text(st.characters(exclude_categories=()), max_size=8))


def _paths(value, path: str = ""):
    """(container, key, path) for every value below ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            yield value, key, child
            yield from _paths(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            child = f"{path}[{index}]"
            yield value, index, child
            yield from _paths(item, child)


def _objects(value, path: str = ""):
    """(object, path) for the body and every object in it."""
    if isinstance(value, dict):
        yield value, path
        for key, item in value.items():
            yield from _objects(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _objects(item, f"{path}[{index}]")


def mutate(event: dict, data) -> tuple[bytes, str]:
    """One hostile change to ``event``: the body, and the path it touched."""
    event = copy.deepcopy(event)
    action = data.draw(st.sampled_from(["replace", "replace", "delete", "add", "bad key"]), label="action")
    if action in ("replace", "delete"):
        container, key, path = data.draw(st.sampled_from(list(_paths(event))), label="path")
        if action == "delete" and isinstance(container, dict):
            del container[key]
        else:
            container[key] = data.draw(HOSTILE_VALUES, label="value")
    else:
        target, path = data.draw(st.sampled_from(list(_objects(event))), label="object")
        key = data.draw(HOSTILE_KEYS if action == "bad key" else st.text(max_size=8), label="key")
        target[key] = data.draw(HOSTILE_VALUES, label="value") if action == "add" else 1
        if action == "add":
            path = f"{path}.{key}" if path else key
    return _dumps(event), path


def _dumps(event: dict) -> bytes:
    raws: dict[str, str] = {}

    def placeholder(value):
        if isinstance(value, Raw):
            name = f"__raw_{len(raws)}__"
            raws[name] = str(value)
            return name
        if isinstance(value, dict):
            return {key: placeholder(item) for key, item in value.items()}
        if isinstance(value, list):
            return [placeholder(item) for item in value]
        return value

    text = json.dumps(placeholder(event))
    for name, raw in raws.items():
        text = text.replace(json.dumps(name), raw)
    return text.encode()


def related(field: str, path: str) -> bool:
    """The error names the touched path, a part of it or a field inside it."""
    if field == "body":
        return True
    short, long = sorted((field, path), key=len)
    return long == short or long.startswith((short + ".", short + "["))


@settings(FUZZ, max_examples=120)
@given(event=EVENTS, data=st.data())
def test_hostile_events_are_4xx_naming_the_field_and_write_nothing(client, db, integration, surveys, event, data):
    body, path = mutate(fresh(event), data)
    before = counts(db)
    response = post_event(client, integration, None, body=body)
    assert response.status_code < 500, (path, body[:300])
    hypothesis.event(f"status {response.status_code}")
    if response.status_code == 202:
        return  # harmless: an unknown field, an optional value left out...
    error = response.json["error"]
    assert response.status_code in (400, 422) and error["status"] == response.status_code
    assert isinstance(error["field"], str) and error["field"] and isinstance(error["reason"], str) and error["reason"]
    assert related(error["field"], path), (error, path)
    assert counts(db) == before


# --- the read routes ---------------------------------------------------------------------------

PATH_VALUES = st.one_of(
    st.text(st.characters(exclude_categories=()), min_size=1, max_size=40).map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
    st.binary(min_size=1, max_size=20).map(lambda b: quote(b, safe="")),  # not UTF-8 at all
    st.sampled_from(["%00", "HD-1%00", "%ED%A0%80", "x" * 10_000, "%0D%0A", "HD-1"]),
)


@settings(FUZZ, max_examples=150)
@given(value=PATH_VALUES)
def test_the_read_routes_answer_any_path_value_without_a_server_error(client, integration, value):
    for route in ("tickets", "accounts"):
        response = client.get(f"/api/v1/{route}/{value}/satisfaction", headers={"Authorization": f"Bearer {integration.api_token}"})
        assert response.status_code < 500, (route, value)
        hypothesis.event(f"status {response.status_code}")
        if response.status_code in (400, 404):
            assert response.json["error"]


# --- the reports API ---------------------------------------------------------------------------

FILTER_NAMES = ["region", "service_type", "account_manager", "ticket_category", "survey_kind", "account", "group_by", "scale"]
DATE_VALUES = st.one_of(
    st.dates().map(date.isoformat),  # the whole calendar, 0001-01-01 to 9999-12-31
    st.sampled_from(["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2026-W47-1", "20261101", "2026-02-30", " ", ""]),
)
BLANK_OR_ODD = st.sampled_from([" ", "", "\t", "%20", "x" * 300, "nps", "week"])


@settings(FUZZ, max_examples=150)
@given(start=DATE_VALUES, end=DATE_VALUES, metric=st.sampled_from(["nps", "csat", "response-rate", "distribution"]),
       interval=st.sampled_from([None, "week", "month", "quarter", " "]), other=st.sampled_from([None, *FILTER_NAMES]), value=BLANK_OR_ODD)  # fmt: skip
def test_the_reports_api_answers_any_period_with_figures_or_a_400_naming_the_parameter(client, integration, start, end, metric, interval, other, value):
    """Dates anywhere in the calendar (also its first and last day, which
    overflow as soon as a period is extended), other formats and blank values."""
    params = [("from", start), ("to", end)] + ([("interval", interval)] if interval else []) + ([(other, value)] if other else [])
    response = client.get(f"/api/v1/reports/{metric}", query_string=params, headers={"Authorization": f"Bearer {integration.api_token}"})
    hypothesis.event(f"status {response.status_code}")
    assert response.status_code in (200, 400), (params, response.status_code)
    if response.status_code == 400:
        error = response.json["error"]
        assert error["status"] == 400 and error["field"] in {name for name, _value in params} and error["reason"], (params, error)
    else:  # a date given is one of the years 2000 to 2100, and it is the one reported on
        for name, given in (("from", start.strip()), ("to", end.strip())):
            assert not given or (2000 <= int(given[:4]) <= 2100 and response.json[name] == given), (params, response.json[name])



# --- odd Host headers ---------------------------------------------------------------------------

HOSTS = st.one_of(
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=300),  # what a header can carry
    st.from_regex(r"[a-z0-9-]{1,70}(\.[a-z0-9-]{0,70}){0,5}(:[0-9]{0,6})?", fullmatch=True),
    st.sampled_from(["xn--zz.example", "xn--.example", "[::1", "[::1]:99999", "a" * 64, "." * 3]),
)


@settings(FUZZ, max_examples=100)
@given(host=HOSTS)
def test_any_host_header_is_answered_without_a_server_error(live_server, integration, host):
    """On the API as on the pages: a Host header that is no host name is a plain
    400 before the app sees it; any other reaches the app, which answers it.
    Over a socket: Werkzeug's test client itself fails on some hosts (xn--zz)."""
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(live_server)
    for method, path in (("GET", "/api/v1/reports/nps"), ("GET", "/api/v1/accounts/X/satisfaction"), ("POST", "/api/v1/events"), ("GET", "/login")):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        connection.putrequest(method, path, skip_host=True)
        connection.putheader("Host", host.encode("latin-1"))
        connection.putheader("Authorization", f"Bearer {integration.api_token}")
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        status = connection.getresponse().status
        connection.close()
        hypothesis.event(f"status {status}")
        assert status < 500, (host, path, status)
