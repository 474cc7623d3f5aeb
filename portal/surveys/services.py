"""Surveys: which one fits an event, whether a contact may be asked, the
invitation and its email, the survey page's steps and its answers, opting
out, reminders, expiry and periodic NPS waves. No request, no templates
(emails come from emails.py), no commits: functions flush, and the request,
job or CLI command around them commits (portal/web/transaction.py).
Editing definitions lives in definitions.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import selectinload

from portal.customers.models import Account, AccountService, Contact, Project, Ticket
from portal.customers import services as customers
from portal.extensions import db
from portal.mail import services as mail
from portal.signals import message_failed, message_sent, response_recorded
from portal.surveys import emails
from portal.surveys.models import (
    LANGUAGES,
    Answer,
    Invitation,
    InvitationStatus,
    Question,
    QuestionType,
    Response,
    Survey,
    SurveyKind,
    nps_category,
)
from portal.timeutil import utcnow
from portal.tokens import hash_token, new_token
from portal.web.inputs import parse_int
from portal.web.urls import external_url

MAX_TEXT_ANSWER = 5000


def localized(texts: dict | None, language: str) -> str:
    """The text in ``language``, else German, else English, else empty."""
    texts = texts or {}
    return texts.get(language) or texts.get("de") or texts.get("en") or ""


def contact_language(contact: Contact) -> str:
    return contact.language if contact.language in LANGUAGES else current_app.config["BABEL_DEFAULT_LOCALE"]


# --- which survey, and may we ask? --------------------------------------------------


def matching_survey(event_type: str, account: Account, ticket: Ticket | None) -> Survey | None:
    """The first active survey triggered by this event whose conditions hold."""
    kinds = [kind for kind, trigger in SurveyKind.TRIGGER_EVENTS.items() if trigger == event_type]
    if not kinds:
        return None
    candidates = db.session.scalars(select(Survey).where(Survey.kind.in_(kinds), Survey.active.is_(True)).order_by(Survey.id))
    services = set(account.service_types)
    for survey in candidates:
        if survey.trigger_categories and (ticket is None or ticket.category not in survey.trigger_categories):
            continue
        if survey.trigger_service_types and not services.intersection(survey.trigger_service_types):
            continue
        return survey
    return None


def throttle_reason(survey: Survey, contact: Contact, ticket: Ticket | None = None, now: datetime | None = None) -> str | None:
    """Why this contact must not be invited now, or None.

    The contact row should be locked by the caller (``lock_contact``) so two
    events at once cannot both pass these checks.
    """
    now = now or utcnow()
    if contact.survey_opt_out:
        return "opted_out"
    if ticket is not None and ticket.auto_closed:
        return "auto_closed"
    if ticket is not None and db.session.scalar(
        select(Invitation.id).where(Invitation.ticket_id == ticket.id, Invitation.survey_id == survey.id).limit(1)
    ):
        return "already_invited_for_ticket"
    recent = select(func.max(Invitation.created_at)).where(Invitation.contact_id == contact.id)
    last_any = db.session.scalar(recent)
    if last_any and last_any > now - timedelta(days=survey.min_days_since_any):
        return "recently_invited"
    last_this = db.session.scalar(recent.where(Invitation.survey_id == survey.id))
    if last_this and last_this > now - timedelta(days=survey.min_days_since_this):
        return "recently_invited_to_this_survey"
    in_90_days = db.session.scalar(
        select(func.count(Invitation.id)).where(Invitation.contact_id == contact.id, Invitation.created_at > now - timedelta(days=90))
    )
    if in_90_days >= survey.max_per_90_days:
        return "frequency_cap"
    for check in SUPPRESSION_CHECKS:
        reason = check(contact, now)
        if reason:
            return reason
    return None


#: Other packages add checks here (e.g. follow-ups: no survey while a task is open).
SUPPRESSION_CHECKS: list = []
#: Checks (invitation id → bool) that withhold the survey's own thank-you (which may
#: promise a call) for the page's neutral one, e.g. follow-ups: the answer's task has no owner.
THANK_YOU_WITHHELD: list = []


def lock_contact(contact_id: int) -> Contact:
    """Lock the contact row before inviting it, so two invitations at once cannot
    both pass the throttling checks (the lock itself is the customers package's)."""
    return customers.lock_contact(contact_id)


# --- invitations ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str  # the raw token: only in the email, never stored


def invite(
    survey: Survey,
    contact: Contact,
    *,
    ticket: Ticket | None = None,
    project: Project | None = None,
    send_after: datetime | None = None,
    now: datetime | None = None,
    concern: str | None = None,
) -> NewInvitation:
    """Create the invitation and queue its email in the current transaction.
    ``concern`` names what a recovery survey asks about (see recovery.py)."""
    now = now or utcnow()
    raw, token_hash = new_token()
    raw_unsubscribe, unsubscribe_hash = new_token()
    language = contact_language(contact)
    send_at = send_after or now
    invitation = Invitation(
        survey=survey,
        contact=contact,
        account_id=contact.account_id,
        ticket=ticket,
        project=project,
        concern=concern,
        token_hash=token_hash,
        unsubscribe_token_hash=unsubscribe_hash,
        language=language,
        status=InvitationStatus.QUEUED,
        created_at=now,
        expires_at=send_at + timedelta(days=survey.expires_after_days),
    )
    db.session.add(invitation)
    db.session.flush()
    message = _queue_email(invitation, raw, raw_unsubscribe, send_after=send_at)
    invitation.outbox_message_id = message.id
    return NewInvitation(invitation, raw)


def _queue_email(invitation: Invitation, raw: str, raw_unsubscribe: str, send_after: datetime | None = None, reminder: bool = False):
    survey, contact, language = invitation.survey, invitation.contact, invitation.language
    survey_link = external_url("surveys.survey_page", token=raw)
    unsubscribe_link = external_url("surveys.unsubscribe", token=raw_unsubscribe)
    first = survey.questions[0] if survey.questions else None
    quick = emails.quick_answers(first, language, lambda value: external_url("surveys.survey_page", token=raw, score=value))
    values = emails.template_values(
        contact_name=contact.name,
        account_name=invitation.account.name if invitation.account else "",
        ticket_id=invitation.ticket.external_id if invitation.ticket else None,
        ticket_subject=invitation.ticket.subject if invitation.ticket else None,
        project_name=invitation.project.name if invitation.project else None,
        survey_link=survey_link,
        concern=invitation.concern,
    )
    rendered = emails.render_invitation(
        subject_template=localized(survey.email_subject, language),
        body_template=localized(survey.email_body, language),
        values=values,
        language=language,
        survey_link=survey_link,
        quick=quick,
        unsubscribe_link=unsubscribe_link,
        reminder=reminder,
    )
    return mail.enqueue(
        to=contact.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        kind="survey_reminder" if reminder else "survey_invitation",
        locale=language,
        headers={"List-Unsubscribe": f"<{unsubscribe_link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        send_after=send_after,
    )


@message_sent.connect
def _invitations_sent(_sender, message_ids: list[int], sent_at: datetime, **_):
    db.session.execute(
        update(Invitation)
        .where(Invitation.outbox_message_id.in_(message_ids), Invitation.status == InvitationStatus.QUEUED)
        .values(status=InvitationStatus.SENT, sent_at=sent_at)
        .execution_options(synchronize_session=False)
    )


@message_failed.connect
def _invitations_failed(_sender, message_ids: list[int], **_):
    db.session.execute(
        update(Invitation)
        .where(Invitation.outbox_message_id.in_(message_ids), Invitation.status == InvitationStatus.QUEUED)
        .values(status=InvitationStatus.FAILED)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class GivenAnswer:
    number: int | None
    text: str | None
    choices: list[str] | None
    skipped: bool

    @property
    def values(self) -> list:
        """As the page shows it again: the score, the choices or the text."""
        if self.skipped:
            return []
        if self.number is not None:
            return [self.number]
        if self.choices:
            return list(self.choices)
        return [self.text] if self.text else []


@dataclass(frozen=True, slots=True)
class LinkState:
    """What the survey page needs to know about one link.

    The survey page is the hot path, so a GET reads this with one Core query
    (``find_link``) instead of loading ORM objects; after an answer the same
    state is built from the ORM objects just written (``of``).
    """

    invitation_id: int
    survey_id: int
    survey_updated_at: datetime | None
    language: str
    status: str
    expires_at: datetime
    responded: bool
    completed: bool
    nps_score: int | None
    answers: dict[int, GivenAnswer]

    @classmethod
    def of(cls, invitation: Invitation, response: Response | None) -> LinkState:
        return cls(
            invitation.id, invitation.survey_id, None, invitation.language, invitation.status, invitation.expires_at,
            responded=response is not None,
            completed=response is not None and response.completed_at is not None,
            nps_score=response.nps_score if response else None,
            answers={a.question_id: GivenAnswer(a.number, a.text, a.choices, a.skipped) for a in (response.answers if response else ())},
        )  # fmt: skip

    def is_expired(self, now: datetime | None = None) -> bool:
        if self.status == InvitationStatus.EXPIRED:
            return True
        return not self.responded and self.expires_at <= (now or utcnow())

    @property
    def is_finished(self) -> bool:
        return self.completed


def _link_query():
    invitations, surveys, responses, answers = (model.__table__ for model in (Invitation, Survey, Response, Answer))
    hashed = bindparam("hashed")
    return (
        select(
            invitations.c.id.label("invitation_id"), invitations.c.survey_id, surveys.c.updated_at.label("survey_updated_at"),
            invitations.c.language, invitations.c.status, invitations.c.expires_at,
            responses.c.id.label("response_id"), responses.c.completed_at, responses.c.nps_score,
            answers.c.question_id, answers.c.number, answers.c.text, answers.c.choices, answers.c.skipped,
        )  # fmt: skip
        .join(surveys, surveys.c.id == invitations.c.survey_id)
        .outerjoin(responses, responses.c.invitation_id == invitations.c.id)
        .outerjoin(answers, answers.c.response_id == responses.c.id)
        .where(or_(invitations.c.token_hash == hashed, invitations.c.reminder_token_hash == hashed))
    )


_LINK_QUERY = _link_query()


def find_link(raw_token: str) -> LinkState | None:
    """The state of a survey link (first or reminder token), or None."""
    if not raw_token or len(raw_token) > 100:
        return None
    rows = db.session.connection().execute(_LINK_QUERY, {"hashed": hash_token(raw_token)}).all()
    if not rows:
        return None
    link = rows[0]  # one row per answer given, or one with no answer
    return LinkState(
        link.invitation_id, link.survey_id, link.survey_updated_at, link.language, link.status, link.expires_at,
        responded=link.response_id is not None,
        completed=link.completed_at is not None,
        nps_score=link.nps_score,
        answers={row.question_id: GivenAnswer(row.number, row.text, row.choices, bool(row.skipped)) for row in rows if row.question_id is not None},
    )  # fmt: skip


def invitation_for(state: LinkState) -> Invitation:
    """The ORM invitation behind a link, to record an answer."""
    return db.session.get(Invitation, state.invitation_id)


def survey_definition(survey_id: int, updated_at: datetime | None = None) -> Survey:
    """The survey with its questions, from a per-app cache.

    Survey pages are the hot path and definitions change rarely: every change
    bumps updated_at (see models.py), which each request checks (the link
    query reads it along, or one cheap query here), so an edit shows at once.
    """
    _definitions: dict[int, tuple[datetime, Survey]] = current_app.extensions.setdefault("survey_definitions", {})
    cached = _definitions.get(survey_id)
    if updated_at is None:
        updated_at = db.session.scalar(select(Survey.updated_at).where(Survey.id == survey_id))
    if cached is not None and cached[0] == updated_at:
        return cached[1]
    survey = db.session.scalars(
        select(Survey).where(Survey.id == survey_id).options(selectinload(Survey.questions)).execution_options(populate_existing=True)
    ).one()
    for question in survey.questions:
        db.session.expunge(question)
    db.session.expunge(survey)
    _definitions[survey_id] = (updated_at, survey)
    return survey


# --- answers ----------------------------------------------------------------------------


class AnswerError(ValueError):
    """The submitted answer does not fit the question; ``code`` names the problem."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ParsedAnswer:
    number: int | None = None
    text: str | None = None
    choices: list[str] | None = None
    skipped: bool = False


def parse_answer(question: Question, values: list[str]) -> ParsedAnswer:
    """Validate raw form values for a question (all strings, maybe several)."""
    values = [v.replace("\x00", "").strip() for v in values]
    present = [v for v in values if v]
    if question.type in (QuestionType.NPS, QuestionType.CSAT, QuestionType.RATING):
        if not present:
            return _skip(question)
        if len(set(present)) > 1:
            raise AnswerError("several_values")
        try:
            number = int(present[0])
        except ValueError as error:
            raise AnswerError("not_a_number") from error
        low, high = question.scale
        if not low <= number <= high:
            raise AnswerError("out_of_range")
        return ParsedAnswer(number=number)
    if question.type == QuestionType.SINGLE:
        if not present:
            return _skip(question)
        if len(set(present)) > 1:
            raise AnswerError("several_values")
        if present[0] not in {o["value"] for o in question.options}:
            raise AnswerError("unknown_choice")
        return ParsedAnswer(choices=[present[0]])
    if question.type == QuestionType.MULTIPLE:
        if not present:
            return _skip(question)
        allowed = [o["value"] for o in question.options]
        if any(v not in allowed for v in present):
            raise AnswerError("unknown_choice")
        return ParsedAnswer(choices=[v for v in allowed if v in present])
    # free text
    text = "\n".join(present)
    if not text:
        return _skip(question)
    if len(text) > MAX_TEXT_ANSWER:
        raise AnswerError("too_long")
    return ParsedAnswer(text=text)


def _skip(question: Question) -> ParsedAnswer:
    if question.required:
        raise AnswerError("required")
    return ParsedAnswer(skipped=True)


def record_answer(invitation: Invitation, survey: Survey, question: Question, parsed: ParsedAnswer, now: datetime | None = None) -> Response:
    """Store one answer. The first answer creates the response (one per
    invitation, enforced by a unique constraint); later ones update it; the
    same answer twice changes nothing.

    Of two concurrent first answers the slower one fails on the constraint
    with an IntegrityError: the caller runs this in ``run_in_transaction``
    (portal/web/transaction.py), which runs it again, and then it updates
    the response the winner created."""
    now = now or utcnow()
    response, created = _response_for(invitation, now)
    _store(response, question, parsed, now)
    invitation.status = InvitationStatus.ANSWERED
    invitation.answered_at = invitation.answered_at or now
    if next_question(survey, {a.question_id for a in response.answers}) is None and response.completed_at is None:
        response.completed_at = now
    db.session.flush()
    response_recorded.send(response, created=created, survey=survey)
    return response


def _response_for(invitation: Invitation, now: datetime) -> tuple[Response, bool]:
    """The invitation's response, and whether it was inserted just now (in this transaction)."""
    response = db.session.scalars(
        select(Response).where(Response.invitation_id == invitation.id).execution_options(populate_existing=True)
    ).first()
    if response is None:
        response = Response(
            invitation_id=invitation.id,
            survey_id=invitation.survey_id,
            account_id=invitation.account_id,
            contact_id=invitation.contact_id,
            ticket_id=invitation.ticket_id,
            created_at=now,
            answers=[],  # known to be empty: no statement to load them
        )
        db.session.add(response)
        db.session.flush()
        return response, True
    return response, False


def _store(response: Response, question: Question, parsed: ParsedAnswer, now: datetime) -> None:
    answer = next((a for a in response.answers if a.question_id == question.id), None)
    if answer is None:
        answer = Answer(response=response, question_id=question.id)
        db.session.add(answer)
    answer.number, answer.text, answer.choices, answer.skipped = parsed.number, parsed.text, parsed.choices, parsed.skipped
    answer.answered_at = now
    if question.type == QuestionType.NPS:
        response.nps_score = parsed.number
    elif question.type == QuestionType.CSAT:
        response.csat_score = parsed.number
    elif question.type in (QuestionType.TEXT, QuestionType.NPS_FOLLOW_UP) and parsed.text and not response.comment:
        response.comment = parsed.text
    db.session.flush()


def submit_answer(link: LinkState, survey: Survey, question: Question, values: list[str], language: str | None = None) -> LinkState:
    """Check and store an answer from the survey page; the link's state after it.

    Raises AnswerError for an answer that does not fit the question. Safe to
    run again from the start, as ``run_in_transaction`` does after a lost race."""
    parsed = parse_answer(question, values)
    invitation = invitation_for(link)
    if language in LANGUAGES:  # the language the customer chose on the page: the link opens in it again
        invitation.language = language
    return LinkState.of(invitation, record_answer(invitation, survey, question, parsed))


@dataclass(frozen=True)
class Step:
    """One step of the survey page: a question with the values to mark, or,
    when ``question`` is None, the thank-you."""

    question: Question | None
    question_text: str = ""
    position: int = 0
    total: int = 0
    selected: list[str] = field(default_factory=list)
    thank_you: str = ""

    @property
    def finished(self) -> bool:
        return self.question is None


def step(link: LinkState, survey: Survey, language: str, question: Question | None = None, selected: list | None = None) -> Step:
    """What the survey page shows: ``question`` (the back link, a rejected
    answer), else the first question not answered; the thank-you once the
    survey is finished. ``selected`` replaces the answer given as what is
    marked (a score from the email's links, a rejected answer)."""
    question = None if link.is_finished else question or next_question(survey, link.answers)
    if question is None:
        withheld = any(check(link.invitation_id) for check in THANK_YOU_WITHHELD)
        return Step(None, thank_you="" if withheld else localized(survey.thank_you, language))
    given = link.answers.get(question.id)
    values = selected if selected is not None else (given.values if given else [])
    return Step(
        question,
        question_text(question, link.nps_score, language),
        position=survey.questions.index(question) + 1,
        total=len(survey.questions),
        selected=[str(v) for v in values if v is not None],
    )


def posted_question(survey: Survey, values: list[str]) -> Question | None:
    """The question an answer was posted for (exactly one id of this survey), or None."""
    question_id = parse_int(values[0]) if len(values) == 1 else None
    return next((q for q in survey.questions if q.id == question_id), None)


def requested_question(survey: Survey, position: str | None) -> Question | None:
    """The question at a 1-based ``?q=`` position (the back link), or None."""
    number = parse_int(position, low=1, high=len(survey.questions))
    return survey.questions[number - 1] if number is not None else None


def next_question(survey: Survey, answered: Collection[int]) -> Question | None:
    """The first question not answered yet (``answered``: question ids)."""
    return next((q for q in survey.questions if q.id not in answered), None)


def question_text(question: Question, nps_score: int | None, language: str) -> str:
    """The wording; an NPS follow-up depends on the score given."""
    if question.type == QuestionType.NPS_FOLLOW_UP:
        category = nps_category(nps_score) or "passive"
        return localized(question.text.get(category), language)
    return localized(question.text, language)


# --- a contact's answers, and which answers the figures count --------------------------------


def reported():
    """The condition on ``Response`` that keeps the answers satisfaction figures
    count: those to every kind of survey but the recovery survey (SurveyKind.REPORTED)."""
    return Response.survey_id.in_(select(Survey.id).where(Survey.kind.in_(SurveyKind.REPORTED)))


@dataclass(frozen=True)
class ContactAnswer:
    """One of a contact's answers beside another one (a task's): when, to which kind of survey, the scores."""

    date: datetime
    survey_kind: str
    nps: int | None
    csat: int | None
    comment: str | None
    later: bool  # given after the answer it is shown beside

    @property
    def kind_label(self) -> str:
        return str(SurveyKind.LABELS.get(self.survey_kind, self.survey_kind))


def contact_answers(contact_id: int, beside: Response | None, limit: int = 10) -> list[ContactAnswer]:
    """The contact's other answers with a score or a comment, newest ``limit``, in time order
    (oldest first), each marked whether it came after ``beside`` (a recovery answer does)."""
    statement = (
        select(Response.created_at, Survey.kind, Response.nps_score, Response.csat_score, Response.comment)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Response.contact_id == contact_id)
        .where(or_(Response.nps_score.is_not(None), Response.csat_score.is_not(None), and_(Response.comment.is_not(None), Response.comment != "")))
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(limit)
    )
    if beside is not None:
        statement = statement.where(Response.id != beside.id)
    rows = reversed(db.session.execute(statement).all())
    return [ContactAnswer(*row, later=beside is not None and row.created_at > beside.created_at) for row in rows]


# --- opting out -------------------------------------------------------------------------


def find_by_unsubscribe_token(raw_token: str) -> Invitation | None:
    if not raw_token or len(raw_token) > 100:
        return None
    return db.session.scalars(
        select(Invitation)
        .where(
            or_(
                Invitation.unsubscribe_token_hash == (hashed := hash_token(raw_token)),
                Invitation.reminder_unsubscribe_token_hash == hashed,
            )
        )
        .options(selectinload(Invitation.contact))
    ).first()


def opt_out(contact: Contact, now: datetime | None = None) -> None:
    if not contact.survey_opt_out:
        contact.survey_opt_out = True
        contact.opted_out_at = now or utcnow()


# --- schedules ----------------------------------------------------------------------------


def expire_invitations(now: datetime | None = None) -> int:
    now = now or utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(Invitation.status.in_((InvitationStatus.QUEUED, InvitationStatus.SENT)), Invitation.expires_at <= now)
        .values(status=InvitationStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def send_reminders(now: datetime | None = None, limit: int = 200) -> int:
    """One reminder per unanswered invitation, after the survey's reminder delay.

    Raw tokens are never stored, so the reminder carries a second link of its
    own (``reminder_token_hash``); the link from the first email keeps working.
    """
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Invitation)
        .join(Survey, Survey.id == Invitation.survey_id)
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(
            Invitation.status == InvitationStatus.SENT,
            Invitation.reminded_at.is_(None),
            Survey.reminder_after_days.is_not(None),
            Invitation.sent_at <= now - timedelta(days=1),
            Invitation.expires_at > now + timedelta(days=1),
            Contact.survey_opt_out.is_(False),
        )
        .order_by(Invitation.id)
        .limit(limit * 5)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for invitation in candidates:
        if invitation.sent_at > now - timedelta(days=invitation.survey.reminder_after_days):
            continue
        raw, token_hash = new_token()
        raw_unsubscribe, unsubscribe_hash = new_token()
        invitation.reminder_token_hash = token_hash
        invitation.reminder_unsubscribe_token_hash = unsubscribe_hash
        invitation.reminded_at = now
        _queue_email(invitation, raw, raw_unsubscribe, reminder=True)
        sent += 1
        if sent >= limit:
            break
    return sent


def run_nps_waves(now: datetime | None = None) -> int:
    """Invite contacts whose last invitation to a periodic NPS survey is older
    than its interval, at most ``daily_cap`` a day, respecting throttling."""
    now = now or utcnow()
    invited = 0
    surveys = db.session.scalars(select(Survey).where(Survey.kind == SurveyKind.NPS, Survey.active.is_(True)))
    for survey in surveys:
        interval = timedelta(days=survey.interval_days or 180)
        cap = survey.daily_cap or 200
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        already_today = db.session.scalar(
            select(func.count(Invitation.id)).where(Invitation.survey_id == survey.id, Invitation.created_at >= today)
        )
        budget = cap - already_today
        if budget <= 0:
            continue
        last = (
            select(Invitation.contact_id, func.max(Invitation.created_at).label("last_at"))
            .where(Invitation.survey_id == survey.id)
            .group_by(Invitation.contact_id)
            .subquery()
        )
        query = (
            select(Contact.id)
            .outerjoin(last, last.c.contact_id == Contact.id)
            .where(Contact.survey_opt_out.is_(False), (last.c.last_at.is_(None)) | (last.c.last_at <= now - interval))
            .order_by(last.c.last_at.is_not(None), last.c.last_at, Contact.id)
            .limit(budget * 3)
        )
        if survey.trigger_service_types:
            query = query.where(
                select(AccountService.account_id)
                .where(and_(AccountService.account_id == Contact.account_id, AccountService.service_type.in_(survey.trigger_service_types)))
                .exists()
            )
        for contact_id in list(db.session.scalars(query)):
            contact = lock_contact(contact_id)
            if throttle_reason(survey, contact, now=now):
                continue
            invite(survey, contact, now=now)
            invited += 1
            budget -= 1
            if budget <= 0:
                break
    return invited
