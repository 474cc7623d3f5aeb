"""Every GET route, opened with hostile path and query values by every kind of
visitor, answers below 500.

The routes come from ``app.url_map`` and the query names from the code
(``request.args.get("...")`` and friends) plus a generic set, so a route or a
parameter added later is fuzzed without anyone editing this file. The values
are a fixed table of what has broken web apps before: numbers past every
integer type, NUL, encoded surrogates and invalid UTF-8, 10 kB strings, path
tricks, other scripts' digits. The secret-link limit is raised so every
request reaches its view.
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
]

#: Values that pass the request guard and reach the view's own parsing: set one
#: name at a time, so a view that refuses one bad parameter early (400) does not
#: hide what it would do with another.
ONE_AT_A_TIME_VALUES = ["9" * 5000, "99999999999999999999", str(2**31), "-1", "%C2%B2", "%D9%A1%D9%A2"]

#: Names views commonly read, for parameters the code reads in ways the search below misses.
GENERIC_QUERY_NAMES = {
    "page", "per_page", "q", "status", "lang", "next", "score", "question", "step", "edit", "add",
    "tickets", "category", "from", "to", "since", "until", "period", "date", "sort", "order", "limit",
    "offset", "id", "format", "region", "service", "manager", "survey", "type", "kind",
    # url_for's own keywords: a pager passing the query on must not hand them over
    "endpoint", "_external", "_scheme", "_anchor", "_method",
}  # fmt: skip

_READS = re.compile(r"""(?:args|values|form|formdata)(?:\.get(?:list)?\(\s*|\[\s*)["']([A-Za-z_][\w-]*)["']""")
_TEMPLATE_READS = re.compile(r"request\.args\.([A-Za-z_]\w*)")
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


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
    name the view's module reads set alone; then each path variable in turn
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


def server_errors(client, rules, values: dict[str, dict[str, str]], names: list[str], headers: dict | None = None) -> list[str]:
    """Every URL (by rule, with hostile values) that answered 5xx; also HEAD,
    OPTIONS and an htmx request. ``values``: path values by endpoint, "*" for all."""
    failures = []

    def check(url: str, method: str = "GET", htmx: bool = False) -> None:
        response = client.open(url, method=method, headers={**(headers or {}), **({"HX-Request": "true"} if htmx else {})})
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {method} {url[:150]}")

    for rule in rules:
        known = values.get("*", {}) | values.get(rule.endpoint, {})
        view = client.application.view_functions[rule.endpoint]
        for url in hostile_urls(rule, known, names, names_read_in(Path(inspect.getsourcefile(view)))):
            check(url)
        check(fill(rule, known) + "?" + "&".join(f"{name}=-1" for name in names), htmx=True)
        check(fill(rule, known), method="HEAD")
        check(fill(rule, known), method="OPTIONS")
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
