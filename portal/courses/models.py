"""Access links, learners and what they completed.

Courses and lessons themselves live in content/ (see catalog.py); the
database refers to them by slug and keeps the lesson version a learner
completed, so a changed lesson can be told apart from the one they read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import StaffUser
from portal.customers.models import Account
from portal.extensions import db
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l


class LinkStatus:
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"

    LABELS = {ACTIVE: _l("active"), EXPIRED: _l("expired"), REVOKED: _l("revoked")}


class CourseAccessLink(db.Model):
    """A secret link that lets the people of one account take courses.

    Only the SHA-256 of the token is stored; the URL is shown once, when the
    link is made. ``course_slugs`` limits the link to some courses; ``None``
    means every published course meant for the account's services.
    """

    __tablename__ = "course_access_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    course_slugs: Mapped[list[str] | None] = mapped_column(JSON)
    #: Remind learners by email after this many days without progress; None: no reminders.
    reminder_days: Mapped[int | None]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship()
    created_by: Mapped[StaffUser | None] = relationship()

    def status(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return LinkStatus.REVOKED
        if self.expires_at <= (now or utcnow()):
            return LinkStatus.EXPIRED
        return LinkStatus.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.status() == LinkStatus.ACTIVE

    @property
    def status_label(self) -> str:
        return str(LinkStatus.LABELS[self.status()])


class Learner(db.Model):
    """A person at a customer who identified through an access link.

    One per email and account; their progress is theirs alone.
    """

    __tablename__ = "learners"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    #: The link they came through most recently (which courses they see, reminders).
    access_link_id: Mapped[int | None] = mapped_column(ForeignKey("course_access_links.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="de")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: When the last stalled-learner reminder went out (one per pause).
    reminded_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    access_link: Mapped[CourseAccessLink | None] = relationship()

    __table_args__ = (UniqueConstraint("account_id", "email"),)


class LessonCompletion(db.Model):
    """A learner completed a lesson in a version. Never deleted: the history
    of versions stays, and the unique key makes completing twice harmless."""

    __tablename__ = "lesson_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    course_slug: Mapped[str] = mapped_column(String(100))
    lesson_slug: Mapped[str] = mapped_column(String(100))
    lesson_version: Mapped[int]
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("learner_id", "course_slug", "lesson_slug", "lesson_version"),)


class QuizAttempt(db.Model):
    """Every quiz submission, with its score; passing one completes the lesson."""

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    course_slug: Mapped[str] = mapped_column(String(100))
    lesson_slug: Mapped[str] = mapped_column(String(100))
    lesson_version: Mapped[int]
    score_percent: Mapped[int]
    passed: Mapped[bool]
    #: {"0": 1, "1": 0}: question index → chosen option index
    answers: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_quiz_attempts_learner_id_course_slug", "learner_id", "course_slug"),)


class LoginPurpose:
    SIGN_IN = "sign_in"  # asked for on another device
    REMINDER = "reminder"  # in a stalled-learner reminder


class LearnerLoginToken(db.Model):
    """A one-time link that signs a learner in on another device (hash only)."""

    __tablename__ = "learner_login_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16), default=LoginPurpose.SIGN_IN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    learner: Mapped[Learner] = relationship()
