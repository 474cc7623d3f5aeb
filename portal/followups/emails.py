"""The follow-ups' emails: a new task for its assignee, the daily digest of
overdue tasks, and the managers' daily escalation of unassigned and overdue tasks.

Both go through the outbox (``portal.mail.services.enqueue``) in the
transaction that causes them, named by a reference (``followup_task:<id>``,
``followup_digest:<user id>:<day>``, ``followup_escalation:<user id>:<day>``) by which the mail package finds,
rewrites or cancels them: a task's notification exists if and only if
the answer that made the task was committed. They are our own templates
(``templates/followups/email_*``), rendered in the staff member's language;
what customers wrote (a comment, a name) is text there, never markup: the
HTML templates escape it, and the subject is one line.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import force_locale

from portal.auth.models import StaffUser
from portal.followups.models import Priority, RuleKind, Task
from portal.followups.titles import task_title, user_language
from portal.mail import services as mail
from portal.mail.models import OutboxMessage
from portal.timeutil import utcnow
from portal.web.urls import external_url

TASK_KIND = "followup_task"
DIGEST_KIND = "followup_digest"
ESCALATION_KIND = "followup_escalation"
#: A task made by the first answer of a survey not yet finished waits this long
#: for the rest (the comment comes a step later); finishing sends it at once.
WAIT_FOR_THE_REST = timedelta(minutes=10)


def _one_line(value: str) -> str:
    return " ".join((value or "").split())


def _enqueue(user: StaffUser, template: str, kind: str, language: str, reference: str, send_after: datetime | None = None, **context) -> OutboxMessage:
    subject, text, html = mail.render_email(template, language, name=user.name, **context)
    return mail.enqueue(
        to=user.email, subject=_one_line(subject), text=text, html=html, kind=kind, locale=language, send_after=send_after, reference=reference
    )


def task_summary(task: Task, language: str) -> dict:
    """Plain values for the templates (no models: nothing lazy-loads while rendering)."""
    response = task.response
    contact = task.contact
    return {
        "id": task.id,
        "title": _one_line(task_title(task, language)),
        "account": task.account.name if task.account else "",
        "contact": contact.name if contact else None,
        "contact_email": contact.email if contact else None,
        "nps": response.nps_score if response else None,
        "csat": response.csat_score if response else None,
        "comment": response.comment if response else None,
        "rules": [str(RuleKind.LABELS.get(kind, kind)) for kind in task.rule_kinds or []],
        "priority": str(Priority.LABELS.get(task.priority, task.priority)),
        "due_at": task.due_at,
        "assignee": task.assignee.name if task.assignee else None,
        "url": external_url("followups.task", task_id=task.id),
    }


def _task_email(task: Task, assignee: StaffUser) -> tuple[str, str, str, str]:
    language = user_language(assignee)
    with force_locale(language):
        summary = task_summary(task, language)
    subject, text, html = mail.render_email("followups/email_task", language, name=assignee.name, task=summary)
    return language, _one_line(subject), text, html


def _waits_for_the_rest(task: Task) -> bool:
    return task.response is not None and task.response.completed_at is None


def send_task_notification(task: Task, assignee: StaffUser, now: datetime | None = None) -> OutboxMessage:
    """Tell the assignee about a new task: the score, the comment, the link to the task page.

    While the customer is still answering, the email waits a little for the
    comment (see :func:`refresh_task_notification`)."""
    now = now or utcnow()
    language, subject, text, html = _task_email(task, assignee)
    send_after = now + WAIT_FOR_THE_REST if _waits_for_the_rest(task) else None
    return mail.enqueue(
        to=assignee.email, subject=subject, text=text, html=html, kind=TASK_KIND, locale=language, send_after=send_after, reference=task_reference(task)
    )


def task_reference(task: Task) -> str:
    """How the outbox knows a task's notification (mail.find, replace, cancel)."""
    return f"{TASK_KIND}:{task.id}"


def refresh_task_notification(task: Task, now: datetime | None = None) -> bool:
    """A later answer step (the comment) rewrites the task's email while it is
    still queued; once the survey is finished it goes out at once. False when
    there is nothing queued to rewrite (sent already, or never notified)."""
    assignee = task.assignee
    if assignee is None:
        return False
    now = now or utcnow()
    language, subject, text, html = _task_email(task, assignee)
    due_by = None if _waits_for_the_rest(task) else now
    return mail.replace(task_reference(task), subject=subject, text=text, html=html, locale=language, due_by=due_by)


def withdraw_task_notification(task: Task) -> int:
    """The task changed hands: its notification, while still queued, is no longer news for anyone."""
    return mail.cancel(task_reference(task))


def digest_reference(user: StaffUser, day: date) -> str:
    """One overdue digest per person and day."""
    return f"{DIGEST_KIND}:{user.id}:{day.isoformat()}"


def send_overdue_digest(user: StaffUser, tasks: list[Task], now: datetime) -> None:
    """One email listing the user's overdue tasks."""
    language = user_language(user)
    with force_locale(language):
        summaries = [task_summary(task, language) for task in tasks]
    _enqueue(
        user,
        "followups/email_digest",
        DIGEST_KIND,
        language,
        digest_reference(user, now.date()),
        send_after=now,
        tasks=summaries,
        count=len(summaries),
        list_url=external_url("followups.tasks"),
    )


def escalation_reference(user: StaffUser, day: date) -> str:
    """One escalation per manager and day."""
    return f"{ESCALATION_KIND}:{user.id}:{day.isoformat()}"


def send_escalation(user: StaffUser, unassigned: list[Task], overdue: list[Task], now: datetime) -> None:
    """One email to a manager: the tasks nobody owns, and every overdue task with its assignee."""
    language = user_language(user)
    with force_locale(language):
        unassigned_summaries = [task_summary(task, language) for task in unassigned]
        overdue_summaries = [task_summary(task, language) for task in overdue]
    _enqueue(
        user,
        "followups/email_escalation",
        ESCALATION_KIND,
        language,
        escalation_reference(user, now.date()),
        send_after=now,
        unassigned=unassigned_summaries,
        overdue=overdue_summaries,
        unassigned_url=external_url("followups.tasks", view="team", assignee="none"),
        overdue_url=external_url("followups.tasks", view="team", overdue="y"),
    )
