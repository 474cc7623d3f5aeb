"""Who sees which tasks, and the task lists: the team view with its filters,
"My tasks", the counts on the navigation and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import Select, case, exists, false, func, or_, select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, StaffUser
from portal.customers.models import Account
from portal.extensions import db
from portal.followups.models import Activity, AlertRule, Priority, RuleKind, Task, TaskRule, TaskStatus
from portal.pagination import Page, paginate
from portal.timeutil import utcnow

TASKS_PER_PAGE = 25


def _portfolio(user: StaffUser):
    return select(Account.id).where(Account.account_manager_id == user.id)


def visible_tasks(user: StaffUser) -> Select:
    """Admins and managers: every task; account managers: their portfolio's and
    those assigned to them; anyone else: none."""
    query = select(Task)
    if user.role in (Role.ADMIN, Role.MANAGER):
        return query
    if user.role == Role.ACCOUNT_MANAGER:
        return query.where(or_(Task.account_id.in_(_portfolio(user)), Task.assignee_id == user.id))
    return query.where(false())


def can_view_task(user: StaffUser, task: Task) -> bool:
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    if user.role == Role.ACCOUNT_MANAGER:
        return task.assignee_id == user.id or task.account.account_manager_id == user.id
    return False


def get_task(user: StaffUser, task_id: int) -> Task | None:
    """The task, if it exists and the user may see it (the view answers 404 otherwise)."""
    return db.session.scalar(
        visible_tasks(user)
        .where(Task.id == task_id)
        .options(
            selectinload(Task.account),
            selectinload(Task.contact),
            selectinload(Task.assignee),
            selectinload(Task.rules),
            selectinload(Task.activities).selectinload(Activity.author),
        )
    )


def overdue_clause(now: datetime):
    return Task.status.in_(TaskStatus.ACTIVE) & (Task.due_at < now)


def is_overdue(task: Task, now: datetime | None = None) -> bool:
    return task.is_active and task.due_at < (now or utcnow())


@dataclass
class TaskFilters:
    """The team view's filters; an empty ``statuses`` means every status
    (the page's form starts with the active ones: open work)."""

    statuses: list[str] = field(default_factory=list)
    overdue: bool = False
    rule_kind: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False  # the queue of tasks nobody owns
    account_id: int | None = None
    page: int = 1


def _sorted(query: Select, now: datetime) -> Select:
    rank = case(Priority.RANK, value=Task.priority, else_=0)
    return query.order_by(case((overdue_clause(now), 0), else_=1), rank.desc(), Task.due_at, Task.id)


def list_tasks(user: StaffUser, filters: TaskFilters, now: datetime | None = None) -> Page[Task]:
    """The team view: overdue first, then by priority, then by due date."""
    now = now or utcnow()
    query = visible_tasks(user).options(selectinload(Task.account), selectinload(Task.assignee), selectinload(Task.contact))
    statuses = [s for s in filters.statuses if s in TaskStatus.ALL]
    if statuses:
        query = query.where(Task.status.in_(statuses))
    if filters.overdue:
        query = query.where(overdue_clause(now))
    if filters.rule_kind in RuleKind.ALL:
        query = query.where(
            exists().where(TaskRule.task_id == Task.id, TaskRule.rule_id == AlertRule.id, AlertRule.kind == filters.rule_kind)
        )
    if filters.unassigned:
        query = query.where(Task.assignee_id.is_(None))
    elif filters.assignee_id:
        query = query.where(Task.assignee_id == filters.assignee_id)
    if filters.account_id:
        query = query.where(Task.account_id == filters.account_id)
    return paginate(_sorted(query, now), filters.page, TASKS_PER_PAGE)


def _mine(user: StaffUser):
    return or_(Task.assignee_id == user.id, Task.assignee_id.is_(None) & Task.account_id.in_(_portfolio(user)))


def my_tasks(user: StaffUser, now: datetime | None = None, limit: int = 200) -> list[Task]:
    """Active tasks assigned to the user (and unassigned ones of their portfolio):
    overdue first, then what is due today, each by priority, then by due time."""
    now = now or utcnow()
    query = (
        select(Task)
        .where(Task.status.in_(TaskStatus.ACTIVE), _mine(user))
        .options(selectinload(Task.account), selectinload(Task.contact), selectinload(Task.assignee))
        .limit(limit)
    )
    tasks = list(db.session.scalars(query))
    end_of_day = datetime.combine(now.date() + timedelta(days=1), time())

    def key(task: Task):
        urgency = 0 if task.due_at < now else (1 if task.due_at < end_of_day else 2)
        return (urgency, -Priority.RANK.get(task.priority, 0), task.due_at, task.id)

    return sorted(tasks, key=key)


@dataclass(frozen=True)
class TaskCounts:
    active: int
    overdue: int
    unassigned: int = 0


def counts_for(user: StaffUser | None, now: datetime | None = None) -> TaskCounts:
    """For the navigation and the dashboard: an account manager's own tasks; everything for managers and admins."""
    if user is None or user.role not in Role.CUSTOMER_FACING:
        return TaskCounts(0, 0, 0)
    now = now or utcnow()
    query = select(func.count(Task.id), func.count(case((Task.due_at < now, 1))), func.count(case((Task.assignee_id.is_(None), 1)))).where(
        Task.status.in_(TaskStatus.ACTIVE)
    )
    if user.role == Role.ACCOUNT_MANAGER:
        query = query.where(_mine(user))
    active, overdue, unassigned = db.session.execute(query).one()
    return TaskCounts(active or 0, overdue or 0, unassigned or 0)


class View:
    MINE = "mine"
    TEAM = "team"


@dataclass
class TaskListing:
    view: str
    can_see_team: bool
    mine: list[Task] | None = None
    page: Page[Task] | None = None
    counts: TaskCounts | None = None
    now: datetime = field(default_factory=utcnow)


def task_listing(user: StaffUser, view: str | None, filters: TaskFilters, now: datetime | None = None) -> TaskListing:
    """Account managers land on "My tasks"; managers and admins on the team view.
    Anyone may switch (an account manager's team view is their portfolio)."""
    now = now or utcnow()
    if view not in (View.MINE, View.TEAM):
        view = View.MINE if user.role == Role.ACCOUNT_MANAGER else View.TEAM
    listing = TaskListing(view=view, can_see_team=True, counts=counts_for(user, now), now=now)
    if view == View.MINE:
        listing.mine = my_tasks(user, now)
    else:
        listing.page = list_tasks(user, filters, now)
    return listing
