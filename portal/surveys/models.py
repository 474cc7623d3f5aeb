"""Surveys and their questions, invitations, responses and answers, and the
package's constants (languages, kinds of survey, question types, statuses)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.customers.models import Account, Contact, Project, Ticket
from portal.extensions import db
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l

LANGUAGES = ("de", "en")


class SurveyKind:
    POST_TICKET = "post_ticket"
    POST_INSTALLATION = "post_installation"
    NPS = "nps"
    CUSTOM = "custom"
    #: Asks a customer, some days after a follow-up task was resolved, whether their concern was
    #: settled. Sent by the follow-ups package; its answers measure the loop (the loop report, the
    #: task page) and never count in the satisfaction figures (NPS, CSAT, response rate).
    RECOVERY = "recovery"

    ALL = (POST_TICKET, POST_INSTALLATION, NPS, CUSTOM, RECOVERY)
    #: The kinds whose answers the reports, the dashboard, the API and the exports count.
    REPORTED = (POST_TICKET, POST_INSTALLATION, NPS, CUSTOM)
    LABELS = {
        POST_TICKET: _l("After a ticket is closed"),
        POST_INSTALLATION: _l("After an installation"),
        NPS: _l("Periodic NPS"),
        CUSTOM: _l("Custom"),
        RECOVERY: _l("After a follow-up task (recovery)"),
    }
    #: The value of the recovery survey's "has your concern been resolved?" option that means yes.
    RESOLVED_YES = "yes"
    #: The event that triggers each kind; periodic and custom surveys are sent by the portal itself.
    TRIGGER_EVENTS = {POST_TICKET: "ticket.closed", POST_INSTALLATION: "installation.completed"}


class QuestionType:
    NPS = "nps"  # 0–10, "how likely to recommend"
    CSAT = "csat"  # 1–5
    RATING = "rating"  # configurable range with end labels
    SINGLE = "single_choice"
    MULTIPLE = "multiple_choice"
    TEXT = "text"
    NPS_FOLLOW_UP = "nps_follow_up"  # free text whose wording depends on the NPS category

    ALL = (NPS, CSAT, RATING, SINGLE, MULTIPLE, TEXT, NPS_FOLLOW_UP)
    LABELS = {
        NPS: _l("NPS (0–10)"),
        CSAT: _l("Satisfaction (1–5)"),
        RATING: _l("Rating scale"),
        SINGLE: _l("Single choice"),
        MULTIPLE: _l("Multiple choice"),
        TEXT: _l("Free text"),
        NPS_FOLLOW_UP: _l("Follow-up to the NPS score"),
    }
    SCALES = {NPS: (0, 10), CSAT: (1, 5)}


class InvitationStatus:
    QUEUED = "queued"
    SENT = "sent"
    ANSWERED = "answered"
    FAILED = "failed"
    EXPIRED = "expired"

    LABELS = {
        QUEUED: _l("queued"),
        SENT: _l("sent"),
        ANSWERED: _l("answered"),
        FAILED: _l("failed"),
        EXPIRED: _l("expired"),
    }


#: The answer scales' thresholds, defined here only (portal.reports.metrics computes with them):
#: NPS promoters 9–10, passives 7–8, detractors 0–6; CSAT satisfied 4–5 on 1–5.
NPS_PROMOTER_MIN = 9
NPS_PASSIVE_MIN = 7
CSAT_SATISFIED_MIN = 4


def nps_category(score: int | None) -> str | None:
    """Promoters 9–10, passives 7–8, detractors 0–6."""
    if score is None:
        return None
    if score >= NPS_PROMOTER_MIN:
        return "promoter"
    if score >= NPS_PASSIVE_MIN:
        return "passive"
    return "detractor"


class Survey(db.Model):
    """What to ask, when, how often, and the email that invites to it.

    Texts the customer sees are kept per language (``{"de": ..., "en": ...}``).
    """

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=False)
    title: Mapped[dict] = mapped_column(JSON, default=dict)
    intro: Mapped[dict] = mapped_column(JSON, default=dict)  # Markdown
    thank_you: Mapped[dict] = mapped_column(JSON, default=dict)  # Markdown
    email_subject: Mapped[dict] = mapped_column(JSON, default=dict)  # sandboxed template
    email_body: Mapped[dict] = mapped_column(JSON, default=dict)  # sandboxed template, then Markdown
    # Trigger: which tickets or projects, and how long after the event.
    trigger_categories: Mapped[list] = mapped_column(JSON, default=list)  # empty: any
    trigger_service_types: Mapped[list] = mapped_column(JSON, default=list)  # empty: any
    delay_hours: Mapped[int] = mapped_column(default=0)
    # Throttling.
    min_days_since_any: Mapped[int] = mapped_column(default=14)
    min_days_since_this: Mapped[int] = mapped_column(default=30)
    max_per_90_days: Mapped[int] = mapped_column(default=3)
    # Lifetime of an invitation.
    expires_after_days: Mapped[int] = mapped_column(default=14)
    reminder_after_days: Mapped[int | None] = mapped_column(default=4)
    # Periodic NPS waves.
    interval_days: Mapped[int | None]
    daily_cap: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", order_by="Question.position", cascade="all, delete-orphan"
    )

    @property
    def trigger_event(self) -> str | None:
        return SurveyKind.TRIGGER_EVENTS.get(self.kind)

    @property
    def kind_label(self) -> str:
        return str(SurveyKind.LABELS.get(self.kind, self.kind))


class Question(db.Model):
    __tablename__ = "survey_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    type: Mapped[str] = mapped_column(String(32))
    required: Mapped[bool] = mapped_column(default=False)
    #: {"de": ..., "en": ...}; for NPS follow-ups {"promoter": {...}, "passive": {...}, "detractor": {...}}
    text: Mapped[dict] = mapped_column(JSON, default=dict)
    #: choices: [{"value": "fast", "de": "Schnell", "en": "Fast"}, ...]
    options: Mapped[list] = mapped_column(JSON, default=list)
    scale_min: Mapped[int | None]
    scale_max: Mapped[int | None]
    #: rating end labels: {"low": {"de": ..., "en": ...}, "high": {...}}
    scale_labels: Mapped[dict] = mapped_column(JSON, default=dict)

    survey: Mapped[Survey] = relationship(back_populates="questions")

    @property
    def scale(self) -> tuple[int, int] | None:
        if self.type in QuestionType.SCALES:
            return QuestionType.SCALES[self.type]
        if self.type == QuestionType.RATING:
            return (self.scale_min if self.scale_min is not None else 1, self.scale_max if self.scale_max is not None else 5)
        return None


class Invitation(db.Model):
    """One personal survey link sent to one contact. Only the token's hash is kept."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    #: What a recovery survey asks about, in the contact's language ("your request “Echo on calls”");
    #: kept so that the reminder names it too. Empty for other surveys (they name their ticket or project).
    concern: Mapped[str | None] = mapped_column(String(300))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unsubscribe_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The reminder carries links of its own; both sets keep working.
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reminder_unsubscribe_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(16), default=InvitationStatus.QUEUED)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]

    survey: Mapped[Survey] = relationship()
    contact: Mapped[Contact] = relationship()
    account: Mapped[Account] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    project: Mapped[Project | None] = relationship()
    response: Mapped[Response | None] = relationship(back_populates="invitation", uselist=False)

    __table_args__ = (
        Index("ix_invitations_contact_id_created_at", "contact_id", "created_at"),
        Index("ix_invitations_status_expires_at", "status", "expires_at"),
        Index("ix_invitations_survey_id_created_at", "survey_id", "created_at"),
        Index("ix_invitations_account_id_sent_at", "account_id", "sent_at"),
    )


class Response(db.Model):
    """The answers to one invitation: created by the first answer, one per invitation."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    nps_score: Mapped[int | None]
    csat_score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)  # the first free-text answer, for reports and the CRM
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    invitation: Mapped[Invitation] = relationship(back_populates="response")
    survey: Mapped[Survey] = relationship()
    account: Mapped[Account] = relationship()
    contact: Mapped[Contact] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_responses_account_id_created_at", "account_id", "created_at"),
        Index("ix_responses_survey_id_created_at", "survey_id", "created_at"),
        Index("ix_responses_created_at", "created_at"),
        Index("ix_responses_contact_id_created_at", "contact_id", "created_at"),
        # Partial indexes for account health at scale (millions of answers): each contact's
        # latest NPS or CSAT answer, and the answers with a comment, without walking past
        # the answers that have none.
        *(
            Index(f"ix_responses_{column}_contact_created", "contact_id", "created_at", sqlite_where=sql_text(f"{column} IS NOT NULL"), postgresql_where=sql_text(f"{column} IS NOT NULL"))
            for column in ("nps_score", "csat_score")
        ),
        Index("ix_responses_commented_created_at", "created_at", sqlite_where=sql_text("comment IS NOT NULL"), postgresql_where=sql_text("comment IS NOT NULL")),
    )

    @property
    def nps_category(self) -> str | None:
        return nps_category(self.nps_score)


class Answer(db.Model):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True)
    number: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text)
    choices: Mapped[list | None] = mapped_column(JSON)
    skipped: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()

    __table_args__ = (UniqueConstraint("response_id", "question_id"),)


@event.listens_for(Session, "before_flush")
def _touch_survey_on_question_change(session, _flush_context, _instances):
    """A question change counts as a change of its survey (the page cache checks updated_at)."""
    touched = {obj.survey_id or (obj.survey.id if obj.survey else None) for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, Question)}
    for survey_id in touched - {None}:
        survey = session.get(Survey, survey_id)
        if survey is not None:
            survey.updated_at = utcnow()
