"""Everything the task page shows: the answer behind the task, the contact's
earlier scores, tickets, other tasks, health, courses, the follow-up survey."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.courses import services as courses
from portal.customers import services as customers
from portal.customers.models import Contact, Ticket
from portal.extensions import db
from portal.followups.lists import is_overdue
from portal.followups.models import Activity, Task, TaskStatus
from portal.followups.recovery import follow_up_response, is_recovered
from portal.followups.titles import default_locale, task_title
from portal.followups.workflow import allowed_statuses
from portal.reports import services as reports
from portal.surveys import recovery as recovery_survey
from portal.surveys import services as surveys
from portal.surveys.models import Answer, Invitation, Response
from portal.timeutil import utcnow


@dataclass(frozen=True)
class AnswerLine:
    question: str
    value: str


@dataclass
class TaskContext:
    task: Task
    title: str
    response: Response | None
    answers: list[AnswerLine]
    comment: str | None
    contact: Contact | None
    previous_scores: list[surveys.ContactAnswer]
    ticket: Ticket | None
    recent_tickets: list[Ticket]
    other_tasks: list[Task]
    health: Any  # portal.reports.services.Health
    renewal: date | None
    courses: courses.AccountCourseFigures
    follow_up_invitation: Invitation | None
    follow_up_response: Response | None
    follow_up_outcome: recovery_survey.Recovery | None
    recovered: bool | None
    overdue: bool
    allowed_statuses: tuple[str, ...]
    activities: list[Activity]


def _answer_value(answer: Answer, language: str) -> str:
    if answer.skipped:
        return _("(skipped)")
    if answer.number is not None:
        return str(answer.number)
    if answer.choices:
        labels = {o["value"]: surveys.localized(o, language) for o in (answer.question.options or [])}
        return ", ".join(labels.get(c) or c for c in answer.choices)
    return answer.text or ""


def answer_lines(response: Response, language: str) -> list[AnswerLine]:
    answers = sorted(response.answers, key=lambda a: (a.question.position if a.question else 0, a.id))
    lines = []
    for answer in answers:
        question = answer.question
        wording = surveys.question_text(question, response.nps_score, language) if question else ""
        lines.append(AnswerLine(wording, _answer_value(answer, language)))
    return lines


def task_context(task: Task, language: str | None = None, now: datetime | None = None) -> TaskContext:
    """Everything the task page shows."""
    now = now or utcnow()
    language = language or str(get_locale() or default_locale())
    response = task.response
    contact = task.contact
    previous = surveys.contact_answers(contact.id, response) if contact is not None else []
    ticket = db.session.get(Ticket, response.ticket_id) if response is not None and response.ticket_id else None
    others = list(
        db.session.scalars(
            select(Task)
            .where(Task.account_id == task.account_id, Task.id != task.id, Task.status.in_(TaskStatus.ACTIVE))
            .options(selectinload(Task.assignee))
            .order_by(Task.due_at)
        )
    )
    follow_up = follow_up_response(task)
    return TaskContext(
        task=task,
        title=task_title(task, language),
        response=response,
        answers=answer_lines(response, language) if response is not None else [],
        comment=response.comment if response is not None else None,
        contact=contact,
        previous_scores=previous,
        ticket=ticket,
        recent_tickets=customers.recent_tickets(task.account, limit=10),
        other_tasks=others,
        health=reports.account_health(task.account, now),
        renewal=task.account.contract_renewal_on,
        courses=courses.account_course_figures(task.account),
        follow_up_invitation=task.follow_up_invitation,
        follow_up_response=follow_up,
        follow_up_outcome=recovery_survey.outcome(response, follow_up, language),
        recovered=is_recovered(response, follow_up),
        overdue=is_overdue(task, now),
        allowed_statuses=allowed_statuses(task),
        activities=sorted(task.activities, key=lambda a: (a.created_at, a.id), reverse=True),
    )
