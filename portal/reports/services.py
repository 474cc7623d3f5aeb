"""Figures for the staff dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from portal.auth.models import Role, StaffUser
from portal.customers import services as customers
from portal.customers.models import Account
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


# --- NPS and CSAT maths --------------------------------------------------------------


def nps_score(scores: list[int]) -> float | None:
    """Net Promoter Score: % promoters (9–10) minus % detractors (0–6), −100…100."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores), 1)


def csat_score(scores: list[int]) -> float | None:
    """CSAT: the share of satisfied answers (4 or 5 on the 1–5 scale), in %."""
    if not scores:
        return None
    return round(100 * sum(1 for s in scores if s >= 4) / len(scores), 1)
