"""Evaluating an answer: the task of a response the rules match (created or
updated with each answer step), and the check of an account's NPS for a
significant fall (at each NPS answer, and hourly from jobs.py).

- **One task per response.** ``Task.response_id`` is unique: of two answers
  of one response at once the slower one fails on the constraint and the
  survey view's ``run_in_transaction`` runs it again, when it finds the task.
- **One active account-drop task per account.** ``Task.open_drop_account_id``
  is unique and set while the task is active; a lost race is caught in a
  savepoint, so the answer that caused the check still stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from portal.auth.models import Role, StaffUser
from portal.customers.models import Account, Contact
from portal.extensions import db
from portal.followups import emails
from portal.followups.models import AlertRule, Priority, RuleKind, Task, TaskRule, TaskStatus
from portal.followups.rules import ensure_rules, enabled_rules, region_owner, is_significant_drop, matches, matching_keywords, response_texts
from portal.reports import metrics
from portal.reports import services as reports
from portal.surveys.models import Response
from portal.timeutil import utcnow

#: Account NPS compares the last QUARTER against the one before.
QUARTER = timedelta(days=90)
#: After an account-drop task, no new one for the same account for this long (a dismissed
#: drop would otherwise come back with the next answer, the trend being still the same).
DROP_COOLDOWN = timedelta(days=30)
#: Which reason names the task when several rules matched (first wins).
_REASON_ORDER = (RuleKind.KEYWORDS, RuleKind.SCORE_DROP, RuleKind.DETRACTOR, RuleKind.LOW_CSAT, RuleKind.ACCOUNT_DROP)


def previous_nps(response: Response) -> int | None:
    """The contact's NPS answer before this response, or None."""
    return db.session.scalar(
        select(Response.nps_score)
        .where(
            Response.contact_id == response.contact_id,
            Response.id != response.id,
            Response.nps_score.is_not(None),
            or_(Response.created_at < response.created_at, (Response.created_at == response.created_at) & (Response.id < response.id)),
        )
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(1)
    )


def _can_own(user: StaffUser | None) -> bool:
    return user is not None and user.active and user.role in Role.CUSTOMER_FACING


def _assignee_for(account: Account, rules_: list[AlertRule]) -> StaffUser | None:
    """No task without an owner: the account's manager, else the owner of the account's
    region, else a matched rule's fallback, else the first active administrator
    (by name). None only when the portal has no active administrator at all."""
    candidates = (  # read one after the other, only as far as needed
        lambda: account.account_manager,
        lambda: region_owner(account.region),
        *(lambda rule=rule: rule.fallback_user for rule in rules_),
    )
    owner = next((user for user in (candidate() for candidate in candidates) if _can_own(user)), None)
    if owner is not None:
        return owner
    return db.session.scalar(
        select(StaffUser).where(StaffUser.role == Role.ADMIN, StaffUser.active.is_(True)).order_by(func.lower(StaffUser.name), StaffUser.id).limit(1)
    )


def _title_values(account: Account, kinds: list[str], response: Response | None, previous: int | None, keywords: list[str]) -> dict:
    reason_kind = next(kind for kind in _REASON_ORDER if kind in kinds)
    values: dict[str, Any] = {"account": account.name}
    if reason_kind == RuleKind.KEYWORDS:
        values.update(reason="keywords", keywords=keywords)
    elif reason_kind == RuleKind.SCORE_DROP:
        values.update(reason="drop", score=response.nps_score, previous=previous)
    elif reason_kind == RuleKind.DETRACTOR:
        values.update(reason="nps", score=response.nps_score)
    elif reason_kind == RuleKind.LOW_CSAT:
        values.update(reason="csat", score=response.csat_score)
    else:
        values.update(reason="account_drop")
    if response is not None:
        values.setdefault("score", response.nps_score if response.nps_score is not None else response.csat_score)
    return values


def _highest(priorities: Iterable[str]) -> str:
    return max(priorities, key=lambda p: Priority.RANK.get(p, 0), default=Priority.NORMAL)


def evaluate_response(response: Response, now: datetime | None = None, *, new_response: bool = False) -> Task | None:
    """Run every enabled rule against a response (after each answer step): create
    or update THE task of this response, and check the account for a significant
    NPS fall. The response's task (or None when no rule matched).

    Safe to run again: the task is found by its response. Two first tasks at once
    fail on the unique response_id, and ``run_in_transaction`` runs the answer again.
    ``new_response``: the response was inserted in this transaction (its first
    answer), so no task can refer to it yet and none is looked for."""
    now = now or utcnow()
    all_rules = enabled_rules()
    previous = previous_nps(response) if response.nps_score is not None else None
    texts = response_texts(response)
    matched = [rule for rule in all_rules if rule.kind != RuleKind.ACCOUNT_DROP and matches(rule, response, previous, texts)]
    task = None if new_response else db.session.scalar(select(Task).where(Task.response_id == response.id).execution_options(populate_existing=True))
    if matched:
        keywords = sorted({k for rule in matched if rule.kind == RuleKind.KEYWORDS for k in matching_keywords(rule.keywords, texts)})
        if task is None:
            task = _create_task(response, matched, previous, keywords, now)
        else:
            _update_task(task, response, matched, previous, keywords, now)
            emails.refresh_task_notification(task, now)
    elif task is not None:
        emails.refresh_task_notification(task, now)
    drop_rule = next((rule for rule in all_rules if rule.kind == RuleKind.ACCOUNT_DROP), None)
    if drop_rule is not None and response.nps_score is not None:  # only NPS answers move the account's NPS
        check_account_drop(response.account, now, rule=drop_rule)
    return task


def _create_task(response: Response, matched: list[AlertRule], previous: int | None, keywords: list[str], now: datetime, notify: bool = True) -> Task:
    account = response.account
    kinds = [rule.kind for rule in matched]
    assignee = _assignee_for(account, matched)
    days = [rule.follow_up_days for rule in matched if rule.follow_up_days]
    task = Task(
        account_id=account.id,
        contact_id=response.contact_id,
        response_id=response.id,
        title_values=_title_values(account, kinds, response, previous, keywords),
        rule_kinds=kinds,
        status=TaskStatus.OPEN,
        priority=_highest(rule.priority for rule in matched),
        assignee_id=assignee.id if assignee else None,
        due_at=now + timedelta(hours=min(rule.due_hours for rule in matched)),
        created_at=now,
        updated_at=now,
        follow_up_days=min(days) if days else None,
    )
    db.session.add(task)
    db.session.flush()  # a second task for this response fails here (unique response_id)
    for rule in matched:
        db.session.add(TaskRule(task_id=task.id, rule_id=rule.id))
    db.session.flush()
    if notify and assignee is not None and any(rule.notify_email for rule in matched):
        emails.send_task_notification(task, assignee, now)
    return task


def task_for_response(response: Response, now: datetime | None = None, notify: bool = True) -> Task | None:
    """A new task for a response the rules match, without the account check (the demo's
    history); None when no rule matches or the response has its task already."""
    now = now or utcnow()
    if db.session.scalar(select(Task.id).where(Task.response_id == response.id)):
        return None
    previous = previous_nps(response) if response.nps_score is not None else None
    texts = response_texts(response)
    matched = [rule for rule in enabled_rules() if rule.kind != RuleKind.ACCOUNT_DROP and matches(rule, response, previous, texts)]
    if not matched:
        return None
    keywords = sorted({k for rule in matched if rule.kind == RuleKind.KEYWORDS for k in matching_keywords(rule.keywords, texts)})
    return _create_task(response, matched, previous, keywords, now, notify=notify)


def _update_task(task: Task, response: Response, matched: list[AlertRule], previous: int | None, keywords: list[str], now: datetime) -> None:
    """A later step of the same response (the comment after the score) may match more rules."""
    known = set(db.session.scalars(select(TaskRule.rule_id).where(TaskRule.task_id == task.id)))
    added = [rule for rule in matched if rule.id not in known]
    kinds = list(dict.fromkeys([*task.rule_kinds, *(rule.kind for rule in matched)]))
    title = _title_values(task.account, kinds, response, previous, keywords)
    if kinds != task.rule_kinds:
        task.rule_kinds = kinds
    if title != task.title_values:
        task.title_values = title
    if not added:
        return
    for rule in added:
        db.session.add(TaskRule(task_id=task.id, rule_id=rule.id))
    task.priority = _highest([task.priority, *(rule.priority for rule in added)])
    if task.is_active:
        sooner = task.created_at + timedelta(hours=min(rule.due_hours for rule in added))
        task.due_at = min(task.due_at, sooner)
    days = [d for d in [task.follow_up_days, *(rule.follow_up_days for rule in added)] if d]
    task.follow_up_days = min(days) if days else None
    db.session.flush()


def check_account_drop(account: Account, now: datetime | None = None, rule: AlertRule | None = None, notify: bool = True) -> Task | None:
    """A new account-drop task when the account's NPS of the last 90 days fell
    significantly against the 90 before; None when there is none to create (no
    fall, rule disabled, a drop task active or recent)."""
    now = now or utcnow()
    if rule is None:
        ensure_rules()
        rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == RuleKind.ACCOUNT_DROP, AlertRule.enabled.is_(True)).order_by(AlertRule.id).limit(1))
        if rule is None:
            return None
    active = select(Task.id).where(Task.open_drop_account_id == account.id).limit(1).scalar_subquery()
    last = (
        select(func.max(Task.created_at))
        .join(TaskRule, TaskRule.task_id == Task.id)
        .join(AlertRule, AlertRule.id == TaskRule.rule_id)
        .where(Task.account_id == account.id, AlertRule.kind == RuleKind.ACCOUNT_DROP)
        .scalar_subquery()
    )
    active_id, last_drop = db.session.execute(select(active, last)).one()
    if active_id is not None:
        return None  # one is active
    if last_drop is not None and last_drop > now - DROP_COOLDOWN:
        return None
    before, current = _quarters_nps(account.id, now)
    if not is_significant_drop(before, current):
        return None
    assignee = _assignee_for(account, [rule])
    change = metrics.nps_change(before, current)
    task = Task(
        account_id=account.id,
        contact_id=None,
        response_id=None,
        open_drop_account_id=account.id,
        title_values={"reason": "account_drop", "account": account.name, "nps": current.nps, "previous": before.nps, "delta": change.delta},
        rule_kinds=[RuleKind.ACCOUNT_DROP],
        status=TaskStatus.OPEN,
        priority=rule.priority,
        assignee_id=assignee.id if assignee else None,
        due_at=now + timedelta(hours=rule.due_hours),
        created_at=now,
        updated_at=now,
        follow_up_days=None,
    )
    try:
        with db.session.begin_nested():  # another transaction may have opened it a moment ago
            db.session.add(task)
            db.session.flush()
            db.session.add(TaskRule(task_id=task.id, rule_id=rule.id))
            db.session.flush()
    except IntegrityError:
        return None
    if notify and assignee is not None and rule.notify_email:
        emails.send_task_notification(task, assignee, now)
    return task


def _quarters_nps(account_id: int, now: datetime) -> tuple[metrics.NpsFigures, metrics.NpsFigures]:
    """The account's NPS of the 90 days before the last 90, and of the last 90, in
    one statement: what ``reports.account_nps`` gives for each (each contact's
    latest NPS answer in the period counts once)."""

    def latest(start: datetime, end: datetime):
        return (
            select(Response.nps_score)
            .where(Response.contact_id == Contact.id, Response.nps_score.is_not(None), Response.created_at >= start, Response.created_at < end)
            .order_by(Response.created_at.desc(), Response.id.desc())
            .limit(1)
            .correlate(Contact)
            .scalar_subquery()
        )

    rows = db.session.execute(select(latest(now - 2 * QUARTER, now - QUARTER), latest(now - QUARTER, now)).where(Contact.account_id == account_id)).all()
    return metrics.NpsFigures.of(b for b, _ in rows if b is not None), metrics.NpsFigures.of(c for _, c in rows if c is not None)


def accounts_to_check(now: datetime | None = None, days: int = 3) -> list[int]:
    """Accounts with answers in the last days (the hourly account-drop check)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Response.account_id).where(Response.created_at >= now - timedelta(days=days), Response.nps_score.is_not(None)).distinct()
        )
    )


def check_account_drops(now: datetime | None = None, days: int = 3) -> int:
    """The hourly check: new account-drop tasks for accounts that had answers lately."""
    now = now or utcnow()
    rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == RuleKind.ACCOUNT_DROP, AlertRule.enabled.is_(True)).limit(1))
    if rule is None:
        return 0
    created = 0
    for account_id in accounts_to_check(now, days):
        account = db.session.get(Account, account_id)
        if account is not None and check_account_drop(account, now, rule=rule) is not None:
            created += 1
    return created
