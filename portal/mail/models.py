from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l


class MessageStatus:
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker; another worker takes it over if the lease runs out
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # withdrawn by the package that queued it, before it went out

    ALL = (QUEUED, SENDING, SENT, FAILED, CANCELLED)
    LABELS = {QUEUED: _l("queued"), SENDING: _l("sending"), SENT: _l("sent"), FAILED: _l("failed"), CANCELLED: _l("cancelled")}


class MessageKind:
    """What an email is, in words for the outbox. The packages that queue
    email name their kinds here; a kind not listed shows its code."""

    LABELS = {
        "survey_invitation": _l("Survey invitation"),
        "survey_reminder": _l("Survey reminder"),
        "course_sign_in": _l("Course sign-in link"),
        "course_reminder": _l("Course reminder"),
        "followup_task": _l("New follow-up task"),
        "followup_digest": _l("Daily digest of follow-up tasks"),
    }


class OutboxMessage(db.Model):
    """One email, kept forever with what happened to it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    #: What the message is about, in the words of the package that queued it
    #: ("followup_task:42"): how it finds the message again to replace or cancel it.
    reference: Mapped[str | None] = mapped_column(String(100), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(5))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the message first became due: the queue lifetime counts from here.
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The worker claim (host:process:batch) that holds the message while it is
    #: sending, and once sent until its batch has told the listeners (message_sent).
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    #: Until when the claim holds; indexed to find dead workers' claims.
    claimed_until: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    @property
    def status_label(self) -> str:
        return str(MessageStatus.LABELS.get(self.status, self.status))

    @property
    def kind_label(self) -> str:
        return str(MessageKind.LABELS.get(self.kind, self.kind))
