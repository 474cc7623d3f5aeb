"""Language and time: the German catalogue covers every string, the
language chosen at sign-in is kept, staff times are in the operator's zone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.test_followups_rules import answered  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "portal" / "translations" / "de" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as `make extract`


def _mapping():
    with open(ROOT / "babel.cfg") as cfg:
        return parse_mapping_cfg(cfg)


def _extracted() -> list[tuple[str, str]]:
    """(file, msgid) for every string `make extract` finds in the sources."""
    method_map, options_map = _mapping()
    found = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=lambda path: Path(path).resolve().relative_to(ROOT).parts[:1] == ("portal",),
    )
    return [(filename, message[0] if isinstance(message, tuple) else message) for filename, _line, message, _c, _ctx in found]


@pytest.fixture(scope="module")
def extracted():
    return _extracted()


def test_babel_cfg_parses_templates_with_every_extension_the_app_uses(app):
    """Babel's Jinja parser skips a template silently when it meets a tag it
    does not know (`{% do %}`): then none of its strings are translated."""
    used = {f"{type(ext).__module__}.{type(ext).__name__}" for ext in app.jinja_env.extensions.values()}
    used -= {"jinja2.ext.InternationalizationExtension"}  # Babel's extractor brings its own
    aliases = {"jinja2.ext.ExprStmtExtension": "jinja2.ext.do", "jinja2.ext.LoopControlExtension": "jinja2.ext.loopcontrols"}
    method_map, options_map = _mapping()
    for pattern, method in method_map:
        if method != "jinja2":
            continue
        configured = {e.strip() for e in options_map[pattern].get("extensions", "").split(",") if e.strip()}
        assert {aliases.get(name, name) for name in used} <= configured, pattern


def test_every_template_with_strings_is_extracted(extracted):
    files_with_strings = {name for name, _ in extracted}
    for template in sorted((ROOT / "portal").glob("**/templates/**/*")):
        if template.suffix not in (".html", ".txt"):
            continue
        if re.search(r"\b(_|gettext|ngettext)\(", template.read_text()):
            assert str(template.relative_to(ROOT)) in files_with_strings, f"{template}: no string extracted"


def test_every_string_has_a_german_translation(extracted):
    with open(CATALOG, "rb") as po:
        catalog = read_po(po)
    missing, untranslated = set(), set()
    for filename, msgid in extracted:
        message = catalog.get(msgid)
        if message is None:
            missing.add(f"{filename}: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(s.strip() for s in strings):
            untranslated.add(f"{filename}: {msgid!r}")
    assert not missing, "not in the catalogue (run `make extract`):\n" + "\n".join(sorted(missing))
    assert not untranslated, "no German translation:\n" + "\n".join(sorted(untranslated))


def test_the_german_filter_form_and_pager_speak_german(login_as):
    html = login_as("manager", language="de").get("/staff/reports").get_data(as_text=True)
    for english in (">From<", "Until (exclusive)", "Over time by"):
        assert english not in html
    assert "Von" in html


def test_the_language_chosen_on_the_login_page_is_kept_after_sign_in(app, db, make_staff):
    from tests.conftest import csrf_token, login

    user = make_staff(role="manager", language="de")
    client = app.test_client()
    client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    assert login(client, user).status_code == 303
    assert 'lang="en"' in client.get("/staff/profile").get_data(as_text=True)
    db.session.refresh(user)
    assert user.preferred_language == "en"  # the next sign-in, on any device, speaks it too


def test_signing_in_without_choosing_keeps_the_saved_language(app, db, make_staff):
    from tests.conftest import login

    user = make_staff(role="manager", language="en")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    assert login(client, user).status_code == 303
    assert 'lang="en"' in client.get("/staff/profile").get_data(as_text=True)


# --- time: the operator's zone, German and unambiguous English dates ----------


def _render(app, source: str, locale: str, **context) -> str:
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(locale):
        return render_template_string(source, **context)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("de", "15.01.2026, 12:08 MEZ"), ("en", "15 Jan 2026, 12:08 CET")],
)
def test_a_time_stored_in_utc_reads_in_berlin_time_with_its_zone(app, locale, expected):
    from datetime import datetime

    due = datetime(2026, 1, 15, 11, 8)  # naive UTC, as the database holds it
    assert _render(app, '{{ due|datetimeformat("short", zone=True) }}', locale, due=due) == expected
    summer = datetime(2026, 7, 15, 11, 8)
    assert _render(app, "{{ due|timeformat(zone=True) }}", locale, due=summer) == ("13:08 MESZ" if locale == "de" else "13:08 CEST")


def test_the_operator_chooses_the_time_zone(make_app):
    from datetime import datetime

    app = make_app(PORTAL_TIMEZONE="America/New_York")
    assert _render(app, '{{ due|datetimeformat("short", zone=True) }}', "en", due=datetime(2026, 1, 15, 11, 8)) == "15 Jan 2026, 06:08 EST"


def test_an_unknown_time_zone_is_refused_at_start(make_app):
    from portal.config import ConfigError

    with pytest.raises(ConfigError, match="PORTAL_TIMEZONE"):
        make_app(PORTAL_TIMEZONE="Mars/Olympus")


@pytest.mark.parametrize(
    ("locale", "short", "long"),
    [("de", "03.12.2026", "3. Dezember 2026"), ("en", "3 Dec 2026", "3 December 2026")],
)
def test_dates_are_german_or_unambiguous_english(app, locale, short, long):
    from datetime import date, datetime

    day = date(2026, 12, 3)
    assert _render(app, "{{ day|dateformat }}|{{ day|dateformat('long') }}", locale, day=day) == f"{short}|{long}"
    late_evening = datetime(2026, 12, 2, 23, 30)  # UTC: already 3 December in Berlin
    assert _render(app, "{{ t|dateformat }}", locale, t=late_evening) == short


@pytest.mark.parametrize(
    ("key", "de", "en"),
    [
        ("2026-W36", "KW 36/2026", "W36 2026"),
        ("2026-11", "November 2026", "November 2026"),
        ("2026-Q4", "Q4 2026", "Q4 2026"),
        ("2026-11-03", "03.11.2026", "3 Nov 2026"),
        ("not-a-period", "not-a-period", "not-a-period"),
    ],
)
def test_report_periods_read_as_people_write_them(app, key, de, en):
    assert _render(app, "{{ key|period_label }}", "de", key=key) == de
    assert _render(app, "{{ key|period_label }}", "en", key=key) == en
    if "-W" in key:
        assert _render(app, "{{ key|period_label(short=True) }}", "de", key=key) == "KW 36"


def test_a_task_due_at_11_08_utc_reads_12_08_on_the_task_page(app, db, make_staff, make_account, make_contact, answered):
    from datetime import datetime

    from sqlalchemy import select

    from portal.followups.models import Task
    from tests.conftest import login

    manager = make_staff("account_manager", language="de")
    response = answered(3, "Ständig Ausfälle", contact=make_contact(account=make_account(account_manager=manager)))
    task = db.session.scalar(select(Task).where(Task.response_id == response.id))
    task.due_at = datetime(2026, 1, 15, 11, 8)
    db.session.commit()
    client = app.test_client()
    login(client, manager)
    html = client.get(f"/staff/tasks/{task.id}").get_data(as_text=True)
    assert "15.01.2026, 12:08 MEZ" in html and "11:08" not in html


# --- wording ----------------------------------------------------------------------


def _glossary() -> list[tuple[str, list[str]]]:
    """(German term, [words not to use]) from the README's glossary for translators."""
    readme = (ROOT / "README.md").read_text()
    table = "| English | German | not |" + readme.split("| English | German | not |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        english, german, avoid = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((german, [w.strip().strip('"') for w in avoid.split(",") if w.strip()]))
    return rows


def test_the_german_catalogue_follows_the_glossary():
    with open(CATALOG, "rb") as po:
        catalog = read_po(po)
    texts = [s for m in catalog if m.id for s in (m.string if isinstance(m.string, tuple) else (m.string,))]
    avoided = [word for _german, words in _glossary() for word in words]
    assert "Nachfass-Aufgabe" in avoided and "Tg." in avoided  # the table was read
    offending = {word: [t for t in texts if re.search(rf"(?<![\w-]){re.escape(word)}(?!-)", t)] for word in avoided}
    assert not {word: found for word, found in offending.items() if found}


def test_a_threshold_says_which_side_counts(app, db, make_staff):
    from tests.conftest import login

    manager = make_staff("manager", language="de")  # managers read the rules, admins edit them
    client = app.test_client()
    login(client, manager)
    html = client.get("/staff/tasks/rules").get_data(as_text=True)
    assert "Bewertung höchstens 6" in html and "Rückgang um mindestens 3 Punkte" in html
    assert "<dd>6</dd>" not in html


# --- search: umlaut spellings do not matter ------------------------------------------


@pytest.mark.parametrize(
    ("text", "query"),
    [("kündig", "kundig"), ("Kündigung", "KUENDIG"), ("Müller", "muller"), ("Müller", "Mueller"), ("MÜLLER", "müller"), ("Straße", "strasse"), ("Öl", "oel")],
)
def test_folding_makes_spellings_alike(text, query):
    from portal.web.search import fold

    assert fold(query) in fold(text)


@pytest.mark.parametrize("query", ["muller", "Mueller", "MÜLLER", "müll"])
def test_the_accounts_search_finds_muller_however_it_is_spelt(login_as, make_account, make_contact, query):
    target = make_account(name="Müller Logistik GmbH")
    make_account(name="Meier Bau AG")
    by_contact = make_contact(account=make_account(name="Nordwind KG"), name="Jörg Schäfer")
    html = login_as("manager").get(f"/staff/accounts/?q={query}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert target.name in html and "Meier Bau AG" not in html
    contact_search = login_as("manager").get("/staff/accounts/?q=schaefer", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert by_contact.account.name in contact_search and target.name not in contact_search


def test_a_search_in_comments_finds_kuendig_as_kundig(login_as, answered):
    answered(2, "Wir sind kurz davor, zu KÜNDIGEN.")
    answered(9, "Alles bestens")
    client = login_as("manager")
    for query in ("kundig", "kuendig", "Kündig"):
        html = client.get(f"/staff/reports/responses?q={query}&account_manager=").get_data(as_text=True)
        assert "Wir sind kurz davor, zu KÜNDIGEN." in html and "Alles bestens" not in html, query
    text = client.get("/staff/reports/responses.csv?q=kundig&account_manager=&codes=1").get_data(as_text=True)
    assert "KÜNDIGEN" in text and "bestens" not in text


# --- a ticket without an opening time ---------------------------------------------


def test_a_ticket_without_an_opening_time_took_an_unknown_time_not_0_minutes(login_as, db, make_contact):
    from datetime import datetime

    from portal.customers import services as customers

    contact = make_contact()
    closed = datetime(2026, 11, 20, 9, 30)
    values = {"external_id": "T-NO-OPEN", "subject": "Störung", "category": "technical", "opened_at": None, "first_response_at": None, "closed_at": closed, "agent": None, "auto_closed": False}
    ticket = customers.upsert_ticket(contact.account, contact, values)
    db.session.commit()
    assert ticket.opened_known is False and ticket.resolution_hours is None and ticket.first_response_hours is None
    figures = customers.ticket_figures([contact.account_id], since=datetime(2026, 1, 1))
    assert figures.opened == 1 and figures.median_resolution_hours is None

    values["opened_at"] = datetime(2026, 11, 19, 9, 30)  # the helpdesk tells it later
    customers.upsert_ticket(contact.account, contact, values)
    assert ticket.resolution_hours == 24
    assert customers.ticket_figures([contact.account_id], since=datetime(2026, 1, 1)).median_resolution_hours == 24


def test_the_account_page_shows_no_0_minutes_for_an_unknown_opening(login_as, db, make_contact, make_ticket):
    from datetime import datetime

    contact = make_contact()
    moment = datetime(2026, 11, 20, 9, 30)
    make_ticket(contact=contact, opened_at=moment, first_response_at=None, closed_at=moment)
    html = login_as("manager").get(f"/staff/accounts/{contact.account_id}").get_data(as_text=True)
    assert "0 min" not in html


def test_the_german_report_reads_kw_in_its_chart_and_tables(login_as, answered):
    answered(9, "Gut")
    answered(3, "Schlecht")
    html = login_as("manager", language="de").get("/staff/reports?interval=week&account_manager=").get_data(as_text=True)
    assert re.search(r">KW \d+<", html)  # the chart's axis
    assert re.search(r">KW \d+/20\d\d</a>", html)  # the table behind it
    assert not re.search(r">20\d\d-W\d\d<", html)


@pytest.mark.parametrize(("language", "zone"), [("de", r"MES?Z"), ("en", r"CES?T")])
def test_the_task_email_names_the_zone_of_its_due_time(db, make_staff, make_account, make_contact, answered, language, zone):
    from sqlalchemy import select

    from portal.mail.models import OutboxMessage

    manager = make_staff("account_manager", language=language)
    answered(2, "Ständig Ausfälle", contact=make_contact(account=make_account(account_manager=manager)))
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == manager.email))
    for body in (message.text_body, message.html_body):
        assert re.search(rf"\d\d:\d\d {zone}\b", body) and "UTC" not in body
