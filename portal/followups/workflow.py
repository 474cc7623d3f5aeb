"""The task workflow: status changes, logged activities, reassignment, and
the words for what the workflow refuses."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from portal.auth.models import Role, StaffUser
from portal.extensions import db
from portal.followups import emails
from portal.followups.models import Activity, ActivityKind, RuleKind, Task, TaskStatus
from portal.timeutil import utcnow
from portal.web.i18n import lazy_gettext as _l

MAX_TEXT = 5000


class WorkflowError(ValueError):
    """A change the workflow does not allow; ``code`` names why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- the workflow ---------------------------------------------------------------------------

TRANSITIONS = {
    TaskStatus.OPEN: (TaskStatus.IN_PROGRESS, TaskStatus.WAITING, TaskStatus.RESOLVED, TaskStatus.DISMISSED),
    TaskStatus.IN_PROGRESS: (TaskStatus.WAITING, TaskStatus.RESOLVED, TaskStatus.DISMISSED),
    TaskStatus.WAITING: (TaskStatus.IN_PROGRESS, TaskStatus.RESOLVED, TaskStatus.DISMISSED),
    TaskStatus.RESOLVED: (TaskStatus.OPEN,),
    TaskStatus.DISMISSED: (TaskStatus.OPEN,),
}


def allowed_statuses(task: Task) -> tuple[str, ...]:
    return TRANSITIONS.get(task.status, ())


def _clean_text(value: str | None) -> str:
    value = (value or "").replace("\x00", "").strip()
    if len(value) > MAX_TEXT:
        raise WorkflowError("too_long")
    return value


#: How far ahead a waiting task may wait.
MAX_WAIT = timedelta(days=365)


def change_status(
    task: Task, user: StaffUser | None, status: str, outcome: str | None = None, now: datetime | None = None, wait_until: date | None = None
) -> Activity:
    """Move the task on; resolving or dismissing needs an outcome, resolving
    schedules the follow-up survey; waiting needs the day to wait until, when
    the task is due again. Raises WorkflowError when not allowed."""
    now = now or utcnow()
    if status not in TaskStatus.ALL:
        raise WorkflowError("unknown_status")
    if status not in TRANSITIONS.get(task.status, ()):
        raise WorkflowError("transition_not_allowed")
    outcome = _clean_text(outcome)
    if status in TaskStatus.CLOSED and not outcome:
        raise WorkflowError("outcome_required")
    if status == TaskStatus.WAITING:
        if wait_until is None:
            raise WorkflowError("wait_until_required")
        if not now.date() < wait_until <= (now + MAX_WAIT).date():
            raise WorkflowError("wait_until_out_of_range")
        task.waiting_until = wait_until
        task.due_at = datetime.combine(wait_until, time())
    else:
        task.waiting_until = None
    previous = task.status
    if status in TaskStatus.CLOSED:
        task.closed_at = now
        task.outcome = outcome
        task.open_drop_account_id = None
        if status == TaskStatus.RESOLVED and task.contact_id and task.follow_up_days and task.follow_up_invitation_id is None:
            task.follow_up_due_at = now + timedelta(days=task.follow_up_days)
        else:
            task.follow_up_due_at = None
    elif previous in TaskStatus.CLOSED:  # reopened
        if RuleKind.ACCOUNT_DROP in (task.rule_kinds or []) and task.response_id is None:
            other = db.session.scalar(select(Task.id).where(Task.open_drop_account_id == task.account_id, Task.id != task.id))
            if other:
                raise WorkflowError("drop_task_open")
            task.open_drop_account_id = task.account_id
        task.closed_at = None
        task.follow_up_due_at = None
    task.status = status
    task.updated_at = now
    if task.first_action_at is None and user is not None:
        task.first_action_at = now
    change = {"from": previous, "to": status}
    if status == TaskStatus.WAITING:
        change["until"] = wait_until.isoformat()
    activity = Activity(task=task, author_id=user.id if user else None, kind=ActivityKind.STATUS, body=outcome or None, change=change, created_at=now)
    db.session.add(activity)
    db.session.flush()
    return activity


def log_activity(task: Task, user: StaffUser | None, kind: str, body: str | None, now: datetime | None = None) -> Activity:
    """A call, visit, email or note; the first one is the task's first action, and an open task is then in progress."""
    now = now or utcnow()
    if kind not in ActivityKind.LOGGED:
        raise WorkflowError("unknown_kind")
    body = _clean_text(body)
    if not body:
        raise WorkflowError("body_required")
    if task.first_action_at is None:
        task.first_action_at = now
    activity = Activity(task=task, author_id=user.id if user else None, kind=kind, body=body, created_at=now)
    db.session.add(activity)
    if task.status == TaskStatus.OPEN:
        task.status = TaskStatus.IN_PROGRESS
        db.session.add(
            Activity(task=task, author_id=user.id if user else None, kind=ActivityKind.STATUS, change={"from": TaskStatus.OPEN, "to": TaskStatus.IN_PROGRESS}, created_at=now)
        )
    task.updated_at = now
    db.session.flush()
    return activity


def assignable_users() -> list[StaffUser]:
    """Active staff who work with customers (the assignee and fallback choices)."""
    return list(
        db.session.scalars(
            select(StaffUser).where(StaffUser.active.is_(True), StaffUser.role.in_(Role.CUSTOMER_FACING)).order_by(func.lower(StaffUser.name), StaffUser.id)
        )
    )


def reassign(task: Task, user: StaffUser | None, assignee_id: int | None, now: datetime | None = None) -> Activity | None:
    """Give the task to another active customer-facing staff member (who is told by email;
    the previous assignee's notification, if still queued, is withdrawn); None when it is theirs already."""
    now = now or utcnow()
    assignee = db.session.get(StaffUser, assignee_id) if assignee_id else None
    if assignee is None or not assignee.active or assignee.role not in Role.CUSTOMER_FACING:
        raise WorkflowError("invalid_assignee")
    if task.assignee_id == assignee.id:
        return None
    old = task.assignee
    task.assignee_id = assignee.id
    task.assignee = assignee
    task.updated_at = now
    activity = Activity(
        task=task,
        author_id=user.id if user else None,
        kind=ActivityKind.REASSIGN,
        change={"from": old.name if old else None, "to": assignee.name, "from_id": old.id if old else None, "to_id": assignee.id},
        created_at=now,
    )
    db.session.add(activity)
    db.session.flush()
    emails.withdraw_task_notification(task)
    if task.is_active and (user is None or user.id != assignee.id):
        emails.send_task_notification(task, assignee, now)
    return activity


WORKFLOW_MESSAGES = {
    "unknown_status": _l("Choose one of the statuses shown."),
    "transition_not_allowed": _l("The task cannot move to that status from where it is now."),
    "outcome_required": _l("Write the outcome: what was done and what came of it."),
    "too_long": _l("The text is too long (at most 5000 characters)."),
    "drop_task_open": _l("Another task about this account's falling NPS is open; work on that one."),
    "unknown_kind": _l("Choose call, visit, email or note."),
    "body_required": _l("Write what happened."),
    "invalid_assignee": _l("Choose an active colleague who works with customers."),
    "wait_until_required": _l("Give the day to wait until: the task is due again then."),
    "wait_until_out_of_range": _l("The day to wait until must be after today and within a year."),
    "unknown_region": _l("Choose one of the regions shown."),
    "name_required": _l("The rule needs a name."),
    "threshold_out_of_range": _l("The threshold is outside the scale of this rule."),
    "keywords_required": _l("Give at least one word or phrase."),
    "unknown_priority": _l("Choose one of the priorities shown."),
    "due_hours_out_of_range": _l("The due time must be between 1 hour and 90 days."),
    "follow_up_days_out_of_range": _l("The follow-up survey can wait 1 to 365 days."),
}


def workflow_message(code: str) -> str:
    return str(WORKFLOW_MESSAGES.get(code, _l("This change is not possible.")))
