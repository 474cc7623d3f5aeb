"""Figures for the staff dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from portal.auth.models import Role, StaffUser
from portal.customers import services as customers
from portal.customers.models import Account
from portal.reports.metrics import csat_score, nps_score  # noqa: F401 - re-exported until the read API moves here
from portal.timeutil import utcnow


@dataclass
class Dashboard:
    can_see_accounts: bool
    account_count: int = 0
    tickets: customers.TicketFigures | None = None
    renewals: list[Account] | None = None


def dashboard_for(user: StaffUser) -> Dashboard:
    """What a staff member sees first: scoped to the accounts they may see."""
    if user.role not in Role.CUSTOMER_FACING:
        return Dashboard(can_see_accounts=False)
    visible_ids = customers.visible_accounts(user).with_only_columns(Account.id)
    return Dashboard(
        can_see_accounts=True,
        account_count=customers.count_visible_accounts(user),
        tickets=customers.ticket_figures(visible_ids, since=utcnow() - timedelta(days=30)),
        renewals=customers.upcoming_renewals(user),
    )
