"""What the helpdesk and CRM read back: satisfaction per ticket and per account."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.customers.models import Account, Contact, Ticket
from portal.extensions import db
from portal.integrations.services import is_external_id
from portal.reports.services import csat_score, nps_score
from portal.surveys.models import Invitation, Response, nps_category
from portal.timeutil import utcnow


def _iso(value):
    return value.isoformat() + "Z" if value else None


def ticket_satisfaction(external_id: str) -> dict | None:
    if not is_external_id(external_id):
        return None
    ticket = db.session.scalar(select(Ticket).where(Ticket.external_id == external_id))
    if ticket is None:
        return None
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.ticket_id == ticket.id).options(selectinload(Invitation.response)).order_by(Invitation.id.desc())
    )
    response = invitation.response if invitation else None
    return {
        "ticket": ticket.external_id,
        "survey": {"status": invitation.status, "sent_at": _iso(invitation.sent_at)} if invitation else None,
        "response": {
            "nps": response.nps_score,
            "nps_category": response.nps_category,
            "csat": response.csat_score,
            "comment": response.comment,
            "answered_at": _iso(response.created_at),
            "completed": response.completed_at is not None,
        }
        if response
        else None,
    }


def account_satisfaction(external_id: str, now=None) -> dict | None:
    if not is_external_id(external_id):
        return None
    account = db.session.scalar(select(Account).where(Account.external_id == external_id))
    if account is None:
        return None
    now = now or utcnow()
    responses = list(
        db.session.scalars(
            select(Response)
            .where(Response.account_id == account.id, Response.created_at >= now - timedelta(days=730))
            .order_by(Response.created_at)
        )
    )
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.account_id == account.id))}
    latest_nps: dict[int, Response] = {}
    for r in responses:
        if r.nps_score is not None:
            latest_nps[r.contact_id] = r
    quarters = []
    for back in range(3, -1, -1):
        start, end = now - timedelta(days=90 * (back + 1)), now - timedelta(days=90 * back)
        scores = [r.nps_score for r in responses if r.nps_score is not None and start <= r.created_at < end]
        quarters.append({"from": _iso(start), "to": _iso(end), "nps": nps_score(scores), "responses": len(scores)})
    recent_csat = [r for r in responses if r.csat_score is not None and r.created_at >= now - timedelta(days=90)]
    comments = [r for r in reversed(responses) if r.comment][:10]
    return {
        "account": account.external_id,
        "nps": nps_score([r.nps_score for r in latest_nps.values()]),
        "contacts": [
            {
                "contact": contacts[cid].external_id or contacts[cid].email,
                "nps": r.nps_score,
                "category": nps_category(r.nps_score),
                "answered_at": _iso(r.created_at),
            }
            for cid, r in latest_nps.items()
            if cid in contacts
        ],
        "trend": quarters,
        "csat_90_days": {"csat": csat_score([r.csat_score for r in recent_csat]), "responses": len(recent_csat)},
        "recent_comments": [{"text": r.comment, "nps": r.nps_score, "csat": r.csat_score, "answered_at": _iso(r.created_at)} for r in comments],
    }
