"""Courses for learners: access links, learners, progress, quizzes, reminders.
No request, no templates. What only staff pages show is in overviews.py.

Security rules kept here (DESIGN.md §7):

- Access links and one-time sign-in links carry 256 random bits; only their
  SHA-256 is stored, and each has an expiry.
- A learner belongs to one account. Everything a learner sees is looked up
  through their own id, never through an id from the URL, so an access link
  cannot reveal another account's learners or progress.
- Somebody who identifies with the email of an existing learner is not let
  in: the learner gets a one-time link by email instead (the access link is
  shared by a whole team, so knowing a colleague's address must not be enough;
  :func:`may_sign_in_as`).
- Completing a lesson twice is harmless: one row per learner, lesson and
  version (a unique key), so a double click or a retried POST changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.auth.models import StaffUser
from portal.courses.catalog import Catalog, Course, Lesson, QuizResult
from portal.courses.models import (
    CourseAccessLink,
    Learner,
    LearnerLoginToken,
    LessonCompletion,
    LinkStatus,
    LoginPurpose,
    QuizAttempt,
)
from portal.customers.models import Account, AccountService
from portal.extensions import db
from portal.timeutil import utcnow
from portal.tokens import hash_token, new_token
from portal.web.i18n import lazy_gettext as _l
from portal.web.inputs import parse_int

DEFAULT_LINK_DAYS = 90
MAX_LINK_DAYS = 730
SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)
REMINDER_LINK_LIFETIME = timedelta(hours=72)
#: No second sign-in email while the last one is this fresh (mail bombing).
SIGN_IN_EMAIL_INTERVAL = timedelta(minutes=2)


class CourseError(ValueError):
    """A request about courses that cannot be carried out; the message says why."""


def get_catalog() -> Catalog:
    return current_app.extensions["courses_catalog"].get()


# --- access links -------------------------------------------------------------------


def create_access_link(
    account: Account,
    *,
    created_by: StaffUser | None = None,
    course_slugs: Sequence[str] | None = None,
    days: int = DEFAULT_LINK_DAYS,
    reminder_days: int | None = None,
) -> tuple[CourseAccessLink, str]:
    """A new access link for ``account`` and its raw token (shown once, never stored)."""
    if not 1 <= days <= MAX_LINK_DAYS:
        raise CourseError(_l("The link must be valid for 1 to %(max)d days.", max=MAX_LINK_DAYS))
    if reminder_days is not None and not 1 <= reminder_days <= 365:
        raise CourseError(_l("Reminders can be sent after 1 to 365 days."))
    catalog = get_catalog()
    slugs = None
    if course_slugs:
        slugs = list(dict.fromkeys(course_slugs))
        for slug in slugs:
            course = catalog.course(slug)
            if course is None or course.draft:
                raise CourseError(_l("There is no published course %(slug)s.", slug=slug))
    raw, hashed = new_token()
    now = utcnow()
    link = CourseAccessLink(
        account=account,
        token_hash=hashed,
        course_slugs=slugs,
        reminder_days=reminder_days,
        expires_at=now + timedelta(days=days),
        created_by=created_by,
        created_at=now,
    )
    db.session.add(link)
    db.session.flush()
    return link, raw


def find_access_link(raw_token: str) -> CourseAccessLink | None:
    if not raw_token or len(raw_token) > 200:
        return None
    return db.session.scalar(
        select(CourseAccessLink).where(CourseAccessLink.token_hash == hash_token(raw_token)).options(selectinload(CourseAccessLink.account))
    )


def get_access_link(link_id: int) -> CourseAccessLink | None:
    return db.session.get(CourseAccessLink, link_id)


def revoke_access_link(link: CourseAccessLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = utcnow()


def access_links_for(account: Account) -> list[CourseAccessLink]:
    return list(
        db.session.scalars(
            select(CourseAccessLink)
            .where(CourseAccessLink.account_id == account.id)
            .options(selectinload(CourseAccessLink.created_by))
            .order_by(CourseAccessLink.created_at.desc(), CourseAccessLink.id.desc())
        )
    )


def access_url(raw_token: str) -> str:
    from portal.web.urls import external_url

    return external_url("courses.access", token=raw_token)


def courses_for_link(link: CourseAccessLink | LinkView, language: str) -> list[Course]:
    """The published courses an access link opens, in ``language`` where translated."""
    services = account_service_types(link.account_id) if link.course_slugs is None else ()
    return get_catalog().for_audience(services, language, link.course_slugs)


def link_allows(link: CourseAccessLink | LinkView, course: Course) -> bool:
    """Whether a learner who came through ``link`` may open ``course`` (any of its translations)."""
    if course.draft:
        return False
    if link.course_slugs is not None:
        return course.slug in link.course_slugs or course.family in link.course_slugs
    services = set(account_service_types(link.account_id))
    return not services or bool(services.intersection(course.audience))


# --- learners -----------------------------------------------------------------------


@dataclass(frozen=True)
class LearnerView:
    """What a learner page needs of the learner (read without the ORM: the hot path)."""

    id: int
    name: str
    email: str
    language: str
    account_id: int
    #: Moves on every change of the learner's progress (see :func:`touch`).
    last_active_at: datetime


@dataclass(frozen=True)
class LinkView:
    id: int
    account_id: int
    course_slugs: list[str] | None
    expires_at: datetime
    revoked_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        return CourseAccessLink.status(self, now)  # the same rule as the model's

    @property
    def is_active(self) -> bool:
        return self.status() == LinkStatus.ACTIVE


_L, _K = Learner.__table__, CourseAccessLink.__table__
_IDENTITY = (
    select(
        _L.c.id, _L.c.name, _L.c.email, _L.c.language, _L.c.account_id, _L.c.last_active_at,
        _K.c.id, _K.c.account_id, _K.c.course_slugs, _K.c.expires_at, _K.c.revoked_at,
    )  # fmt: skip
    .select_from(_L.join(_K, _K.c.id == bindparam("link_id")))
    .where(_L.c.id == bindparam("learner_id"))
)


def load_identity(learner_id: int, link_id: int) -> tuple[LearnerView, LinkView] | None:
    """The learner and the link a cookie names, in one query; None if either is
    gone or they belong to different accounts."""
    row = db.session.execute(_IDENTITY, {"learner_id": learner_id, "link_id": link_id}).first()
    if row is None or row[4] != row[7]:
        return None
    return LearnerView(*row[:6]), LinkView(*row[6:])


def account_service_types(account_id: int) -> list[str]:
    table = AccountService.__table__
    return list(db.session.execute(select(table.c.service_type).where(table.c.account_id == account_id)).scalars())


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_learner(account_id: int, email: str) -> Learner | None:
    return db.session.scalar(select(Learner).where(Learner.account_id == account_id, Learner.email == normalise_email(email)))


def get_learner(learner_id: int) -> Learner | None:
    return db.session.get(Learner, learner_id)


def create_learner(link: CourseAccessLink, *, name: str, email: str, language: str) -> Learner:
    """A new learner for the link's account. Callers check :func:`find_learner` first;
    a concurrent duplicate fails on the unique key (an IntegrityError, see :func:`identify`)."""
    now = utcnow()
    learner = Learner(
        account_id=link.account_id,
        access_link_id=link.id,
        email=normalise_email(email),
        name=" ".join(name.split()),
        language=language,
        created_at=now,
        last_active_at=now,
    )
    db.session.add(learner)
    db.session.flush()
    return learner


def may_sign_in_as(learner: Learner | None, remembered: Learner | None) -> bool:
    """Whether somebody who gives ``learner``'s email on an access link may be let
    in as that learner: always for a new address (``learner`` is None), otherwise
    only on a device already ``remembered`` as that very learner.

    The access link is shared by a whole team, so knowing a colleague's address
    must not be enough: anybody else gets a one-time link sent to that mailbox.
    """
    return learner is None or (remembered is not None and remembered.id == learner.id)


@dataclass(frozen=True)
class Identification:
    """What giving name and email on an access link led to."""

    learner: Learner
    #: False when :func:`may_sign_in_as` refused: the learner was emailed a one-time link instead.
    let_in: bool
    #: Whether that email went out now (none does while the last one is fresh).
    sent: bool = False


def identify(link: CourseAccessLink, *, name: str, email: str, language: str, remembered: Learner | None) -> Identification:
    """Somebody on ``link`` says who they are: let them in as the learner with
    ``email`` (new, or remembered on this device), or email that learner a
    one-time link, by the rule of :func:`may_sign_in_as`.

    Two first sign-ins with one address at once (a second tab, a double
    submit): the slower insert fails on the unique key. Run this in
    ``run_in_transaction``: run again, it finds the learner the faster one
    made, and the same rule applies as to anybody who comes after.
    """
    learner = find_learner(link.account_id, email)
    if not may_sign_in_as(learner, remembered):
        return Identification(learner, let_in=False, sent=send_sign_in_link(learner))
    if learner is None:
        learner = create_learner(link, name=name, email=email, language=language)
    touch(learner, link)
    return Identification(learner, let_in=True)


def touch(learner: Learner | LearnerView, link: CourseAccessLink | LinkView | None = None) -> None:
    """Record activity (completions, quizzes, sign-ins): the clock for reminders,
    and the link the learner uses now (which courses reminders talk about).

    Every change to what a learner's pages show goes through here: the new
    ``last_active_at`` is also the version of the learner's cached pages.
    """
    values: dict = {"last_active_at": utcnow()}
    if link is not None:
        values["access_link_id"] = link.id
    db.session.execute(update(Learner).where(Learner.id == learner.id).values(**values))


def issue_login_token(learner: Learner, purpose: str = LoginPurpose.SIGN_IN) -> str:
    """A one-time sign-in link's raw token; only its hash is stored."""
    lifetime = REMINDER_LINK_LIFETIME if purpose == LoginPurpose.REMINDER else SIGN_IN_LINK_LIFETIME
    raw, hashed = new_token()
    now = utcnow()
    db.session.add(LearnerLoginToken(learner=learner, token_hash=hashed, purpose=purpose, created_at=now, expires_at=now + lifetime))
    db.session.flush()
    return raw


def sign_in_email_recently_sent(learner: Learner) -> bool:
    since = utcnow() - SIGN_IN_EMAIL_INTERVAL
    return bool(
        db.session.scalar(
            select(func.count(LearnerLoginToken.id)).where(
                LearnerLoginToken.learner_id == learner.id,
                LearnerLoginToken.purpose == LoginPurpose.SIGN_IN,
                LearnerLoginToken.created_at >= since,
            )
        )
    )


def send_sign_in_link(learner: Learner) -> bool:
    """Email a one-time sign-in link, unless one went out moments ago. True if queued."""
    if sign_in_email_recently_sent(learner):
        return False
    raw = issue_login_token(learner, LoginPurpose.SIGN_IN)
    _enqueue_learner_email(
        learner,
        "courses/email/sign_in",
        kind="course_sign_in",
        url=sign_in_url(raw),
        minutes=int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60),
    )
    return True


def sign_in_url(raw_token: str) -> str:
    from portal.web.urls import external_url

    return external_url("courses.sign_in", token=raw_token)


class LoginTokenState:
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"


def find_login_token(raw_token: str) -> LearnerLoginToken | None:
    if not raw_token or len(raw_token) > 200:
        return None
    return db.session.scalar(
        select(LearnerLoginToken)
        .where(LearnerLoginToken.token_hash == hash_token(raw_token))
        .options(selectinload(LearnerLoginToken.learner).selectinload(Learner.access_link).selectinload(CourseAccessLink.account))
    )


def login_token_state(token: LearnerLoginToken) -> str:
    if token.used_at is not None:
        return LoginTokenState.USED
    if token.expires_at <= utcnow():
        return LoginTokenState.EXPIRED
    return LoginTokenState.VALID


def use_login_token(token: LearnerLoginToken) -> bool:
    """Spend a one-time token. False if it was used or expired meanwhile
    (the conditional update makes two simultaneous uses impossible)."""
    now = utcnow()
    result = db.session.execute(
        update(LearnerLoginToken)
        .where(LearnerLoginToken.id == token.id, LearnerLoginToken.used_at.is_(None), LearnerLoginToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(token)
    touch(token.learner)
    return True


# --- progress -----------------------------------------------------------------------


@dataclass
class LessonState:
    """Where a learner stands with one lesson."""

    lesson: Lesson
    completed_version: int | None = None  # the newest version they completed
    completed_at: datetime | None = None
    best_score: int | None = None
    attempts: int = 0

    @property
    def completed(self) -> bool:
        return self.completed_version is not None

    @property
    def changed_since(self) -> bool:
        """Completed, but the editors changed the lesson since (a higher version)."""
        return self.completed_version is not None and self.completed_version < self.lesson.version


@dataclass
class CourseProgress:
    course: Course
    lessons: list[LessonState] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done(self) -> int:
        return sum(1 for state in self.lessons if state.completed)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done == self.total

    @property
    def started(self) -> bool:
        return self.done > 0

    @property
    def completed_at(self) -> datetime | None:
        if not self.complete:
            return None
        return max(state.completed_at for state in self.lessons if state.completed_at)

    @property
    def next_lesson(self) -> Lesson | None:
        return next((state.lesson for state in self.lessons if not state.completed), None)

    @property
    def changed(self) -> list[LessonState]:
        return [state for state in self.lessons if state.changed_since]

    def state(self, lesson: Lesson) -> LessonState:
        return next(state for state in self.lessons if state.lesson.slug == lesson.slug)


_C, _Q = LessonCompletion.__table__, QuizAttempt.__table__


def progress_for(learner_id: int, courses: Iterable[Course], with_scores: bool = True) -> dict[str, CourseProgress]:
    """Each course's progress for one learner, from one or two queries whatever the number of courses."""
    courses = list(courses)
    slugs = [course.slug for course in courses]
    completions: dict[tuple[str, str], tuple[int, datetime]] = {}
    scores: dict[tuple[str, str], tuple[int, int]] = {}
    if slugs:
        for course_slug, lesson_slug, version, completed_at in db.session.execute(
            select(_C.c.course_slug, _C.c.lesson_slug, _C.c.lesson_version, _C.c.completed_at).where(
                _C.c.learner_id == learner_id, _C.c.course_slug.in_(slugs)
            )
        ):
            key = (course_slug, lesson_slug)
            if key not in completions or version > completions[key][0]:
                completions[key] = (version, completed_at)
        if with_scores:
            for course_slug, lesson_slug, best, attempts in db.session.execute(
                select(_Q.c.course_slug, _Q.c.lesson_slug, func.max(_Q.c.score_percent), func.count(_Q.c.id))
                .where(_Q.c.learner_id == learner_id, _Q.c.course_slug.in_(slugs))
                .group_by(_Q.c.course_slug, _Q.c.lesson_slug)
            ):
                scores[(course_slug, lesson_slug)] = (best, attempts)
    result = {}
    for course in courses:
        progress = CourseProgress(course)
        for lesson in course.lessons:
            done = completions.get((course.slug, lesson.slug))
            best = scores.get((course.slug, lesson.slug))
            progress.lessons.append(
                LessonState(
                    lesson=lesson,
                    completed_version=done[0] if done else None,
                    completed_at=done[1] if done else None,
                    best_score=best[0] if best else None,
                    attempts=best[1] if best else 0,
                )
            )
        result[course.slug] = progress
    return result


def record_completion(learner: Learner | LearnerView, lesson: Lesson, link: CourseAccessLink | LinkView | None = None) -> bool:
    """Mark ``lesson`` (in its current version) complete. True if it was new.

    Idempotent: a repeated or concurrent POST finds the existing row (or hits
    the unique key inside a savepoint) and changes nothing.
    """
    touch(learner, link)
    exists = db.session.execute(
        select(_C.c.id).where(
            _C.c.learner_id == learner.id,
            _C.c.course_slug == lesson.course_slug,
            _C.c.lesson_slug == lesson.slug,
            _C.c.lesson_version == lesson.version,
        )
    ).first()
    if exists:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                LessonCompletion(
                    learner_id=learner.id,
                    course_slug=lesson.course_slug,
                    lesson_slug=lesson.slug,
                    lesson_version=lesson.version,
                    completed_at=utcnow(),
                )
            )
    except IntegrityError:
        return False
    return True


def parse_answers(lesson: Lesson, form: dict[str, str]) -> tuple[dict[int, int], list[int]]:
    """The chosen option per question from form fields ``q0``, ``q1``...;
    and the indexes of questions left unanswered (or answered with nonsense)."""
    answers: dict[int, int] = {}
    missing: list[int] = []
    for index, question in enumerate(lesson.quiz.questions if lesson.quiz else ()):
        chosen = parse_int(form.get(f"q{index}"), high=len(question.options) - 1)
        if chosen is not None:
            answers[index] = chosen
        else:
            missing.append(index)
    return answers, missing


def record_quiz(
    learner: Learner | LearnerView, lesson: Lesson, answers: dict[int, int], link: CourseAccessLink | LinkView | None = None
) -> tuple[QuizAttempt, QuizResult]:
    """Score and keep a quiz attempt; passing it completes the lesson."""
    if lesson.quiz is None:
        raise CourseError(_l("This lesson has no quiz."))
    result = lesson.quiz.score(answers)
    attempt = QuizAttempt(
        learner_id=learner.id,
        course_slug=lesson.course_slug,
        lesson_slug=lesson.slug,
        lesson_version=lesson.version,
        score_percent=result.score_percent,
        passed=result.passed,
        answers={str(k): v for k, v in answers.items()},
        created_at=utcnow(),
    )
    db.session.add(attempt)
    if result.passed:
        record_completion(learner, lesson, link)
    else:
        touch(learner, link)
    db.session.flush()
    return attempt, result


@dataclass(frozen=True)
class AttemptView:
    id: int
    score_percent: int
    passed: bool
    created_at: datetime


def latest_attempt(learner_id: int, lesson: Lesson) -> tuple[AttemptView, QuizResult] | None:
    """The learner's last attempt at this version of the lesson's quiz, scored again
    against the current questions."""
    if lesson.quiz is None:
        return None
    row = db.session.execute(
        select(_Q.c.id, _Q.c.score_percent, _Q.c.passed, _Q.c.created_at, _Q.c.answers)
        .where(
            _Q.c.learner_id == learner_id,
            _Q.c.course_slug == lesson.course_slug,
            _Q.c.lesson_slug == lesson.slug,
            _Q.c.lesson_version == lesson.version,
        )
        .order_by(_Q.c.created_at.desc(), _Q.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    answers = {int(k): int(v) for k, v in (row.answers or {}).items() if str(k).isdigit() and isinstance(v, int)}
    return AttemptView(row.id, row.score_percent, row.passed, row.created_at), lesson.quiz.score(answers)


# --- reminders ------------------------------------------------------------------------


def stalled_learners(now: datetime | None = None) -> list[Learner]:
    """Learners whose link asks for reminders, who made no progress for that many
    days, were not reminded since, and have courses left to finish."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Learner)
        .join(CourseAccessLink, Learner.access_link_id == CourseAccessLink.id)
        .where(
            CourseAccessLink.reminder_days.is_not(None),
            CourseAccessLink.revoked_at.is_(None),
            CourseAccessLink.expires_at > now,
            (Learner.reminded_at.is_(None)) | (Learner.reminded_at < Learner.last_active_at),
        )
        .options(selectinload(Learner.access_link).selectinload(CourseAccessLink.account))
    ).all()
    stalled = []
    for learner in candidates:
        link = learner.access_link
        if learner.last_active_at > now - timedelta(days=link.reminder_days):
            continue
        courses = courses_for_link(link, learner.language)
        progress = progress_for(learner.id, courses)
        if any(not p.complete for p in progress.values()):
            stalled.append(learner)
    return stalled


def send_reminders(now: datetime | None = None) -> int:
    """One reminder per pause: claim the learner with a conditional update
    (so two workers never both send), then queue the email."""
    now = now or utcnow()
    sent = 0
    for learner in stalled_learners(now):
        claimed = db.session.execute(
            update(Learner)
            .where(
                Learner.id == learner.id,
                (Learner.reminded_at.is_(None)) | (Learner.reminded_at < Learner.last_active_at),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        raw = issue_login_token(learner, LoginPurpose.REMINDER)
        courses = courses_for_link(learner.access_link, learner.language)
        progress = progress_for(learner.id, courses)
        unfinished = [p for p in progress.values() if not p.complete]
        _enqueue_learner_email(
            learner,
            "courses/email/reminder",
            kind="course_reminder",
            url=sign_in_url(raw),
            hours=int(REMINDER_LINK_LIFETIME.total_seconds() // 3600),
            courses=[{"title": p.course.title, "done": p.done, "total": p.total} for p in unfinished],
        )
        sent += 1
    return sent


def _enqueue_learner_email(learner: Learner, template: str, *, kind: str, **context) -> None:
    from portal.mail import services as mail

    subject, text, html = mail.render_email(template, learner.language, name=learner.name, **context)
    mail.enqueue(to=learner.email, subject=subject, text=text, html=html, kind=kind, locale=learner.language)


def accounts_with_completed_course() -> set[int]:
    """Accounts where at least one person completed every lesson of a published course."""
    catalog = get_catalog()
    lessons = {slug: {lesson.slug for lesson in course.lessons} for slug, course in catalog.courses.items() if course.lessons and not course.draft}
    if not lessons:
        return set()
    done: dict[tuple[int, int, str], set[str]] = defaultdict(set)
    for account_id, learner_id, course_slug, lesson_slug in db.session.execute(
        select(Learner.account_id, LessonCompletion.learner_id, LessonCompletion.course_slug, LessonCompletion.lesson_slug)
        .join(Learner, Learner.id == LessonCompletion.learner_id)
        .where(LessonCompletion.course_slug.in_(list(lessons)))
        .distinct()
    ):
        done[(account_id, learner_id, course_slug)].add(lesson_slug)
    return {account_id for (account_id, _learner, course), slugs in done.items() if lessons[course] <= slugs}


@dataclass(frozen=True)
class AccountCourseFigures:
    """An account's onboarding courses in figures: the account page and the task page read the same."""

    learners: int
    started: int  # learners who started a course
    completed: int  # learners who completed at least one course
    lessons_done: int
    lessons_total: int
    rows: list  # (learner, course progress), one per learner and course

    @property
    def percent(self) -> int:
        return round(100 * self.lessons_done / self.lessons_total) if self.lessons_total else 0


def account_course_figures(account: Account) -> AccountCourseFigures:
    from portal.courses import overviews  # overviews builds on this module

    learners = overviews.account_progress(account)
    rows = [(o.learner, progress) for o in learners for progress in o.progress.values()]
    return AccountCourseFigures(
        learners=len(learners),
        started=sum(1 for o in learners if any(p.started for p in o.progress.values())),
        completed=sum(1 for o in learners if any(p.complete for p in o.progress.values())),
        lessons_done=sum(progress.done for _learner, progress in rows),
        lessons_total=sum(progress.total for _learner, progress in rows),
        rows=rows,
    )

