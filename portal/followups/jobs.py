"""What the worker runs for follow-ups: due follow-up surveys, the account-drop
check, the daily digest of overdue tasks and the managers' daily escalation of
unassigned and overdue tasks.

The worker calls every job on each round (every few seconds when idle); these
keep their own pace per worker process: follow-up surveys every minute, the
digest and escalation checks every five minutes (the service sends it once a day per person,
whichever worker gets there first), the account-drop check hourly (answers
check their own account at once; this catches the rest). Each job calls one
service, which flushes; the worker commits each run as one unit of work.
Tests pass ``now`` to travel in time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from portal.followups import digest, evaluation, recovery
from portal.timeutil import utcnow
from portal.worker import job

EVERY = {
    "followup_surveys": timedelta(minutes=1),
    "followup_digest": timedelta(minutes=5),
    "followup_escalation": timedelta(minutes=5),
    "followup_account_drops": timedelta(hours=1),
}
_last_run: dict[str, datetime] = {}


def _due(name: str, now: datetime) -> bool:
    """Has this job's interval passed in this process? (A clock set back counts as due.)"""
    last = _last_run.get(name)
    if last is not None and last <= now < last + EVERY[name]:
        return False
    _last_run[name] = now
    return True


@job("followup_surveys")
def follow_up_surveys(now: datetime | None = None) -> int:
    """Resolved tasks whose follow-up survey is due: invite the contact again."""
    now = now or utcnow()
    return recovery.send_due_follow_ups(now) if _due("followup_surveys", now) else 0


@job("followup_account_drops")
def account_drops(now: datetime | None = None) -> int:
    """Accounts with answers in the last days whose NPS fell significantly."""
    now = now or utcnow()
    return evaluation.check_account_drops(now) if _due("followup_account_drops", now) else 0


@job("followup_digest")
def overdue_digest(now: datetime | None = None) -> int:
    """The daily email of overdue tasks, per assignee."""
    now = now or utcnow()
    return digest.send_overdue_digest(now) if _due("followup_digest", now) else 0


@job("followup_escalation")
def escalation(now: datetime | None = None) -> int:
    """The daily email to the managers: tasks nobody owns, and overdue ones."""
    now = now or utcnow()
    return digest.send_escalations(now) if _due("followup_escalation", now) else 0
