"""Accounts, contacts and tickets: queries and access rules."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, StaffUser
from portal.customers.models import Account, AccountService, Contact, Ticket
from portal.extensions import db
from portal.pagination import Page, paginate
from portal.timeutil import utcnow

ACCOUNTS_PER_PAGE = 25
TICKETS_SHOWN = 20
MAX_TICKETS_SHOWN = 500


@dataclass(frozen=True)
class AccountFilters:
    query: str = ""
    region: str = ""
    service_type: str = ""
    account_manager_id: int | None = None
    page: int = 1


def can_view_account(user: StaffUser, account: Account) -> bool:
    """Admins and managers see every account; account managers their own."""
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return user.role == Role.ACCOUNT_MANAGER and account.account_manager_id == user.id


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
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        contact_match = exists().where(
            Contact.account_id == Account.id, or_(Contact.email.ilike(pattern, escape="\\"), Contact.name.ilike(pattern, escape="\\"))
        )
        query = query.where(
            or_(Account.name.ilike(pattern, escape="\\"), Account.external_id.ilike(pattern, escape="\\"), contact_match)
        )
    if filters.region:
        query = query.where(Account.region == filters.region)
    if filters.service_type:
        query = query.where(
            exists().where(AccountService.account_id == Account.id, AccountService.service_type == filters.service_type)
        )
    if filters.account_manager_id:
        query = query.where(Account.account_manager_id == filters.account_manager_id)
    query = query.order_by(func.lower(Account.name), Account.id)
    return paginate(query, filters.page, ACCOUNTS_PER_PAGE)


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
        if first_response_at:
            first_response.append((first_response_at - opened_at).total_seconds() / 3600)
        if closed_at:
            resolution.append((closed_at - opened_at).total_seconds() / 3600)
        else:
            figures.open_now += 1
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
