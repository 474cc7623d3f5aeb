"""The loop report: how fast tasks got a first action, within the SLA or not,
and how many customers recovered, in total, by assignee and by rule."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from portal.auth.models import StaffUser
from portal.extensions import db
from portal.followups.lists import visible_tasks
from portal.followups.models import RuleKind, Task
from portal.surveys import recovery as recovery_survey
from portal.timeutil import parse_day, utcnow


@dataclass(frozen=True)
class LoopFilters:
    start: date
    end: date  # inclusive

    @classmethod
    def default(cls, today: date | None = None) -> LoopFilters:
        today = today or utcnow().date()
        return cls(today - timedelta(days=89), today)


@dataclass
class LoopRow:
    key: str | int | None
    label: str
    tasks: int = 0
    with_first_action: int = 0
    within_sla: int = 0
    hours_to_first_action: list[float] = field(default_factory=list)
    followed_up: int = 0  # tasks whose follow-up survey was answered: the n of the recovery rate
    recovered: int = 0
    scores: list[int] = field(default_factory=list)  # the recovery survey's satisfaction (1–5)

    @property
    def sla_share(self) -> float | None:
        return round(100 * self.within_sla / self.tasks, 1) if self.tasks else None

    @property
    def median_hours(self) -> float | None:
        return round(statistics.median(self.hours_to_first_action), 1) if self.hours_to_first_action else None

    @property
    def recovery_rate(self) -> float | None:
        return round(100 * self.recovered / self.followed_up, 1) if self.followed_up else None

    @property
    def recovery_score(self) -> float | None:
        """The mean satisfaction (1–5) given in the recovery survey; its n is ``len(scores)``."""
        return round(statistics.fmean(self.scores), 1) if self.scores else None

    def add(self, task: Task, outcome: recovery_survey.Recovery | None) -> None:
        recovered = outcome.recovered if outcome else None
        self.tasks += 1
        if task.first_action_at is not None:
            self.with_first_action += 1
            self.hours_to_first_action.append((task.first_action_at - task.created_at).total_seconds() / 3600)
            if task.first_action_at <= task.due_at:
                self.within_sla += 1
        if recovered is not None:
            self.followed_up += 1
            self.recovered += bool(recovered)
        if outcome is not None and outcome.score is not None:
            self.scores.append(outcome.score)


@dataclass
class LoopReport:
    start: date
    end: date
    total: LoopRow
    by_assignee: list[LoopRow]
    by_rule: list[LoopRow]


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def loop_report(start: date | datetime, end: date | datetime, user: StaffUser) -> LoopReport:
    """Tasks created from ``start`` to ``end`` (dates: inclusive) that the user may see:
    first action within the SLA, median time to it, recovery rate with its n;
    by assignee and by rule (a task that matched two rules counts under both)."""
    begin = _as_datetime(start)
    finish = _as_datetime(end) if isinstance(end, datetime) else datetime.combine(end + timedelta(days=1), time())
    tasks = list(
        db.session.scalars(
            visible_tasks(user)
            .where(Task.created_at >= begin, Task.created_at < finish)
            .options(selectinload(Task.assignee), selectinload(Task.response))
        )
    )
    follow_ups = recovery_survey.follow_up_responses([t.follow_up_invitation_id for t in tasks if t.follow_up_invitation_id])
    total = LoopRow(None, _("All tasks"))
    by_assignee: dict[Any, LoopRow] = {}
    by_rule: dict[str, LoopRow] = {}
    for task in tasks:
        outcome = recovery_survey.outcome(task.response, follow_ups.get(task.follow_up_invitation_id))
        total.add(task, outcome)
        key = task.assignee_id
        if key not in by_assignee:
            by_assignee[key] = LoopRow(key, task.assignee.name if task.assignee else _("Unassigned"))
        by_assignee[key].add(task, outcome)
        for kind in dict.fromkeys(task.rule_kinds or []):
            if kind not in by_rule:
                by_rule[kind] = LoopRow(kind, str(RuleKind.LABELS.get(kind, kind)))
            by_rule[kind].add(task, outcome)
    rule_order = {kind: n for n, kind in enumerate(RuleKind.ALL)}
    return LoopReport(
        start=begin.date(),
        end=(finish - timedelta(days=1)).date() if not isinstance(end, datetime) else end.date(),
        total=total,
        by_assignee=sorted(by_assignee.values(), key=lambda row: (row.key is None, row.label.casefold())),
        by_rule=sorted(by_rule.values(), key=lambda row: rule_order.get(row.key, 99)),
    )


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


def loop_period(start: str | None, end: str | None, today: date | None = None) -> Period | None:
    """The loop report's period from the query string (default: the last 90 days); None when invalid."""
    default = LoopFilters.default(today)
    try:
        first = parse_day(start) if start else default.start
        last = parse_day(end) if end else default.end
    except ValueError:
        return None
    if first > last or (last - first).days > 3660:
        return None
    return Period(first, last)
