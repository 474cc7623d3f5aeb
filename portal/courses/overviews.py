"""What staff see of courses: the catalogue (drafts and content problems for
editors), the accounts whose people take courses, and per account each
learner's progress, quiz scores and history.

Read-only, and only for the staff pages (staff_views.py); learner pages and
reminders use services.py, whose progress rules these overviews reuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, StaffUser
from portal.courses.catalog import Catalog, Course, Lesson
from portal.courses.models import (
    CourseAccessLink,
    Learner,
    LessonCompletion,
    QuizAttempt,
)
from portal.courses.services import (
    CourseProgress,
    access_links_for,
    get_catalog,
    progress_for,
)
from portal.customers import services as customers
from portal.customers.models import Account
from portal.extensions import db
from portal.timeutil import utcnow

#: Roles that may open draft courses in the preview (and see the content check's problems).
DRAFT_PREVIEW_ROLES = (Role.ADMIN, Role.EDITOR)


def can_preview_drafts(user: StaffUser) -> bool:
    return user.role in DRAFT_PREVIEW_ROLES


# --- the courses page ----------------------------------------------------------------


@dataclass
class AccountSummary:
    account: Account
    learners: int = 0
    active_links: int = 0
    completions: int = 0
    last_activity: datetime | None = None


@dataclass(frozen=True)
class StaffCatalog:
    """The staff courses page for one user."""

    courses: list[Course]
    problems: Sequence
    #: Customer-facing staff also see accounts (the summaries and the account search).
    sees_accounts: bool
    summaries: list[AccountSummary]
    #: Accounts matching the search; None when nobody searched.
    matches: list[Account] | None


def staff_catalog(user: StaffUser, query: str = "") -> StaffCatalog:
    """The catalogue (with drafts and content problems for editors) and, for
    customer-facing staff, the accounts whose people take courses."""
    catalog = get_catalog()
    drafts = can_preview_drafts(user)
    sees_accounts = user.role in Role.CUSTOMER_FACING
    matches = None
    if sees_accounts and query:
        matches = customers.search_accounts(user, customers.AccountFilters(query=query)).items
    return StaffCatalog(
        courses=[c for c in catalog.courses.values() if drafts or not c.draft],
        problems=catalog.problems if drafts else (),
        sees_accounts=sees_accounts,
        summaries=account_summaries(user) if sees_accounts else [],
        matches=matches,
    )


def account_summaries(user: StaffUser, limit: int = 100) -> list[AccountSummary]:
    """Accounts the user may see that have access links or learners, most recently active first."""
    visible = customers.visible_accounts(user).with_only_columns(Account.id)
    now = utcnow()
    learner_counts = dict(
        db.session.execute(
            select(Learner.account_id, func.count(Learner.id)).where(Learner.account_id.in_(visible)).group_by(Learner.account_id)
        ).all()
    )
    last_activity = dict(
        db.session.execute(
            select(Learner.account_id, func.max(Learner.last_active_at)).where(Learner.account_id.in_(visible)).group_by(Learner.account_id)
        ).all()
    )
    active_links = dict(
        db.session.execute(
            select(CourseAccessLink.account_id, func.count(CourseAccessLink.id))
            .where(
                CourseAccessLink.account_id.in_(visible),
                CourseAccessLink.revoked_at.is_(None),
                CourseAccessLink.expires_at > now,
            )
            .group_by(CourseAccessLink.account_id)
        ).all()
    )
    any_links = set(
        db.session.scalars(select(CourseAccessLink.account_id).where(CourseAccessLink.account_id.in_(visible)).distinct())
    )
    completions = dict(
        db.session.execute(
            select(Learner.account_id, func.count(LessonCompletion.id))
            .join(LessonCompletion, LessonCompletion.learner_id == Learner.id)
            .where(Learner.account_id.in_(visible))
            .group_by(Learner.account_id)
        ).all()
    )
    ids = set(learner_counts) | any_links
    if not ids:
        return []
    accounts = db.session.scalars(select(Account).where(Account.id.in_(ids))).all()
    rows = [
        AccountSummary(
            account=account,
            learners=learner_counts.get(account.id, 0),
            active_links=active_links.get(account.id, 0),
            completions=completions.get(account.id, 0),
            last_activity=last_activity.get(account.id),
        )
        for account in accounts
    ]
    rows.sort(key=lambda row: (row.last_activity is None, -(row.last_activity or now).timestamp(), row.account.name.lower()))
    return rows[:limit]


# --- one account, one learner ----------------------------------------------------------


@dataclass
class LearnerOverview:
    learner: Learner
    progress: dict[str, CourseProgress]

    @property
    def quiz_scores(self) -> list[tuple[Lesson, int]]:
        return [
            (state.lesson, state.best_score)
            for progress in self.progress.values()
            for state in progress.lessons
            if state.best_score is not None
        ]


def learners_of(account: Account) -> list[Learner]:
    return list(
        db.session.scalars(
            select(Learner)
            .where(Learner.account_id == account.id)
            .options(selectinload(Learner.access_link))
            .order_by(Learner.last_active_at.desc(), Learner.id)
        )
    )


def courses_for_learner(learner: Learner) -> list[Course]:
    """The courses to report on for a learner: what their link opens, plus any
    course they already have progress in."""
    catalog = get_catalog()
    shown: dict[str, Course] = {}
    if learner.access_link is not None:
        for course in catalog.for_audience(learner.account.service_types, learner.language, learner.access_link.course_slugs):
            shown[course.slug] = course
    touched = db.session.scalars(
        select(LessonCompletion.course_slug).where(LessonCompletion.learner_id == learner.id).distinct()
    ).all()
    touched += db.session.scalars(select(QuizAttempt.course_slug).where(QuizAttempt.learner_id == learner.id).distinct()).all()
    for slug in touched:
        course = catalog.course(slug)
        if course is not None:
            shown.setdefault(slug, course)
    return sorted(shown.values(), key=lambda c: (c.order, c.title))


def account_progress(account: Account) -> list[LearnerOverview]:
    return [LearnerOverview(learner, progress_for(learner.id, courses_for_learner(learner))) for learner in learners_of(account)]


def completion_history(learner: Learner) -> list[LessonCompletion]:
    """Every completion, every version, newest first."""
    return list(
        db.session.scalars(
            select(LessonCompletion).where(LessonCompletion.learner_id == learner.id).order_by(LessonCompletion.completed_at.desc(), LessonCompletion.id.desc())
        )
    )


def quiz_attempts_of(learner: Learner) -> list[QuizAttempt]:
    return list(
        db.session.scalars(
            select(QuizAttempt).where(QuizAttempt.learner_id == learner.id).order_by(QuizAttempt.created_at.desc(), QuizAttempt.id.desc())
        )
    )


@dataclass(frozen=True)
class AccountCourses:
    """One account's course page: its access links and each learner's progress."""

    links: list[CourseAccessLink]
    learners: list[LearnerOverview]
    catalog: Catalog


def account_courses(account: Account) -> AccountCourses:
    return AccountCourses(access_links_for(account), account_progress(account), get_catalog())


@dataclass(frozen=True)
class LearnerReport:
    """One learner's page: progress with quiz scores, every completion and attempt."""

    progress: dict[str, CourseProgress]
    history: list[LessonCompletion]
    attempts: list[QuizAttempt]
    catalog: Catalog


def learner_report(learner: Learner) -> LearnerReport:
    return LearnerReport(
        progress=progress_for(learner.id, courses_for_learner(learner)),
        history=completion_history(learner),
        attempts=quiz_attempts_of(learner),
        catalog=get_catalog(),
    )
