"""The daily emails about tasks (written in emails.py): to each assignee their
overdue tasks; to the managers (the admins when there is no manager) the tasks
nobody owns and every overdue task."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, StaffUser
from portal.extensions import db
from portal.followups import emails
from portal.followups.lists import overdue_clause
from portal.followups.models import Task, TaskStatus
from portal.mail import services as mail
from portal.timeutil import utcnow

#: The digest of overdue tasks goes out at the first worker run after this hour (UTC).
DIGEST_HOUR = 6

def overdue_by_assignee(now: datetime) -> dict[int, list[Task]]:
    tasks = db.session.scalars(
        select(Task)
        .where(overdue_clause(now), Task.assignee_id.is_not(None))
        .options(selectinload(Task.account))
        .order_by(Task.due_at, Task.id)
    )
    grouped: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        grouped[task.assignee_id].append(task)
    return grouped


def send_overdue_digest(now: datetime | None = None) -> int:
    """Once a day (from DIGEST_HOUR UTC), one email per assignee with overdue tasks; how many were queued."""
    now = now or utcnow()
    if now.hour < DIGEST_HOUR:
        return 0
    queued = 0
    for assignee_id, tasks in overdue_by_assignee(now).items():
        user = db.session.scalar(select(StaffUser).where(StaffUser.id == assignee_id).with_for_update())  # one worker at a time per person
        if user is None or not user.active:
            continue
        already = mail.find(emails.digest_reference(user, now.date()))
        if already:
            continue
        emails.send_overdue_digest(user, tasks, now)
        queued += 1
    return queued


#: How many tasks of each list an escalation names (the links open them all).
ESCALATION_LIMIT = 50


def escalation_recipients() -> list[StaffUser]:
    """The active managers; the active admins when there is none."""
    for role in (Role.MANAGER, Role.ADMIN):
        users = list(db.session.scalars(select(StaffUser).where(StaffUser.role == role, StaffUser.active.is_(True)).order_by(StaffUser.id)))
        if users:
            return users
    return []


def send_escalations(now: datetime | None = None) -> int:
    """Once a day (from DIGEST_HOUR UTC), one email to each manager naming the active
    tasks without an owner and the overdue ones; how many were queued (none when
    there is nothing to escalate)."""
    now = now or utcnow()
    if now.hour < DIGEST_HOUR:
        return 0
    options = (selectinload(Task.account), selectinload(Task.assignee))
    unassigned = list(
        db.session.scalars(
            select(Task).where(Task.status.in_(TaskStatus.ACTIVE), Task.assignee_id.is_(None)).options(*options).order_by(Task.due_at, Task.id).limit(ESCALATION_LIMIT)
        )
    )
    overdue = list(db.session.scalars(select(Task).where(overdue_clause(now)).options(*options).order_by(Task.due_at, Task.id).limit(ESCALATION_LIMIT)))
    if not unassigned and not overdue:
        return 0
    queued = 0
    for user in escalation_recipients():
        db.session.scalar(select(StaffUser.id).where(StaffUser.id == user.id).with_for_update())  # one worker at a time per person
        if mail.find(emails.escalation_reference(user, now.date())) is not None:
            continue
        emails.send_escalation(user, unassigned, overdue, now)
        queued += 1
    return queued
