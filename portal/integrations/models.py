from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.customers.models import Ticket
from portal.extensions import db
from portal.surveys.models import Invitation
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l


class Integration(db.Model):
    """A system allowed to post events (helpdesk, CRM) and read satisfaction.

    The signing secret has to be kept as it is to verify HMAC signatures; the
    bearer token for the read API is kept only as a SHA-256 hash.
    """

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    signing_secret: Mapped[str] = mapped_column(String(128))
    api_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventOutcome:
    INVITED = "invited"
    THROTTLED = "throttled"
    NO_MATCHING_SURVEY = "no_matching_survey"
    RECORDED = "recorded"  # account.upserted / contact.upserted: data updated, no survey involved

    LABELS = {
        INVITED: _l("survey planned"),
        THROTTLED: _l("no survey"),
        NO_MATCHING_SURVEY: _l("no matching survey"),
        RECORDED: _l("data updated"),
    }
    EVENT_LABELS = {
        "ticket.closed": _l("Ticket closed"),
        "installation.completed": _l("Installation completed"),
        "account.upserted": _l("Account updated"),
        "contact.upserted": _l("Contact updated"),
    }
    #: Why no survey was sent (surveys.services.throttle_reason; stale_event:
    #: integrations.services, older than PORTAL_EVENT_MAX_AGE_DAYS).
    REASON_LABELS = {
        "opted_out": _l("the contact does not want surveys"),
        "auto_closed": _l("the ticket was closed automatically"),
        "already_invited_for_ticket": _l("already asked about this ticket"),
        "recently_invited": _l("the contact was asked recently"),
        "recently_invited_to_this_survey": _l("the contact recently got this survey"),
        "frequency_cap": _l("the contact already got the most surveys allowed in 90 days"),
        "open_follow_up": _l("a follow-up task is open for this account"),
        "stale_event": _l("the event was too old for a survey"),
    }


#: An invitation's status as the account timeline says it.
INVITATION_STATES = {
    "queued": _l("survey queued"),
    "sent": _l("survey sent"),
    "answered": _l("survey answered"),
    "failed": _l("survey email not delivered"),
    "expired": _l("survey expired unanswered"),
}


class Event(db.Model):
    """An event as it came in, and what the portal did with it."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="SET NULL"))

    integration: Mapped[Integration] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()

    __table_args__ = (
        UniqueConstraint("integration_id", "external_id"),
        Index("ix_events_account_id_received_at", "account_id", "received_at"),
    )

    @property
    def type_label(self) -> str:
        return EventOutcome.EVENT_LABELS.get(self.type, self.type)

    @property
    def outcome_label(self) -> str:
        """What became of it: for an invitation, where the survey is now (queued, sent, answered, expired)."""
        if self.outcome == EventOutcome.INVITED and self.invitation is not None:
            return str(INVITATION_STATES.get(self.invitation.status, self.outcome))
        return EventOutcome.LABELS.get(self.outcome, self.outcome)

    @property
    def state(self) -> str:
        """A css-friendly name of the outcome: the invitation's status for invitations."""
        if self.outcome == EventOutcome.INVITED and self.invitation is not None:
            return self.invitation.status
        return self.outcome

    @property
    def happened_at(self) -> datetime:
        """When it happened, not when it arrived: the ticket's close or the installation's completion."""
        if self.ticket is not None and self.ticket.closed_at is not None:
            return self.ticket.closed_at
        return self.occurred_at

    @property
    def reason_label(self) -> str | None:
        return EventOutcome.REASON_LABELS.get(self.reason, self.reason) if self.reason else None
