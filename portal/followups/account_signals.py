"""What follow-ups tell about an account: its health signals for the reports
(cancellation words in comments, open and overdue tasks; registered in
:data:`portal.reports.health.HEALTH_SIGNALS`) and its tasks for the account page
(registered in :data:`portal.customers.services.ACCOUNT_SECTIONS`). Both from
``subscribers.py``; read only."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from portal.customers.models import Account
from portal.extensions import db
from portal.followups import lists, rules as alert_rules
from portal.followups.models import AlertRule, RuleKind, Task, TaskStatus
from portal.reports.health import Reason, Severity
from portal.surveys.models import Response
from portal.timeutil import utcnow

PERIOD = timedelta(days=90)
ACCOUNT_TASKS_SHOWN = 20


def cancellation_words() -> list[str]:
    """The words of the enabled keyword rules (the alert rules' cancellation words); the
    defaults while no keyword rule was ever made (they are seeded on first use, not on a read)."""
    rules = db.session.execute(select(AlertRule.enabled, AlertRule.keywords).where(AlertRule.kind == RuleKind.KEYWORDS)).all()
    if not rules:
        return list(alert_rules.DEFAULT_KEYWORDS)
    return sorted({word for enabled, keywords in rules if enabled for word in keywords or []})


def health_signals(account_ids: list[int] | None, now: datetime) -> dict[int, list[Reason]]:
    found: dict[int, list[Reason]] = defaultdict(list)
    words = cancellation_words()
    if words:
        comments = select(Response.account_id, Response.comment, Response.created_at).where(
            Response.created_at >= now - PERIOD, Response.created_at < now, Response.comment.is_not(None), Response.comment != ""
        )
        if account_ids is not None:
            comments = comments.where(Response.account_id.in_(account_ids))
        # one search per comment over all the words, the words named only for the comments that match
        anyone = re.compile("|".join(f"(?:{p.pattern})" for w in words if (p := alert_rules.keyword_pattern(w)) is not None))
        latest: dict[int, tuple[datetime, list[str]]] = {}
        for account_id, comment, at in db.session.execute(comments.order_by(Response.created_at)):
            if anyone.search(alert_rules.normalise(comment)) and (matched := alert_rules.matching_keywords(words, [comment])):
                latest[account_id] = (at, matched)
        for account_id, (at, matched) in latest.items():
            text = _("Cancellation words in a comment of %(date)s: %(words)s.", date=format_date(at, "medium"), words=", ".join(f"„{w}“" for w in matched))
            found[account_id].append(Reason(Severity.CRITICAL, text))
    tasks = select(Task.account_id, func.count(Task.id), func.count(case((Task.due_at < now, 1)))).where(Task.status.in_(TaskStatus.ACTIVE))
    if account_ids is not None:
        tasks = tasks.where(Task.account_id.in_(account_ids))
    for account_id, active, overdue in db.session.execute(tasks.group_by(Task.account_id)):
        text = ngettext("%(num)d open follow-up task", "%(num)d open follow-up tasks", active)
        if overdue:
            text += ", " + ngettext("%(num)d of them overdue", "%(num)d of them overdue", overdue)
        found[account_id].append(Reason(Severity.AT_RISK, text + "."))
    return found


def account_tasks_section(account: Account) -> dict:
    """The account page's tasks: active ones first (soonest due first), then the latest closed."""
    now = utcnow()
    active = Task.status.in_(TaskStatus.ACTIVE)
    statement = (
        select(Task)
        .where(Task.account_id == account.id)
        .options(selectinload(Task.assignee), selectinload(Task.account), selectinload(Task.contact))
        .order_by(case((active, 0), else_=1), case((active, Task.due_at), else_=None), Task.closed_at.desc(), Task.id.desc())
    )
    tasks = list(db.session.scalars(statement.limit(ACCOUNT_TASKS_SHOWN + 1)))
    total = db.session.scalar(select(func.count(Task.id)).where(Task.account_id == account.id)) or 0
    return {
        "template": "followups/account_tasks.html",
        "account_tasks": tasks[:ACCOUNT_TASKS_SHOWN],
        "account_task_count": total,
        "overdue_ids": {t.id for t in tasks if lists.is_overdue(t, now)},
        "status_labels": TaskStatus.LABELS,
    }
