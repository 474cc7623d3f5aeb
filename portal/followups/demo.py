"""Demo follow-ups: the default rules, and tasks from the last weeks' low answers
in every state, worked by the demo account managers.

- older tasks are mostly resolved (a call, an outcome) or dismissed; most
  resolved ones had their recovery survey 14 days later, many of those
  answered, and most of those recovered;
- tasks of the last weeks are open, in progress or waiting, some overdue;
- a few comments mention cancelling (the keyword rule), and accounts whose NPS
  fell significantly get their account-drop task.

Runs inside ``demo seed``'s unit of work (no commit here) and is idempotent:
once any task exists, it only makes sure the rules exist. No email is queued:
the history is in the past.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select

from portal.customers.models import Account
from portal.extensions import db
from portal.followups import evaluation, rules
from portal.followups.models import Activity, ActivityKind, Task, TaskStatus
from portal.surveys import recovery
from portal.surveys.models import Answer, Invitation, InvitationStatus, QuestionType, Response, SurveyKind
from portal.timeutil import utcnow

#: How far back low answers become demo tasks, and how many at most.
WINDOW = timedelta(days=200)
MAX_TASKS = 80
#: Younger tasks are still being worked (open, in progress, waiting); older ones are closed.
ACTIVE_AGE = timedelta(days=45)
#: Of the newest low answers, every other one is moved to the last two days, so
#: that the lists have tasks that are new and not yet due next to overdue ones.
FRESH = 16
MAX_ACCOUNT_DROPS = 3

CANCELLING = (
    "Wenn sich das nicht bessert, werden wir zum Vertragsende kündigen.",
    "Wir prüfen gerade, den Anbieter zu wechseln. Dreimal Ausfall in einem Monat.",
    "Die Kündigung liegt schon in der Schublade, wenn die Rechnung wieder falsch ist.",
)
CALLS = (
    "Mit dem Ansprechpartner telefoniert, Ursache war ein fehlerhaftes Routing. Technik informiert.",
    "Rückruf erfolgt, Kunde war verärgert über die Wartezeit. Gutschrift angeboten.",
    "Termin vor Ort vereinbart, Techniker prüft die Verkabelung.",
    "Telefonat geführt, Rechnung wird korrigiert, Kunde ist einverstanden.",
)
NOTES = (
    "Support-Ticket eskaliert, Rückmeldung der Technik steht aus.",
    "Warten auf Rückmeldung des Kunden zum vorgeschlagenen Termin.",
    "Mit dem Teamleiter Support abgestimmt: feste Ansprechperson für dieses Konto.",
)
OUTCOMES = (
    "Problem behoben, Kunde bestätigt stabile Verbindung. Gutschrift für einen Monat.",
    "Rechnung korrigiert und erklärt, Kunde zufrieden.",
    "Hardware getauscht, seitdem keine Abbrüche mehr.",
    "Persönlicher Termin geführt, Eskalationsweg vereinbart.",
)
DISMISSALS = ("Bereits im Jahresgespräch geklärt.", "Doppelt erfasst: dieselbe Störung wird in einer anderen Aufgabe bearbeitet.")


def seed_followups(rng: random.Random, now: datetime | None = None) -> int:
    """The default rules and, once, the demo tasks; how many tasks were created."""
    now = now or utcnow()
    rules.seed_default_rules()
    if db.session.scalar(select(Task.id).limit(1)) is not None:
        return 0
    low = list(
        db.session.scalars(
            select(Response)
            .where(
                Response.created_at >= now - WINDOW,
                or_(Response.nps_score <= 6, Response.csat_score <= 2),
            )
            .order_by(Response.created_at.desc(), Response.id)
            .limit(MAX_TASKS)
        )
    )
    made = 0
    for n, response in enumerate(low):
        if n % 9 == 4 and response.comment is not None:
            _cancelling(response, rng)
        if n < FRESH and n % 2 == 0 and now - response.created_at < ACTIVE_AGE:
            _freshen(response, now - timedelta(hours=rng.uniform(1, 40)))
        created_at = response.created_at + timedelta(minutes=rng.randint(1, 5))
        task = evaluation.task_for_response(response, now=created_at, notify=False)
        if task is None:
            continue
        _work(task, rng, now)
        made += 1
    made += _account_drops(now)
    db.session.flush()
    return made


def _cancelling(response: Response, rng: random.Random) -> None:
    """A comment that mentions cancelling (for the keyword rule)."""
    text = rng.choice(CANCELLING)
    response.comment = text
    for answer in response.answers:
        if answer.text:
            answer.text = text
    db.session.flush()


def _freshen(response: Response, at: datetime) -> None:
    """Move an answer (and its steps) to ``at``: the history's newest answers are days old."""
    shift = at - response.created_at
    response.created_at += shift
    response.updated_at = response.created_at
    if response.completed_at is not None:
        response.completed_at += shift
    for answer in response.answers:
        answer.answered_at += shift
    invitation = db.session.get(Invitation, response.invitation_id)
    if invitation is not None and invitation.answered_at is not None:
        invitation.answered_at += shift
    db.session.flush()


def _activity(task: Task, kind: str, at: datetime, body: str | None = None, change: dict | None = None) -> None:
    db.session.add(Activity(task=task, author_id=task.assignee_id, kind=kind, body=body, change=change, created_at=at))


def _status(task: Task, to: str, at: datetime, body: str | None = None, **change) -> None:
    _activity(task, ActivityKind.STATUS, at, body, {"from": task.status, "to": to, **change})
    task.status = to
    task.updated_at = at


def _work(task: Task, rng: random.Random, now: datetime) -> None:
    """Play the task forward to a believable state for its age."""
    age = now - task.created_at
    sla = task.due_at - task.created_at
    roll = rng.random()
    if age < timedelta(hours=48):
        if roll < 0.6 or age < timedelta(hours=4):
            return  # new: open
        first = task.created_at + (age - timedelta(hours=1)) * rng.uniform(0.2, 0.9)
        task.first_action_at = first
        _activity(task, ActivityKind.CALL, first, rng.choice(CALLS))
        _status(task, TaskStatus.IN_PROGRESS, first)
        return
    if age < ACTIVE_AGE:
        if roll < 0.25:
            return  # open and overdue: nobody called yet
        first = task.created_at + sla * rng.uniform(0.1, 1.4)
        first = min(first, now - timedelta(hours=1))
        task.first_action_at = first
        _activity(task, ActivityKind.CALL, first, rng.choice(CALLS))
        _status(task, TaskStatus.IN_PROGRESS, first)
        if roll < 0.55:
            return  # in progress (overdue when the SLA has passed)
        waiting_at = min(first + timedelta(hours=rng.randint(2, 30)), now - timedelta(minutes=30))
        _activity(task, ActivityKind.NOTE, waiting_at, rng.choice(NOTES))
        task.waiting_until = (now + timedelta(days=rng.randint(1, 10))).date()  # due again then
        task.due_at = datetime.combine(task.waiting_until, time())
        _status(task, TaskStatus.WAITING, waiting_at, until=task.waiting_until.isoformat())
        return
    first = task.created_at + sla * rng.uniform(0.05, 1.3)
    task.first_action_at = first
    _activity(task, rng.choice((ActivityKind.CALL, ActivityKind.CALL, ActivityKind.VISIT, ActivityKind.EMAIL)), first, rng.choice(CALLS))
    _status(task, TaskStatus.IN_PROGRESS, first)
    closed_at = first + timedelta(hours=rng.randint(4, 96))
    if roll < 0.15:
        task.outcome = rng.choice(DISMISSALS)
        _status(task, TaskStatus.DISMISSED, closed_at, task.outcome)
        task.closed_at = closed_at
        return
    task.outcome = rng.choice(OUTCOMES)
    _status(task, TaskStatus.RESOLVED, closed_at, task.outcome)
    task.closed_at = closed_at
    if not (task.contact_id and task.follow_up_days and task.response):
        return
    due = closed_at + timedelta(days=task.follow_up_days)
    if due > now:
        task.follow_up_due_at = due  # the worker sends it when the day comes
        return
    _follow_up(task, due, rng, now)


def _follow_up(task: Task, sent_at: datetime, rng: random.Random, now: datetime) -> None:
    """The recovery survey that went out, and (mostly) its answer."""
    original = task.response
    survey = recovery.recovery_survey()
    if survey is None:
        return
    language = task.contact.language if task.contact and task.contact.language in ("de", "en") else "de"
    answered = rng.random() < 0.7
    answered_at = min(sent_at + timedelta(hours=rng.randint(2, 72)), now - timedelta(minutes=5)) if answered else None
    invitation = Invitation(
        survey=survey,
        contact_id=task.contact_id,
        account_id=task.account_id,
        concern=recovery.concern(original, language)[:300],
        token_hash=secrets.token_hex(32),
        unsubscribe_token_hash=secrets.token_hex(32),
        language=language,
        status=InvitationStatus.ANSWERED if answered else InvitationStatus.SENT,
        created_at=sent_at,
        sent_at=sent_at,
        expires_at=sent_at + timedelta(days=survey.expires_after_days),
        answered_at=answered_at,
    )
    db.session.add(invitation)
    db.session.flush()
    task.follow_up_invitation_id = invitation.id
    if not answered:
        return
    recovered = rng.random() < 0.65
    response = Response(
        invitation_id=invitation.id, survey_id=survey.id, account_id=task.account_id, contact_id=task.contact_id,
        created_at=answered_at, updated_at=answered_at, completed_at=answered_at,
    )  # fmt: skip
    db.session.add(response)
    db.session.flush()
    for question in survey.questions:
        answer = Answer(response_id=response.id, question_id=question.id, skipped=False, answered_at=answered_at)
        if question.type == QuestionType.SINGLE and any(o["value"] == SurveyKind.RESOLVED_YES for o in question.options):
            answer.choices = [SurveyKind.RESOLVED_YES if recovered else rng.choice(("partly", "no"))]
        elif question.type == QuestionType.CSAT:
            answer.number = response.csat_score = rng.randint(4, 5) if recovered else rng.randint(1, 3)
        else:
            continue
        db.session.add(answer)
    db.session.flush()


def _account_drops(now: datetime) -> int:
    """Account-drop tasks for accounts whose NPS fell significantly (a few)."""
    ids = db.session.scalars(
        select(Response.account_id)
        .where(Response.created_at >= now - evaluation.QUARTER, Response.nps_score.is_not(None))
        .group_by(Response.account_id)
        .order_by(func.avg(Response.nps_score), Response.account_id)
        .limit(40)
    ).all()
    made = 0
    for account_id in ids:
        account = db.session.get(Account, account_id)
        if account is not None and evaluation.check_account_drop(account, now, notify=False) is not None:
            made += 1
            if made >= MAX_ACCOUNT_DROPS:
                break
    return made

