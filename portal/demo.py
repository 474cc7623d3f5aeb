"""``flask --app portal demo seed``: a believable operator to explore and benchmark.

Deterministic (a fixed random seed) and idempotent: staff users and accounts
are matched by email and customer number and never created twice. Dates are
relative to today, so the data always looks current.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, insert, select

from portal.auth import services as staff
from portal.auth.models import Role, StaffUser
from portal.customers.models import Account, Contact, Ticket
from portal.extensions import db, write_intent
from portal.timeutil import utcnow
from portal.web.transaction import unit_of_work

#: Printed by `make run` in development; never used in production.
DEMO_PASSWORD = "demo-portal-2026"

DEMO_STAFF = (
    ("admin@demo.example", "Alexandra Admin", Role.ADMIN),
    ("manager@demo.example", "Martin Berger", Role.MANAGER),
    ("am@demo.example", "Anna Keller", Role.ACCOUNT_MANAGER),
    ("jonas.wolf@demo.example", "Jonas Wolf", Role.ACCOUNT_MANAGER),
    ("sabine.lang@demo.example", "Sabine Lang", Role.ACCOUNT_MANAGER),
    ("tobias.frank@demo.example", "Tobias Frank", Role.ACCOUNT_MANAGER),
    ("editor@demo.example", "Eva Schreiber", Role.EDITOR),
)

ACCOUNT_COUNT = 200
FIRST_CUSTOMER_NUMBER = 10001

REGIONS = {"Nord": 0.18, "Süd": 0.24, "West": 0.26, "Ost": 0.14, "Mitte": 0.18}
SERVICE_WEIGHTS = {"sip_trunk": 0.55, "hosted_pbx": 0.45, "ucaas": 0.30, "connectivity": 0.60}

NAME_STEMS = (
    "Müller", "Schmidt", "Becker", "Hoffmann", "Wagner", "Schulz", "Koch", "Richter", "Klein", "Wolf",
    "Neumann", "Schwarz", "Zimmermann", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler",
    "Nordlicht", "Alpenblick", "Rheinufer", "Elbtal", "Spreewald", "Weserland", "Bodensee", "Taunus", "Harz", "Eifel",
)
SECTORS = (
    "Logistik", "Steuerberatung", "Autohaus", "Zahnarztpraxis", "Maschinenbau", "Immobilien", "Hotel", "Apotheke",
    "Rechtsanwälte", "Bau", "Elektrotechnik", "Versicherungsmakler", "Pflegedienst", "Druckerei", "Software",
    "Handel", "Spedition", "Architekten", "Reisebüro", "Metallbau",
)
LEGAL_FORMS = ("GmbH", "GmbH", "GmbH", "GmbH & Co. KG", "AG", "e.K.", "KG")
FIRST_NAMES = (
    "Anna", "Lukas", "Julia", "Maximilian", "Laura", "Felix", "Sarah", "Jan", "Lena", "Tim", "Katharina", "David",
    "Sophie", "Niklas", "Marie", "Philipp", "Hannah", "Florian", "Lisa", "Stefan", "Claudia", "Thomas", "Petra",
    "Michael", "Sandra", "Andreas", "Nicole", "Markus", "Birgit", "Oliver",
)
LAST_NAMES = (
    "Meyer", "Weber", "Fischer", "Schneider", "Bauer", "Schäfer", "Jung", "Hahn", "Vogel", "Friedrich", "Keller",
    "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Simon",
)
AGENTS = ("Kai Brandt", "Mira Scholz", "Deniz Aydin", "Paula Heinrich", "Ole Petersen", "Nina Vogt", "Erik Sommer")

TICKET_SUBJECTS = {
    "technical": (
        "Einseitige Sprachübertragung bei externen Anrufen", "SIP-Trunk registriert sich nicht",
        "Anrufe brechen nach 30 Sekunden ab", "Echo bei Gesprächen ins Mobilfunknetz", "Faxversand schlägt fehl",
        "Telefone zeigen 'Keine Verbindung'", "Paketverlust auf der Standleitung", "Rufumleitung funktioniert nicht",
        "Warteschleifenmusik fehlt", "Schlechte Sprachqualität im Homeoffice",
    ),
    "provisioning": (
        "Neue Rufnummern für Filiale schalten", "Portierung der Rufnummernblöcke", "Zusätzliche Nebenstellen einrichten",
        "Umzug des Anschlusses an neuen Standort", "Teams-Direct-Routing aktivieren", "Bandbreite auf 500 Mbit/s erhöhen",
    ),
    "billing": (
        "Rechnung enthält doppelte Positionen", "Fragen zur Gesprächsabrechnung", "Gutschrift für Ausfallzeit",
        "Änderung der Rechnungsadresse", "SEPA-Mandat aktualisieren",
    ),
    "general": (
        "Zugang zum Kundenportal", "Ansprechpartner ändern", "Fragen zur Vertragsverlängerung",
        "Dokumentation für Endgeräte", "Schulungstermin für neue Mitarbeitende",
    ),
}
CATEGORY_WEIGHTS = {"technical": 0.45, "provisioning": 0.20, "billing": 0.20, "general": 0.15}
# Median hours to first response and to resolution per category (log-normal around them).
RESPONSE_MEDIAN_HOURS = {"technical": 1.0, "provisioning": 3.0, "billing": 6.0, "general": 4.0}
RESOLUTION_MEDIAN_HOURS = {"technical": 20.0, "provisioning": 80.0, "billing": 50.0, "general": 30.0}


@dataclass
class SeedReport:
    staff_created: int = 0
    accounts_created: int = 0
    contacts_created: int = 0
    tickets_created: int = 0
    surveys_created: int = 0
    invitations_created: int = 0
    responses_created: int = 0


@click.group("demo", help="Demo data for trying the portal.")
def demo_cli() -> None:
    write_intent.set(True)


@demo_cli.command("seed")
@click.option("--responses", type=click.IntRange(min=0), default=0, help="Add this many extra NPS responses (for benchmarks).")
@with_appcontext
def seed_command(responses: int) -> None:
    """Create demo staff, accounts, contacts, two years of tickets and survey history (idempotent).

    What it prints (logins, links) is printed after the data is committed:
    a link must never point at data that a failure rolled back."""
    from portal.reports import rollup
    from portal.surveys.demo import bulk_responses

    production = current_app.config["PORTAL_PRODUCTION"]
    with unit_of_work():
        report = seed(production=production)
    click.echo(
        f"Demo data: {report.staff_created} staff users, {report.accounts_created} accounts, "
        f"{report.contacts_created} contacts, {report.tickets_created} tickets, "
        f"{report.surveys_created} surveys, {report.invitations_created} invitations, "
        f"{report.responses_created} responses created (existing records were kept)."
    )
    if responses:
        made = bulk_responses(responses, random.Random(responses))  # commits chunk by chunk
        click.echo(f"Added {made} NPS responses for benchmarks.")
    with unit_of_work():  # the history above was written in bulk, past the signals that keep the cells
        cells = rollup.rebuild()
    click.echo(f"Report figures: {cells} daily cells counted.")
    if production:
        click.echo("Production: demo staff got random passwords; set one with `flask --app portal users set-password`.")
    else:
        click.echo(demo_logins_text())
        link = _survey_link_text()
        if link:
            click.echo(link)


def _survey_link_text() -> str | None:
    """A fresh survey link for the first contact (``demo_survey_link`` commits its invitation)."""
    from portal.surveys.demo import demo_survey_link

    contact = db.session.scalar(select(Contact).order_by(Contact.id))
    if contact is None or contact.survey_opt_out:
        return None
    return f"Survey link (NPS, {contact.name}): {demo_survey_link(contact)}"


def demo_logins_text() -> str:
    lines = [f"Staff logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {role:16} {email}" for email, _name, role in DEMO_STAFF]
    from portal.courses.demo import course_link_lines

    lines += course_link_lines()
    return "\n".join(lines)


def seed(production: bool = False, rng: random.Random | None = None) -> SeedReport:
    rng = rng or random.Random(2026)
    report = SeedReport()
    from portal.settings.demo import seed_brand
    from portal.surveys.demo import seed_surveys

    seed_brand()  # a believable operator: emails ask about "Rheinnetz Telekom GmbH", not about "the portal"

    managers = _seed_staff(report, production)
    _seed_accounts(rng, report, managers)
    db.session.flush()
    surveys = seed_surveys(rng)
    report.surveys_created, report.invitations_created, report.responses_created = (
        surveys["surveys"],
        surveys["invitations"],
        surveys["responses"],
    )
    from portal.courses.demo import seed_course_access

    seed_course_access(production)  # one course access link for the first account (printed in development)
    from portal.followups.demo import seed_followups

    seed_followups(rng)  # tasks in every state, some resolved with follow-up answers
    return report


def _seed_staff(report: SeedReport, production: bool) -> list[StaffUser]:
    managers = []
    for email, name, role in DEMO_STAFF:
        user = staff.find_by_email(email)
        if user is None:
            password = secrets.token_urlsafe(24) if production else DEMO_PASSWORD
            user = staff.create_user(email=email, name=name, role=role, password=password, language="de")
            report.staff_created += 1
        if user.role == Role.ACCOUNT_MANAGER:
            managers.append(user)
    return managers


def _seed_accounts(rng: random.Random, report: SeedReport, managers: list[StaffUser]) -> None:
    existing = set(db.session.scalars(select(Account.external_id)))
    used_names: set[str] = set(db.session.scalars(select(Account.name)))
    today = date.today()
    now = utcnow()
    ticket_rows: list[dict] = []
    ticket_number = (db.session.scalar(select(func.count(Ticket.id))) or 0) + 500001

    for index in range(ACCOUNT_COUNT):
        # Draw every random value even for existing accounts, so a re-run
        # after a partial seed produces the same data for the missing ones.
        name = _company_name(rng, used_names)
        region = _weighted(rng, REGIONS)
        services = [s for s, weight in SERVICE_WEIGHTS.items() if rng.random() < weight] or ["sip_trunk"]
        manager = managers[index % len(managers)] if managers else None
        renewal = today + timedelta(days=rng.randint(-30, 3 * 365))
        contact_count = rng.choices((1, 2, 3, 4), weights=(30, 35, 25, 10))[0]
        tickets_per_month = rng.lognormvariate(math.log(1.2), 0.7)
        external_id = f"CRM-{FIRST_CUSTOMER_NUMBER + index}"
        if external_id in existing:
            continue
        used_names.add(name)
        account = Account(
            external_id=external_id,
            name=name,
            region=region,
            account_manager=manager,
            contract_renewal_on=renewal,
            created_at=now - timedelta(days=rng.randint(760, 3000)),
        )
        account.service_types = services
        db.session.add(account)
        domain = _domain(name)
        contacts = []
        for c in range(contact_count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            contact = Contact(
                account=account,
                external_id=f"{external_id}-C{c + 1}",
                email=f"{_ascii(first)}.{_ascii(last)}{c + 1}@{domain}",
                name=f"{first} {last}",
                language="en" if rng.random() < 0.12 else "de",
            )
            db.session.add(contact)
            contacts.append(contact)
        db.session.flush()
        report.accounts_created += 1
        report.contacts_created += len(contacts)

        for opened_at in _ticket_times(rng, tickets_per_month, now):
            category = _weighted(rng, CATEGORY_WEIGHTS)
            response_h = rng.lognormvariate(math.log(RESPONSE_MEDIAN_HOURS[category]), 0.9)
            resolution_h = max(response_h + 0.2, rng.lognormvariate(math.log(RESOLUTION_MEDIAN_HOURS[category]), 1.0))
            first_response_at = opened_at + timedelta(hours=response_h)
            closed_at = opened_at + timedelta(hours=resolution_h)
            ticket_rows.append(
                {
                    "external_id": f"HD-{ticket_number}",
                    "account_id": account.id,
                    "contact_id": rng.choice(contacts).id,
                    "subject": rng.choice(TICKET_SUBJECTS[category]),
                    "category": category,
                    "opened_at": opened_at,
                    "first_response_at": first_response_at if first_response_at < now else None,
                    "closed_at": closed_at if closed_at < now else None,
                    "agent": rng.choice(AGENTS),
                }
            )
            ticket_number += 1
    if ticket_rows:
        db.session.execute(insert(Ticket), ticket_rows)
    report.tickets_created = len(ticket_rows)


def _ticket_times(rng: random.Random, per_month: float, now: datetime) -> list[datetime]:
    """Ticket openings over two years, mostly in business hours on weekdays."""
    times = []
    day = now - timedelta(days=730)
    while day < now:
        day += timedelta(days=rng.expovariate(per_month / 30.0))
        if day >= now:
            break
        opened = day.replace(hour=rng.choice((8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17)), minute=rng.randint(0, 59))
        if opened.weekday() >= 5:
            opened += timedelta(days=7 - opened.weekday())
        if opened < now:
            times.append(opened)
    return times


def _company_name(rng: random.Random, used: set[str]) -> str:
    for _ in range(100):
        name = f"{rng.choice(NAME_STEMS)} {rng.choice(SECTORS)} {rng.choice(LEGAL_FORMS)}"
        if name not in used:
            return name
    return f"{rng.choice(NAME_STEMS)} {rng.choice(SECTORS)} {len(used)} GmbH"


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _ascii(text: str) -> str:
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch in "-.")


def _domain(company: str) -> str:
    words = company.split()
    return f"{_ascii(words[0])}-{_ascii(words[1])}.example"
