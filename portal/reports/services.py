"""Figures for the staff dashboard, and the satisfaction the read API returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, StaffUser
from portal.customers import services as customers
from portal.customers.models import Account, Contact
from portal.extensions import db
from portal.reports.metrics import csat_score, nps_score
from portal.surveys.models import Invitation, Response, nps_category
from portal.timeutil import utcnow

#: How far back the account figures of the read API look.
ACCOUNT_HISTORY = timedelta(days=730)
QUARTER = timedelta(days=90)


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


# --- the read API (GET /api/v1/.../satisfaction) ---------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def ticket_satisfaction(external_id: str) -> dict | None:
    """The latest survey about a ticket and its answer, as the helpdesk reads it; None for an unknown ticket."""
    ticket = customers.ticket_by_external_id(external_id)
    if ticket is None:
        return None
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.ticket_id == ticket.id).options(selectinload(Invitation.response)).order_by(Invitation.id.desc())
    )
    response = invitation.response if invitation else None
    return {
        "ticket": ticket.external_id,
        "survey": {"status": invitation.status, "sent_at": _iso(invitation.sent_at)} if invitation else None,
        "response": _ticket_response(response) if response else None,
    }


def _ticket_response(response: Response) -> dict:
    return {
        "nps": response.nps_score,
        "nps_category": response.nps_category,
        "csat": response.csat_score,
        "comment": response.comment,
        "answered_at": _iso(response.created_at),
        "completed": response.completed_at is not None,
    }


def account_satisfaction(external_id: str, now: datetime | None = None) -> dict | None:
    """An account's NPS (each contact's latest score counts once), its trend over
    the last four quarters, CSAT of the last 90 days and recent comments, as the
    CRM reads them; None for an unknown account."""
    account = customers.account_by_external_id(external_id)
    if account is None:
        return None
    now = now or utcnow()
    responses = list(
        db.session.scalars(
            select(Response).where(Response.account_id == account.id, Response.created_at >= now - ACCOUNT_HISTORY).order_by(Response.created_at)
        )
    )
    latest_nps = {r.contact_id: r for r in responses if r.nps_score is not None}  # later answers replace earlier ones
    recent_csat = [r.csat_score for r in responses if r.csat_score is not None and r.created_at >= now - QUARTER]
    comments = [r for r in reversed(responses) if r.comment][:10]
    return {
        "account": account.external_id,
        "nps": nps_score([r.nps_score for r in latest_nps.values()]),
        "contacts": _contact_scores(account, latest_nps),
        "trend": _quarters(responses, now),
        "csat_90_days": {"csat": csat_score(recent_csat), "responses": len(recent_csat)},
        "recent_comments": [{"text": r.comment, "nps": r.nps_score, "csat": r.csat_score, "answered_at": _iso(r.created_at)} for r in comments],
    }


def _contact_scores(account: Account, latest_nps: dict[int, Response]) -> list[dict]:
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.account_id == account.id))}
    return [
        {
            "contact": contacts[contact_id].external_id or contacts[contact_id].email,
            "nps": r.nps_score,
            "category": nps_category(r.nps_score),
            "answered_at": _iso(r.created_at),
        }
        for contact_id, r in latest_nps.items()
        if contact_id in contacts
    ]


def _quarters(responses: list[Response], now: datetime) -> list[dict]:
    """NPS of each of the last four 90-day periods, oldest first."""
    quarters = []
    for back in range(3, -1, -1):
        start, end = now - QUARTER * (back + 1), now - QUARTER * back
        scores = [r.nps_score for r in responses if r.nps_score is not None and start <= r.created_at < end]
        quarters.append({"from": _iso(start), "to": _iso(end), "nps": nps_score(scores), "responses": len(scores)})
    return quarters
