from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
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
        INVITED: _l("survey sent"),
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
        "open_follow_up": _l("a follow-up task is open for this contact"),
        "stale_event": _l("the event was too old for a survey"),
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

    __table_args__ = (
        UniqueConstraint("integration_id", "external_id"),
        Index("ix_events_account_id_received_at", "account_id", "received_at"),
    )

    @property
    def type_label(self) -> str:
        return EventOutcome.EVENT_LABELS.get(self.type, self.type)

    @property
    def outcome_label(self) -> str:
        return EventOutcome.LABELS.get(self.outcome, self.outcome)

    @property
    def reason_label(self) -> str | None:
        return EventOutcome.REASON_LABELS.get(self.reason, self.reason) if self.reason else None
