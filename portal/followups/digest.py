"""The daily digest of overdue tasks, one email per assignee (the email itself in emails.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.auth.models import StaffUser
from portal.extensions import db
from portal.followups import emails
from portal.followups.lists import overdue_clause
from portal.followups.models import Task
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
