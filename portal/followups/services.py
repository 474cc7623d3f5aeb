"""What other packages read of the follow-ups (DESIGN §4: through services.py):
the CRM's view of an account's open tasks (the read API), and the survey
suppression while a task is active and the withheld thank-you while a task
has no owner (both registered in subscribers.py).

The package's own work is in modules named by their job: ``rules.py`` (the
rules and the rule engine), ``evaluation.py`` (an answer becomes a task),
``workflow.py``, ``lists.py`` (who sees which tasks), ``titles.py``,
``taskpage.py``, ``recovery.py`` (the follow-up survey), ``digest.py``
and ``loop.py`` (the loop report). None of them commits: they flush, and the
request, job or CLI command around them commits (portal/web/transaction.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.customers import services as customers
from portal.customers.models import Account, Contact
from portal.extensions import db
from portal.followups.models import Task, TaskStatus
from portal.followups.titles import default_locale, task_title
from portal.surveys.models import Response
from portal.web.urls import external_url


def open_follow_up_reason(contact: Contact, now: datetime | None = None) -> str | None:
    """While a task is active for the contact's account, routine surveys wait."""
    active = db.session.scalar(
        select(Task.id).where(Task.account_id == contact.account_id, Task.status.in_(TaskStatus.ACTIVE)).limit(1)
    )
    return "open_follow_up" if active else None


def has_unowned_task(invitation_id: int) -> bool:
    """Has the answer to this invitation made a task that nobody owns? (The survey
    page then thanks without promising that someone will be in touch.)"""
    return (
        db.session.scalar(
            select(Task.id).join(Response, Response.id == Task.response_id).where(Response.invitation_id == invitation_id, Task.assignee_id.is_(None)).limit(1)
        )
        is not None
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def open_tasks_for_account(account: Account | str) -> list[dict]:
    """The account's active tasks, as the CRM reads them (titles in the operator's
    language); ``account`` may be given by its external id. Empty when none is open."""
    if isinstance(account, str):
        account = customers.account_by_external_id(account)
        if account is None:
            return []
    tasks = db.session.scalars(
        select(Task)
        .where(Task.account_id == account.id, Task.status.in_(TaskStatus.ACTIVE))
        .options(selectinload(Task.assignee), selectinload(Task.account))
        .order_by(Task.due_at, Task.id)
    )
    language = default_locale()
    return [
        {
            "id": task.id,
            "title": task_title(task, language),
            "status": task.status,
            "assignee": task.assignee.email if task.assignee else None,
            "due": _iso(task.due_at),
            "created": _iso(task.created_at),
            "url": external_url("followups.task", task_id=task.id),
        }
        for task in tasks
    ]
