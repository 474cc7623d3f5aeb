"""The follow-up (recovery) survey: sent when a resolved task's follow-up is
due, and whether its answer shows the customer recovered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.followups.models import Task, TaskStatus
from portal.surveys import services as surveys
from portal.surveys.models import NPS_PROMOTER_MIN, Response
from portal.timeutil import utcnow

CSAT_TOP = 5

def follow_up_response(task: Task) -> Response | None:
    if task.follow_up_invitation_id is None:
        return None
    return db.session.scalar(select(Response).where(Response.invitation_id == task.follow_up_invitation_id))


def is_recovered(original: Response | None, follow_up: Response | None) -> bool | None:
    """Recovered: the follow-up score is higher than the original, or now at the top
    (an NPS promoter, CSAT 5). None while there is no follow-up answer to judge."""
    if follow_up is None or original is None:
        return None
    if follow_up.nps_score is not None:
        if follow_up.nps_score >= NPS_PROMOTER_MIN:
            return True
        if original.nps_score is not None:
            return follow_up.nps_score > original.nps_score
    if follow_up.csat_score is not None:
        if follow_up.csat_score >= CSAT_TOP:
            return True
        if original.csat_score is not None:
            return follow_up.csat_score > original.csat_score
    if follow_up.nps_score is None and follow_up.csat_score is None:
        return None
    return False


def send_due_follow_ups(now: datetime | None = None, limit: int = 200) -> int:
    """Invite the contact of each resolved task whose follow-up is due to the
    survey they answered (routine throttling does not apply; an opt-out does)."""
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
        created = surveys.invite(task.response.survey, contact, ticket=None, now=now)
        task.follow_up_invitation_id = created.invitation.id
        sent += 1
    db.session.flush()
    return sent
