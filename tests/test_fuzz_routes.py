"""Every GET route, opened with hostile path and query values by every kind of
visitor, answers below 500.

The routes come from ``app.url_map`` and the query names from the code
(``request.args.get("...")`` and friends) plus a generic set, so a route or a
parameter added later is fuzzed without anyone editing this file. The values
are a fixed table of what has broken web apps before: numbers past every
integer type, NUL, encoded surrogates and invalid UTF-8, 10 kB strings, path
tricks, other scripts' digits, dates at the edges of the calendar (alone and
as a ``from``/``to`` period), values of only spaces, and Host headers that are
no host name. The secret-link limit is raised so every request reaches its view.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter

from portal.auth.models import Role
from portal.courses.identity import LEARNER_COOKIE_PATH
from portal.tokens import new_token
from portal.web.inputs import BoundedIntegerConverter

PORTAL = Path(__file__).resolve().parent.parent / "portal"
ANONYMOUS, LEARNER, INTEGRATION = "anonymous", "learner", "integration"
WHO = [ANONYMOUS, *Role.ALL, LEARNER, INTEGRATION]

#: Path variable values, as they appear in the URL (percent-encoded where needed).
HOSTILE_PATH_VALUES = [
    "99999999999999999999",  # past bigint
    str(2**63),
    str(2**31),  # past PostgreSQL integer
    "-1",
    "0",
    "%00",  # NUL
    "%ED%A0%80",  # an encoded lone surrogate
    "%FF",  # not UTF-8 at all
    "x" * 10_000,
    "..%2F..%2Fetc%2Fpasswd",
    "%C3%BC%E2%82%AC%F0%9F%98%80",  # ü€😀
    "%C2%B2",  # "²": isdigit() but not int()
    "%D9%A1%D9%A2",  # Arabic-Indic digits: int() takes them
    "%0D%0ASet-Cookie:x=1",
]

#: Query values, percent-encoded; each request sets every known name to one of them.
HOSTILE_QUERY_VALUES = [
    *HOSTILE_PATH_VALUES,
    "9" * 5000,  # int() refuses more than 4300 digits
    "",
    "%2F%2Fevil.example",
    "2026-02-30",
    "1e308",
    "9999-12-31",  # the calendar's last day: one day more overflows
    "0001-01-01",  # its first: one day less overflows
    "%20",  # blank: passes WTForms' Optional() unchanged
    "%20%09%20",
]

#: Values that pass the request guard and reach the view's own parsing: set one
#: name at a time, so a view that refuses one bad parameter early (400) does not
#: hide what it would do with another.
ONE_AT_A_TIME_VALUES = ["9" * 5000, "99999999999999999999", str(2**31), "-1", "%C2%B2", "%D9%A1%D9%A2", "9999-12-31", "0001-01-01", "9999-12", "9999-W52", "%20"]

#: Periods at the edges of the calendar, each valid in itself (``from`` before ``to``),
#: so that the view computes with them (the period before, the weeks, the labels).
CALENDAR_EDGE_PERIODS = [
    ("0001-01-01", "0001-02-01"),
    ("9999-12-01", "9999-12-31"),
    ("0001-01-01", "9999-12-31"),
    ("9999-12-31", None),
    (None, "0001-01-01"),
    ("2026-W47-1", "20261201"),  # ISO forms date.fromisoformat also takes
]

#: Host headers a client or a scanner may send: a label over 63 characters, empty
#: labels, a port past 65535, broken punycode, spaces, a name past 253 characters.
#: (Broken punycode, ``xn--zz``, also breaks Werkzeug's test client; tests/test_hostile_input.py
#: sends it over a socket.)
ODD_HOSTS = ["a" * 64 + ".example", "a..b", ".", "example:99999", "exa mple", "[::1", ("a" * 60 + ".") * 5 + "example", "ex%00ample"]
#: ...and odd ones that are host names all the same: these reach the views.
VALID_ODD_HOSTS = ["evil.example", "[::1]:8080", "xn--mnchen-3ya.de", "localhost.", "a" * 63 + ".example:65535"]

#: Names views commonly read, for parameters the code reads in ways the search below misses.
GENERIC_QUERY_NAMES = {
    "page", "per_page", "q", "status", "lang", "next", "score", "question", "step", "edit", "add",
    "tickets", "category", "from", "to", "since", "until", "period", "date", "sort", "order", "limit",
    "offset", "id", "format", "region", "service", "manager", "survey", "type", "kind",
    # url_for's own keywords: a pager passing the query on must not hand them over
    "endpoint", "_external", "_scheme", "_anchor", "_method",
}  # fmt: skip

_READS = re.compile(r"""(?:args|values|form|formdata)(?:\.get(?:list)?\(\s*|\[\s*)["']([A-Za-z_][\w-]*)["']""")
_QUERY_READS = re.compile(r"""\bargs(?:\.get(?:list)?\(\s*|\[\s*)["']([A-Za-z_][\w-]*)["']""")
_TEMPLATE_READS = re.compile(r"request\.args\.([A-Za-z_]\w*)")
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


def own_names(view) -> set[str]:
    """The names the view's module reads, and the query names its package reads
    elsewhere (``AnswerFilters.from_args`` reads ``period`` for reports/views.py).
    The view without its decorators: their module is not the view's."""
    source = Path(inspect.getsourcefile(inspect.unwrap(view)))
    return names_read_in(source).union(*(_QUERY_READS.findall(module.read_text()) for module in source.parent.glob("*.py")))


def names_read_in(source: Path) -> set[str]:
    text = source.read_text()
    return set(_READS.findall(text)) | {name for name in _TEMPLATE_READS.findall(text) if name not in {"get", "getlist", "to_dict"}}


def query_names(sources: Iterable[Path] | None = None) -> list[str]:
    """Every parameter name the code and templates read (the portal's by
    default), and the generic ones."""
    names = set(GENERIC_QUERY_NAMES)
    for path in sources if sources is not None else [*PORTAL.rglob("*.py"), *PORTAL.rglob("*.html")]:
        names |= names_read_in(path)
    return sorted(names)


def get_rules(app: Flask) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and not rule.endpoint.endswith("static")),
        key=lambda rule: rule.rule,
    )


def fill(rule, values: dict[str, str], **hostile: str) -> str:
    """The rule's path with each variable from ``hostile``, else ``values``,
    else a harmless default ("1" for numbers, "x" otherwise)."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in hostile:
            return hostile[name]
        if name in values:
            return values[name]
        return "1" if isinstance(rule._converters.get(name), BoundedIntegerConverter) else "x"

    return _VARIABLE.sub(value, rule.rule)


def hostile_urls(rule, values: dict[str, str], names: list[str], own_names: Iterable[str]):
    """Real path values with every query name set to each hostile value; each
    name the view's package reads set alone; then each path variable in turn
    set to each hostile value."""
    base = fill(rule, values)
    for hostile in HOSTILE_QUERY_VALUES:
        yield base + "?" + "&".join(f"{name}={hostile}" for name in names)
    for name in sorted(own_names):
        for hostile in ONE_AT_A_TIME_VALUES:
            yield f"{base}?{name}={hostile}"
    for variable in rule.arguments:
        for hostile in HOSTILE_PATH_VALUES:
            yield fill(rule, values, **{variable: hostile})
    for start, end in CALENDAR_EDGE_PERIODS:
        yield base + "?" + "&".join(f"{name}={value}" for name, value in (("from", start), ("to", end)) if value)


def server_errors(client, rules, values: dict[str, dict[str, str]], names: list[str], headers: dict | None = None) -> list[str]:
    """Every URL (by rule, with hostile values) that answered 5xx; also HEAD,
    OPTIONS and an htmx request. ``values``: path values by endpoint, "*" for all."""
    failures = []
    session = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"]) if client._cookies is not None else None
    for host in VALID_ODD_HOSTS:  # the signed-in visitor stays signed in on the other host names
        if session is not None:
            client.set_cookie(session.key, session.value, domain=host.rsplit(":", 1)[0] if not host.endswith("]") else host)

    def check(url: str, method: str = "GET", htmx: bool = False, host: str | None = None) -> None:
        extra = {"HX-Request": "true"} if htmx else {}
        if host is not None:
            extra["Host"] = host
        response = client.open(url, method=method, headers={**(headers or {}), **extra})
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {method} {url[:150]}{f' Host: {host[:40]}' if host else ''}")

    for rule in rules:
        known = values.get("*", {}) | values.get(rule.endpoint, {})
        for url in hostile_urls(rule, known, names, own_names(client.application.view_functions[rule.endpoint])):
            check(url)
        check(fill(rule, known) + "?" + "&".join(f"{name}=-1" for name in names), htmx=True)
        check(fill(rule, known), method="HEAD")
        check(fill(rule, known), method="OPTIONS")
        for host in ODD_HOSTS + VALID_ODD_HOSTS:
            check(fill(rule, known), host=host)
    return failures


# --- the portal ---------------------------------------------------------------------


@pytest.fixture
def app_config(app_config):
    # Every request reaches its view (a limit, not RATELIMIT_ENABLED: the limiter is
    # process-wide and would stay off for later tests); a crash is a 500 answer, collected.
    return {**app_config, "PORTAL_TOKEN_LIMIT_PER_IP": "100000 per minute", "PROPAGATE_EXCEPTIONS": False}


@pytest.fixture
def visitors_data(db, make_staff, make_account, make_contact, make_ticket, make_message, make_invitation, make_access_link, make_learner, make_survey):
    """Real records for every path variable, so the query fuzzing reaches the
    views (an unknown id stops at a 404 before any parameter is read), and
    enough accounts and messages for a second page, so the pagers render.
    Returns (path values by endpoint, "*" for all; the learner; the API token)."""
    from portal.courses import services as courses
    from portal.integrations import services as integrations

    manager = make_staff(Role.ACCOUNT_MANAGER)
    accounts = [make_account(account_manager=manager) for _ in range(26)]
    ticket = make_ticket(make_contact(accounts[0]))
    messages = [make_message(status="failed") for _ in range(51)]
    survey = make_survey("nps")
    invitation, survey_token = make_invitation(survey=survey)
    unsubscribe_token, invitation.unsubscribe_token_hash = new_token()
    link, link_token = make_access_link(accounts[0])
    learner = make_learner(link)
    sign_in_token = courses.issue_login_token(learner)
    course = courses.courses_for_link(link, learner.language)[0]
    api = integrations.create_integration("Helpdesk")
    db.session.commit()
    every = {
        "account_id": str(accounts[0].id),
        "message_id": str(messages[0].id),
        "learner_id": str(learner.id),
        "link_id": str(link.id),
        "survey_id": str(survey.id),
        "question_id": str(survey.questions[0].id),
        "course_slug": course.slug,
        "lesson_slug": course.lessons[0].slug,
        "external_id": ticket.external_id,
    }
    values = {
        "*": every,
        "surveys.survey_page": {"token": survey_token},
        "surveys.unsubscribe": {"token": unsubscribe_token},
        "courses.access": {"token": link_token},
        "courses.sign_in": {"token": sign_in_token},
        "integrations.account_satisfaction_view": {"external_id": accounts[0].external_id},
    }
    return values, learner, api.api_token


@pytest.mark.parametrize("who", WHO)
def test_no_get_route_answers_hostile_input_with_a_server_error(app, login_as, learner_client, visitors_data, who):
    values, learner, api_token = visitors_data
    rules = get_rules(app)
    headers = None
    if who == ANONYMOUS:
        client = app.test_client()
    elif who == LEARNER:
        client = learner_client(learner)
        rules = [rule for rule in rules if rule.rule.startswith(LEARNER_COOKIE_PATH)]  # the cookie goes nowhere else
    elif who == INTEGRATION:
        client, headers = app.test_client(), {"Authorization": f"Bearer {api_token}"}
        rules = [rule for rule in rules if rule.rule.startswith("/api/")]
    else:
        client = login_as(who)
    assert rules
    assert server_errors(client, rules, values, query_names(), headers) == []


def test_every_numeric_route_variable_is_bounded(app):
    """<int:...> everywhere is the bounded converter: ids past PostgreSQL's integer are a 404."""
    numeric = [(rule.rule, type(converter)) for rule in app.url_map.iter_rules() for converter in rule._converters.values() if isinstance(converter, IntegerConverter)]
    assert numeric and all(kind is BoundedIntegerConverter for _rule, kind in numeric), numeric


def test_query_names_come_from_the_code():
    """The fuzzing reaches the parameters views really read, however they read them."""
    names = query_names()
    assert {"q", "page", "tickets", "status", "score", "edit", "step", "email_language", "page_language", "next", "lang", "position"} <= set(names)


def test_a_route_added_later_is_fuzzed_without_editing_this_file(make_app):
    """A new GET route is enumerated from the url_map, its variables and its
    query parameter are filled with hostile values, and a crash is reported."""
    from flask import request

    app = make_app()

    def fragile(thing_id: int, label: str):
        return str(thing_id + int(request.args.get("fresh_parameter", "0")))  # int() of 5000 digits raises

    app.add_url_rule("/later/<int:thing_id>/<label>", "later.fragile", fragile)
    rules = get_rules(app)
    rule = next(rule for rule in rules if rule.endpoint == "later.fragile")  # enumerated
    assert isinstance(rule._converters["thing_id"], BoundedIntegerConverter)
    names = query_names([Path(__file__)])  # the parameter is found where the view reads it
    assert "fresh_parameter" in names and "fresh_parameter" not in GENERIC_QUERY_NAMES
    failures = server_errors(app.test_client(), [rule], {}, names)
    assert failures and all(failure.startswith("500 GET /later/1/x?") for failure in failures)
    assert "500 GET /later/1/x?fresh_parameter=99999" in {failure[:40] for failure in failures}  # set alone too
    assert app.test_client().get("/later/99999999999999999999/x").status_code == 404
