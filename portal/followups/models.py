"""Alert rules, follow-up tasks, their activities, and the package's constants
(rule kinds, task statuses, priorities, activity kinds)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import StaffUser
from portal.customers.models import Account, Contact
from portal.extensions import db
from portal.surveys.models import Invitation, Response
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l


class RuleKind:
    DETRACTOR = "detractor"  # an NPS answer at or below the threshold (default 6)
    LOW_CSAT = "low_csat"  # a CSAT answer at or below the threshold (default 2)
    SCORE_DROP = "score_drop"  # a contact's NPS fell by the threshold (default 3) or more since their previous answer
    ACCOUNT_DROP = "account_drop"  # account NPS of the last 90 days fell significantly against the 90 before
    KEYWORDS = "keywords"  # a comment contains one of the words

    ALL = (DETRACTOR, LOW_CSAT, SCORE_DROP, ACCOUNT_DROP, KEYWORDS)
    LABELS = {
        DETRACTOR: _l("Detractor answer"),
        LOW_CSAT: _l("Low satisfaction"),
        SCORE_DROP: _l("Contact's score fell"),
        ACCOUNT_DROP: _l("Account NPS fell significantly"),
        KEYWORDS: _l("Words in a comment"),
    }


class Priority:
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    ALL = (LOW, NORMAL, HIGH, URGENT)
    #: Higher sorts first.
    RANK = {LOW: 0, NORMAL: 1, HIGH: 2, URGENT: 3}
    LABELS = {LOW: _l("low"), NORMAL: _l("normal"), HIGH: _l("high"), URGENT: _l("urgent")}


class TaskStatus:
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"

    ALL = (OPEN, IN_PROGRESS, WAITING, RESOLVED, DISMISSED)
    #: A task in one of these still needs someone.
    ACTIVE = (OPEN, IN_PROGRESS, WAITING)
    CLOSED = (RESOLVED, DISMISSED)
    LABELS = {
        OPEN: _l("open"),
        IN_PROGRESS: _l("in progress"),
        WAITING: _l("waiting"),
        RESOLVED: _l("resolved"),
        DISMISSED: _l("dismissed"),
    }


class ActivityKind:
    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    NOTE = "note"
    #: Written by the portal itself, not chosen in the form.
    STATUS = "status"
    REASSIGN = "reassign"

    #: What a person logs; the first of these on a task is its "first action".
    LOGGED = (CALL, VISIT, EMAIL, NOTE)
    ALL = LOGGED + (STATUS, REASSIGN)
    LABELS = {
        CALL: _l("Call"),
        VISIT: _l("Visit"),
        EMAIL: _l("Email"),
        NOTE: _l("Note"),
        STATUS: _l("Status changed"),
        REASSIGN: _l("Reassigned"),
    }


class AlertRule(db.Model):
    """When an answer (or an account's trend) becomes a task, and what the task looks like."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(default=True)
    #: detractor: highest NPS that alerts; low_csat: highest CSAT; score_drop: smallest fall in points. Unused otherwise.
    threshold: Mapped[int | None]
    #: keywords: the words or phrases, matched case- and umlaut-insensitively.
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL)
    #: The SLA: the task is due this many hours after it was created.
    due_hours: Mapped[int] = mapped_column(default=48)
    #: Who gets the task when the account has no manager (or the manager is inactive).
    fallback_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    notify_email: Mapped[bool] = mapped_column(default=True)
    #: Days after resolving that a follow-up survey goes to the contact; None: no follow-up survey.
    follow_up_days: Mapped[int | None] = mapped_column(default=14)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    fallback_user: Mapped[StaffUser | None] = relationship()


class RegionOwner(db.Model):
    """Who gets a task when the account's manager is missing or inactive: one
    colleague per region (``Account.region``), set by admins on the rules page.
    After them come the rules' own fallback, then an administrator."""

    __tablename__ = "followup_region_owners"

    region: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[StaffUser] = relationship()


class RuleChange(db.Model):
    """The audit of alert rules: who changed what, from what to what."""

    __tablename__ = "alert_rule_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    #: {"field": [old, new], ...}
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[StaffUser | None] = relationship()


class Task(db.Model):
    """A follow-up for an account manager: one per response that matched rules,
    or one per account whose NPS fell (at most one open at a time)."""

    __tablename__ = "followup_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    #: The answer that caused it: unique, so one response never gets two tasks, even under concurrent answers.
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="SET NULL"), unique=True)
    #: Set to the account id while an account-drop task is active, NULL otherwise: unique, so an
    #: account has at most one active account-drop task, enforced by the database.
    open_drop_account_id: Mapped[int | None] = mapped_column(unique=True)
    #: The title is rendered in the reader's language from these: {"reason": "nps"|"csat"|"drop"|"account_drop"|"keywords", ...values}.
    title_values: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The kinds of the rules that matched, e.g. ["detractor", "keywords"] (names and ids are in ``rules``).
    rule_kinds: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"), index=True)
    due_at: Mapped[datetime]
    #: While waiting: the day the task is due again (its due_at is that day's start).
    waiting_until: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: The first call, visit, email or note logged on the task (for "first action within the SLA").
    first_action_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    #: Days after resolving that the follow-up survey goes out (from the rule); None: none.
    follow_up_days: Mapped[int | None]
    #: When the follow-up survey is due to be sent, once the task is resolved; cleared when sent.
    follow_up_due_at: Mapped[datetime | None] = mapped_column(index=True)
    follow_up_invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="SET NULL"), unique=True)

    account: Mapped[Account] = relationship()
    contact: Mapped[Contact | None] = relationship()
    response: Mapped[Response | None] = relationship(foreign_keys=[response_id])
    assignee: Mapped[StaffUser | None] = relationship()
    follow_up_invitation: Mapped[Invitation | None] = relationship(foreign_keys=[follow_up_invitation_id])
    rules: Mapped[list[AlertRule]] = relationship(secondary="followup_task_rules", order_by="AlertRule.id")
    activities: Mapped[list[Activity]] = relationship(back_populates="task", order_by="Activity.id", cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_followup_tasks_status_due_at", "status", "due_at"),
        Index("ix_followup_tasks_account_id_status", "account_id", "status"),
    )

    @property
    def is_active(self) -> bool:
        return self.status in TaskStatus.ACTIVE


class TaskRule(db.Model):
    """Which rules a task matched."""

    __tablename__ = "followup_task_rules"

    task_id: Mapped[int] = mapped_column(ForeignKey("followup_tasks.id", ondelete="CASCADE"), primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True)


class Activity(db.Model):
    """Something done on a task: a call, visit, email or note logged by a person,
    or a status change or reassignment written by the portal."""

    __tablename__ = "followup_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_tasks.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str | None] = mapped_column(Text)
    #: For status changes and reassignments: {"from": ..., "to": ...}
    change: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[Task] = relationship(back_populates="activities")
    author: Mapped[StaffUser | None] = relationship()
