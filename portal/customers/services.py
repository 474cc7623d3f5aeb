"""Accounts, contacts, tickets and projects: their upserts, queries and access rules."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from portal.auth import services as staff
from portal.auth.models import Role, StaffUser
from portal.customers.models import Account, AccountService, Contact, Project, Ticket
from portal.extensions import db
from portal.pagination import Page, paginate
from portal.timeutil import utcnow
from portal.web.search import contains

ACCOUNTS_PER_PAGE = 25
TICKETS_SHOWN = 20
MAX_TICKETS_SHOWN = 500


@dataclass(frozen=True)
class AccountFilters:
    query: str = ""
    region: str = ""
    service_type: str = ""
    account_manager_id: int | None = None
    health: str = ""
    page: int = 1


def can_view_account(user: StaffUser, account: Account) -> bool:
    """Admins and managers see every account; account managers their own."""
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return user.role == Role.ACCOUNT_MANAGER and account.account_manager_id == user.id


def get_account_for(user: StaffUser, account_id: int) -> Account | None:
    """The account, if it exists and ``user`` may see it: an account outside an
    account manager's portfolio is not found, as a task outside it is."""
    account = get_account(account_id)
    return account if account is not None and can_view_account(user, account) else None


def visible_accounts(user: StaffUser) -> Select:
    query = select(Account)
    if user.role == Role.ACCOUNT_MANAGER:
        query = query.where(Account.account_manager_id == user.id)
    elif user.role not in (Role.ADMIN, Role.MANAGER):
        query = query.where(False)
    return query


def search_accounts(user: StaffUser, filters: AccountFilters) -> Page[Account]:
    query = visible_accounts(user).options(selectinload(Account.services), selectinload(Account.account_manager))
    text = filters.query.strip()
    if text:  # case and umlaut spellings do not matter: "muller" finds "Müller"
        contact_match = exists().where(Contact.account_id == Account.id, or_(contains(Contact.email, text), contains(Contact.name, text)))
        query = query.where(or_(contains(Account.name, text), contains(Account.external_id, text), contact_match))
    if filters.region:
        query = query.where(Account.region == filters.region)
    if filters.service_type:
        query = query.where(
            exists().where(AccountService.account_id == Account.id, AccountService.service_type == filters.service_type)
        )
    if filters.account_manager_id:
        query = query.where(Account.account_manager_id == filters.account_manager_id)
    if filters.health and HEALTH_SOURCES:
        ids = list(db.session.scalars(query.with_only_columns(Account.id)))
        health = accounts_health(ids)
        query = query.where(Account.id.in_([i for i in ids if health[i].status == filters.health]))
    query = query.order_by(func.lower(Account.name), Account.id)
    return paginate(query, filters.page, ACCOUNTS_PER_PAGE)


@dataclass(frozen=True)
class HealthSource:
    """How healthy accounts are, from the package that knows (reports, from its subscribers.py):
    ``of`` maps account ids to a health (``status``, ``label``, ``reasons``) for every id given,
    ``choices`` lists the statuses and their labels for the accounts list's filter."""

    of: Callable[[list[int]], dict[int, Any]]
    choices: Callable[[], list[tuple[str, str]]]


HEALTH_SOURCES: list[HealthSource] = []


def accounts_health(account_ids: list[int]) -> dict[int, Any]:
    """The health of these accounts; empty while no package offers it."""
    return HEALTH_SOURCES[0].of(account_ids) if HEALTH_SOURCES else {}


def health_choices() -> list[tuple[str, str]] | None:
    return HEALTH_SOURCES[0].choices() if HEALTH_SOURCES else None


def regions() -> list[str]:
    return list(db.session.scalars(select(Account.region).where(Account.region.is_not(None)).distinct().order_by(Account.region)))


def get_account(account_id: int) -> Account | None:
    return db.session.get(Account, account_id, options=[selectinload(Account.services), selectinload(Account.contacts)])


@dataclass
class TicketFigures:
    """Helpdesk figures for an account over the last twelve months."""

    opened: int = 0
    open_now: int = 0
    median_first_response_hours: float | None = None
    median_resolution_hours: float | None = None
    by_category: dict[str, int] = field(default_factory=dict)


def recent_tickets(account: Account, limit: int = 20) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.account_id == account.id)
            .options(selectinload(Ticket.contact))
            .order_by(Ticket.opened_at.desc())
            .limit(limit)
        )
    )


def ticket_figures(account_ids: Select | list[int] | None = None, since: datetime | None = None) -> TicketFigures:
    """Counts and medians for the tickets of some accounts (all when None)."""
    since = since or utcnow() - timedelta(days=365)
    query = select(Ticket.category, Ticket.opened_at, Ticket.first_response_at, Ticket.closed_at).where(
        Ticket.opened_at >= since
    )
    if account_ids is not None:
        query = query.where(Ticket.account_id.in_(account_ids))
    figures = TicketFigures()
    first_response: list[float] = []
    resolution: list[float] = []
    for category, opened_at, first_response_at, closed_at in db.session.execute(query):
        figures.opened += 1
        figures.by_category[category] = figures.by_category.get(category, 0) + 1
        opened_known = opened_at != closed_at  # else the helpdesk never said when it opened (Ticket.opened_known)
        if first_response_at and opened_known:
            first_response.append((first_response_at - opened_at).total_seconds() / 3600)
        if closed_at is None:
            figures.open_now += 1
        elif opened_known:
            resolution.append((closed_at - opened_at).total_seconds() / 3600)
    figures.median_first_response_hours = statistics.median(first_response) if first_response else None
    figures.median_resolution_hours = statistics.median(resolution) if resolution else None
    return figures


def upcoming_renewals(user: StaffUser, within_days: int = 90, limit: int = 10) -> list[Account]:
    today = date.today()
    query = (
        visible_accounts(user)
        .where(Account.contract_renewal_on.between(today, today + timedelta(days=within_days)))
        .order_by(Account.contract_renewal_on)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def count_visible_accounts(user: StaffUser) -> int:
    return db.session.scalar(select(func.count()).select_from(visible_accounts(user).subquery())) or 0


def account_filter_choices(user: StaffUser) -> tuple[list[str], list[tuple[int, str]] | None]:
    """The regions, and the account managers to filter by (None for an
    account manager, who sees only their own accounts anyway)."""
    if user.role == Role.ACCOUNT_MANAGER:
        return regions(), None
    return regions(), [(manager.id, manager.name) for manager in staff.account_managers()]


# --- the account page --------------------------------------------------------------------

#: What other packages add to an account's timeline: functions of (account id,
#: limit) returning its entries, newest first, each with a ``received_at``.
#: Integrations adds the events the helpdesk and CRM sent. This package cannot
#: ask for them itself: the event intake builds on its upserts.
TIMELINE_SOURCES: list[Callable[[int, int], list[Any]]] = []
TIMELINE_LENGTH = 50

#: What other packages add to the account page as sections of their own:
#: functions of the account returning the section's template context (with
#: ``"template"``, the template the page includes) or None to add nothing.
#: Reports adds the customer's health (NPS, trend, CSAT, comments, courses).
ACCOUNT_SECTIONS: list[Callable[[Account], dict | None]] = []


@dataclass(frozen=True)
class AccountPage:
    account: Account
    tickets: list[Ticket]
    has_more_tickets: bool
    figures: TicketFigures
    timeline: list[Any]
    sections: list[dict] = field(default_factory=list)


def account_page(account: Account, tickets_shown: int, with_sections: bool = True) -> AccountPage:
    """Everything the account page shows; ``tickets_shown`` is clamped to 1…MAX_TICKETS_SHOWN.
    Without ``with_sections`` (the tickets fragment) the other packages' sections are left out."""
    shown = min(max(tickets_shown, 1), MAX_TICKETS_SHOWN)
    tickets = recent_tickets(account, limit=shown + 1)
    return AccountPage(
        account=account,
        tickets=tickets[:shown],
        has_more_tickets=len(tickets) > shown,
        figures=ticket_figures([account.id]),
        timeline=account_timeline(account.id),
        sections=account_sections(account) if with_sections else [],
    )


def account_sections(account: Account) -> list[dict]:
    return [section for source in ACCOUNT_SECTIONS if (section := source(account)) is not None]


def account_timeline(account_id: int, limit: int = TIMELINE_LENGTH) -> list[Any]:
    entries = [entry for source in TIMELINE_SOURCES for entry in source(account_id, limit)]
    return sorted(entries, key=lambda entry: entry.received_at, reverse=True)[:limit]


# --- external ids ------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_external_id(value: str) -> bool:
    """Could ``value`` be a stored external id? Values from a URL path can be
    anything, and NUL or a lone surrogate would make the driver fail."""
    if not 0 < len(value) <= 64 or _CONTROL.search(value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def account_by_external_id(external_id: str) -> Account | None:
    if not is_external_id(external_id):
        return None
    return db.session.scalar(select(Account).where(Account.external_id == external_id))


def ticket_by_external_id(external_id: str) -> Ticket | None:
    if not is_external_id(external_id):
        return None
    return db.session.scalar(select(Ticket).where(Ticket.external_id == external_id))


# --- upserts from the helpdesk and CRM (event intake) ------------------------------------


class ContactEmailTaken(ValueError):
    """The email belongs to another contact of the same account."""


def _locked(query: Select) -> Any:
    """The first row of ``query``, locked FOR NO KEY UPDATE for the rest of the
    transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
    writers). Two lockers wait for each other, but rows that merely reference
    the locked one (tickets, invitations) take a key-share lock that does not
    conflict, so this lock never has to wait for, or upgrade over, such a lock."""
    return db.session.scalars(query.with_for_update(key_share=True).execution_options(populate_existing=True)).first()


def lock_contact(contact_id: int) -> Contact:
    """Lock the contact row: take it before writing anything that references the contact."""
    return _locked(select(Contact).where(Contact.id == contact_id))


def upsert_account(values: dict) -> Account:
    """Find (and lock) or create the account. The lock makes concurrent events
    write the account one after the other, before either locks a contact."""
    account = _locked(select(Account).where(Account.external_id == values["external_id"]))
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
        manager = staff.find_by_email(values["account_manager_email"])
        if manager is not None:
            account.account_manager_id = manager.id
    db.session.flush()
    return account


def upsert_contact(account: Account, values: dict) -> Contact:
    """Find (and lock) or create the contact. A new contact needs no lock: no
    other transaction sees it before commit."""
    contact = None
    if values.get("external_id"):
        contact = db.session.scalar(select(Contact).where(Contact.external_id == values["external_id"]))
    if contact is None:
        contact = db.session.scalar(select(Contact).where(Contact.account_id == account.id, Contact.email == values["email"]))
    if contact is None:
        contact = Contact(account_id=account.id, email=values["email"], name=values["name"], language=values["language"] or "de")
        db.session.add(contact)
    else:
        contact = lock_contact(contact.id)
        if contact.email != values["email"] and db.session.scalar(
            select(Contact.id).where(Contact.account_id == contact.account_id, Contact.email == values["email"], Contact.id != contact.id)
        ):
            raise ContactEmailTaken(values["email"])
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
