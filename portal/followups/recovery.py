"""The recovery survey after a follow-up: sent when a resolved task's follow-up
is due, and whether its answer shows the customer recovered. The survey itself
and how its answer reads live in ``portal/surveys/recovery.py``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.followups.models import Task, TaskStatus
from portal.surveys import recovery as recovery_survey
from portal.surveys import services as surveys
from portal.surveys.models import Response
from portal.timeutil import utcnow


def follow_up_response(task: Task) -> Response | None:
    if task.follow_up_invitation_id is None:
        return None
    return db.session.scalar(select(Response).where(Response.invitation_id == task.follow_up_invitation_id))


def is_recovered(original: Response | None, follow_up: Response | None) -> bool | None:
    """Whether the follow-up shows the customer won back (portal/surveys/recovery.py);
    None while there is no answer to judge."""
    outcome = recovery_survey.outcome(original, follow_up)
    return outcome.recovered if outcome else None


def send_due_follow_ups(now: datetime | None = None, limit: int = 200) -> int:
    """Invite the contact of each resolved task whose follow-up is due to the
    recovery survey (routine throttling does not apply; an opt-out does)."""
    now = now or utcnow()
    tasks = db.session.scalars(
        select(Task)
        .where(Task.follow_up_due_at.is_not(None), Task.follow_up_due_at <= now, Task.follow_up_invitation_id.is_(None))
        .order_by(Task.follow_up_due_at, Task.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for task in tasks:
        task.follow_up_due_at = None
        if task.status != TaskStatus.RESOLVED or task.contact_id is None or task.response is None:
            continue
        contact = surveys.lock_contact(task.contact_id)
        if contact.survey_opt_out:
            continue
        invitation = recovery_survey.invite_after_follow_up(task.response, contact, now=now)
        if invitation is not None:
            task.follow_up_invitation_id = invitation.id
            sent += 1
    db.session.flush()
    return sent
