"""The staff dashboard (``/staff/``) and the health section of the account page.

What a staff member sees first depends on the role: an account manager their
portfolio ("your customers"), managers and admins the whole operator ("all
customers"), content editors their courses and the content check. Every figure
comes from the report cells (:func:`portal.reports.services.tallies`) or from
one index seek per contact (:func:`portal.reports.services.accounts_nps`);
the answers themselves are read only as the latest few comments, with LIMIT.

Other packages add panels (open and overdue follow-up tasks) through
:data:`DASHBOARD_PANELS`; the account page shows :func:`account_health_section`
through ``portal.customers.services.ACCOUNT_SECTIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.auth.models import Role, StaffUser
from portal.courses import services as courses
from portal.customers import services as customers
from portal.customers.models import Account, Contact, Ticket
from portal.extensions import db
from portal.reports import charts, services
from portal.reports.health import Health, HealthStatus
from portal.reports.metrics import Change, NpsFigures, nps_change
from portal.reports.models import ReportCell
from portal.reports.query import MAX_DAYS, ReportQuery
from portal.surveys import services as surveys
from portal.surveys.models import NPS_PASSIVE_MIN, Response, SurveyKind
from portal.timeutil import utcnow

PERIOD_DAYS = 90
TREND_WEEKS = 26
COMMENTS_READ = 40  # the newest comments read (LIMIT) ...
COMMENTS_SHOWN = 8  # ... of which these are shown, detractors first
AT_RISK_SHOWN = 8
ACCOUNT_COMMENTS_SHOWN = 20
ACCOUNT_CSAT_SHOWN = 20
ACCOUNT_QUARTERS = 4


# --- panels other packages add ---------------------------------------------------------------


@dataclass(frozen=True)
class DashboardPanel:
    """A box on the dashboard from another package: its heading, and either
    ``lines`` (text, link or None) that the dashboard lists, or a ``template``
    of the package that renders it (included with ``panel`` in its context)."""

    title: str
    lines: list[tuple[str, str | None]] = field(default_factory=list)
    template: str | None = None
    context: dict = field(default_factory=dict)
    order: int = 100


#: Functions of (user, now) returning a panel for that user, or None to show nothing.
#: portal/followups registers its open and overdue tasks here (from its subscribers.py).
DASHBOARD_PANELS: list[Callable[[StaffUser, datetime], DashboardPanel | None]] = []


# --- the sparkline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SparkPoint:
    label: str
    value: float | None
    n: int
    x: float
    y: float | None


@dataclass(frozen=True)
class Sparkline:
    """An NPS line on −100…100, drawn by the template as inline SVG."""

    points: list[SparkPoint]
    width: int
    height: int
    zero_y: float

    @property
    def lines(self) -> list[str]:
        """A polyline per run of periods with answers: a period without answers is a gap, not bridged."""
        return charts.polylines([p.x for p in self.points], [p.y for p in self.points])

    @property
    def dots(self) -> list[SparkPoint]:
        """The periods with answers that no line reaches (both neighbours have none)."""
        return [self.points[run[0]] for run in charts.runs([p.y for p in self.points]) if len(run) == 1]

    @property
    def last(self) -> SparkPoint | None:
        drawn = [p for p in self.points if p.y is not None]
        return drawn[-1] if drawn else None

    @property
    def has_line(self) -> bool:
        return sum(1 for p in self.points if p.y is not None) >= 2


def sparkline(values: list[tuple[str, float | None, int]], width: int = 240, height: int = 48, pad: int = 4) -> Sparkline:
    """Geometry of a line through (label, NPS or None, n) values, NPS −100…100."""

    def y_of(value: float) -> float:
        return round(pad + (100 - value) / 200 * (height - 2 * pad), 1)

    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = [
        SparkPoint(label, value, n, round(pad + i * step, 1), y_of(value) if value is not None else None)
        for i, (label, value, n) in enumerate(values)
    ]
    return Sparkline(points, width, height, y_of(0))


# --- the dashboard ----------------------------------------------------------------------------


class View:
    PORTFOLIO = "portfolio"  # an account manager: their accounts
    OPERATOR = "operator"  # managers and admins: every account
    CONTENT = "content"  # editors: courses


@dataclass(frozen=True)
class AtRisk:
    account_id: int
    name: str
    health: Health


@dataclass(frozen=True)
class ContentStatus:
    courses: int
    drafts: int
    errors: int
    warnings: int


@dataclass
class Dashboard:
    view: str
    start: date | None = None
    end: date | None = None
    query: ReportQuery | None = None
    nps: NpsFigures | None = None
    previous: NpsFigures | None = None
    change: Change | None = None
    sent: int = 0
    answered: int = 0
    rate: float | None = None
    trend: Sparkline | None = None
    comments: list[Response] = field(default_factory=list)
    at_risk: list[AtRisk] = field(default_factory=list)
    account_count: int = 0
    tickets: customers.TicketFigures | None = None
    renewals: list[Account] = field(default_factory=list)
    panels: list[DashboardPanel] = field(default_factory=list)
    content: ContentStatus | None = None

    @property
    def last_day(self) -> date | None:
        return self.end - timedelta(days=1) if self.end else None

    @property
    def can_see_accounts(self) -> bool:
        return self.view != View.CONTENT


def view_for(user: StaffUser) -> str:
    if user.role == Role.ACCOUNT_MANAGER:
        return View.PORTFOLIO
    if user.role in (Role.ADMIN, Role.MANAGER):
        return View.OPERATOR
    return View.CONTENT


def dashboard_for(user: StaffUser, now: datetime | None = None) -> Dashboard:
    """What a staff member sees first: their portfolio, the whole operator, or their courses."""
    now = now or utcnow()
    view = view_for(user)
    panels = sorted((p for p in (make(user, now) for make in DASHBOARD_PANELS) if p is not None), key=lambda p: p.order)
    if view == View.CONTENT:
        return Dashboard(view=view, panels=panels, content=content_status())
    directory = services.account_directory()
    query = ReportQuery.last_days(PERIOD_DAYS, today=now.date())
    if view == View.PORTFOLIO:
        query = query.but(account_managers=(user.email,))
    account_ids = [i.id for i in directory.values() if i.manager_email == user.email] if view == View.PORTFOLIO else None
    columns = services.NPS_COLUMNS + services.RATE_COLUMNS
    current = services.tallies(query, directory=directory, columns=columns).total
    before = services.tallies(query.previous(), directory=directory, columns=columns).total
    row, earlier = services.PeriodRow.of(None, current), services.PeriodRow.of(None, before)
    visible = customers.visible_accounts(user).with_only_columns(Account.id)
    return Dashboard(
        view=view,
        start=query.start,
        end=query.end,
        query=query,
        nps=row.nps,
        previous=earlier.nps,
        change=nps_change(earlier.nps, row.nps),
        sent=row.sent,
        answered=row.answered,
        rate=row.rate,
        trend=_trend(query, directory),
        comments=latest_comments(account_ids, now - timedelta(days=PERIOD_DAYS)),
        at_risk=accounts_at_risk(account_ids, directory, now),
        account_count=len(account_ids) if account_ids is not None else len(directory),
        tickets=customers.ticket_figures(visible, since=now - timedelta(days=30)),
        renewals=customers.upcoming_renewals(user),
        panels=panels,
    )


def _trend(query: ReportQuery, directory: dict) -> Sparkline:
    """Weekly NPS over the last 26 weeks (both periods of the comparison)."""
    end = query.end
    start = end - timedelta(weeks=TREND_WEEKS)
    start -= timedelta(days=start.weekday())  # whole ISO weeks
    found = services.tallies(query.but(start=start), interval="week", directory=directory, columns=services.NPS_COLUMNS)
    weeks = []
    day = start
    while day < end:
        year, week, _ = day.isocalendar()
        weeks.append(f"{year}-W{week:02d}")
        day += timedelta(weeks=1)
    values = []
    for label in weeks:
        counts = found.rows.get((label, None))
        figures = services.nps_figures(counts) if counts else NpsFigures(0, 0, 0, 0)
        values.append((label, figures.nps, figures.responses))
    return sparkline(values)


def latest_comments(account_ids: list[int] | None, since: datetime) -> list[Response]:
    """The newest comments since ``since``, detractors first, then by date.

    The report cells say which days of which accounts hold comments, so the
    answers read are those of a few account-days (an index range each), not
    every answer of the period."""
    cells = (
        select(ReportCell.day, ReportCell.account_id, ReportCell.comments)
        .where(ReportCell.day >= since.date(), ReportCell.comments > 0, ReportCell.survey_kind.in_(SurveyKind.REPORTED))
        .order_by(ReportCell.day.desc())
        .limit(2 * COMMENTS_READ)
    )
    if account_ids is not None:
        if not account_ids:
            return []
        cells = cells.where(ReportCell.account_id.in_(account_ids))
    days: set[tuple[date, int]] = set()
    found_comments = 0
    for day, account_id, comments in db.session.execute(cells):
        if found_comments >= COMMENTS_READ and (day, account_id) not in days:
            break
        days.add((day, account_id))
        found_comments += comments
    if not days:
        return []
    ranges = [
        and_(Response.account_id == account_id, Response.created_at >= datetime.combine(day, time.min), Response.created_at < datetime.combine(day + timedelta(days=1), time.min))
        for day, account_id in days
    ]
    statement = (
        select(Response)
        .where(or_(*ranges), Response.comment.is_not(None), Response.comment != "", Response.created_at >= since, surveys.reported())
        .options(joinedload(Response.account), joinedload(Response.contact))
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(COMMENTS_READ)
    )
    found = list(db.session.scalars(statement))
    detractors = [r for r in found if r.nps_score is not None and r.nps_score < NPS_PASSIVE_MIN]
    others = [r for r in found if r not in detractors]
    return (detractors + others)[:COMMENTS_SHOWN]


def accounts_at_risk(account_ids: list[int] | None, directory: dict, now: datetime) -> list[AtRisk]:
    """Accounts whose health is critical or at risk (:mod:`portal.reports.health`, every signal):
    critical first, then the most reasons, then the lowest NPS."""
    found = [
        AtRisk(account_id, directory[account_id].name, health)
        for account_id, health in services.accounts_health(account_ids, now).items()
        if health.at_risk and account_id in directory
    ]
    found.sort(key=lambda a: (HealthStatus.ORDER[a.health.status], -len(a.health.reasons), a.health.nps.nps if a.health.nps.nps is not None else 101, a.name))
    return found[:AT_RISK_SHOWN]


def content_status() -> ContentStatus:
    catalog = courses.get_catalog()
    all_courses = list(catalog.courses.values())
    return ContentStatus(
        courses=len(all_courses),
        drafts=sum(1 for c in all_courses if c.draft),
        errors=len(catalog.errors),
        warnings=len(catalog.warnings),
    )


# --- the account page's health section -------------------------------------------------------


@dataclass(frozen=True)
class ContactScore:
    contact: Contact
    nps: Response | None
    csat: Response | None


@dataclass(frozen=True)
class QuarterNps:
    start: datetime
    end: datetime
    nps: NpsFigures


@dataclass(frozen=True)
class AccountHealth:
    account: Account
    health: Health
    renewal_days: int | None
    contacts: list[ContactScore]
    quarters: list[QuarterNps]
    trend: Sparkline
    csat: list[Response]
    comments: list[Response]
    comment_count: int
    courses: courses.AccountCourseFigures
    today: date

    @property
    def history_args(self) -> dict[str, str]:
        """The query string of this account's answers over the longest period a report covers."""
        end = self.today + timedelta(days=1)
        return {"account": self.account.external_id, "from": (end - timedelta(days=MAX_DAYS)).isoformat(), "to": end.isoformat()}


def account_health(account: Account, now: datetime | None = None) -> AccountHealth:
    """Everything the account page's health section shows."""
    now = now or utcnow()
    quarters = [
        QuarterNps(start, end, services.account_nps(account.id, start, end))
        for back in range(ACCOUNT_QUARTERS - 1, -1, -1)
        for start, end in [(now - timedelta(days=PERIOD_DAYS * (back + 1)), now - timedelta(days=PERIOD_DAYS * back))]
    ]
    renewal = account.contract_renewal_on
    return AccountHealth(
        account=account,
        health=services.account_health(account, now),
        renewal_days=(renewal - now.date()).days if renewal else None,
        contacts=contact_scores(account),
        quarters=quarters,
        trend=sparkline([(f"{q.start:%Y-%m-%d}", q.nps.nps, q.nps.responses) for q in quarters]),
        csat=list(
            db.session.scalars(
                select(Response)
                .where(Response.account_id == account.id, Response.csat_score.is_not(None), Response.ticket_id.is_not(None))
                .options(selectinload(Response.contact))
                .order_by(Response.created_at.desc(), Response.id.desc())
                .limit(ACCOUNT_CSAT_SHOWN)
            )
        ),
        comments=list(
            db.session.scalars(
                select(Response)
                .where(Response.account_id == account.id, Response.comment.is_not(None), Response.comment != "", surveys.reported())
                .options(selectinload(Response.contact))
                .order_by(Response.created_at.desc(), Response.id.desc())
                .limit(ACCOUNT_COMMENTS_SHOWN)
            )
        ),
        comment_count=db.session.scalar(
            select(func.count()).where(Response.account_id == account.id, Response.comment.is_not(None), Response.comment != "", surveys.reported())
        )
        or 0,
        courses=courses.account_course_figures(account),
        today=now.date(),
    )


def tickets_of(responses: list[Response]) -> dict[int, Ticket]:
    ids = {r.ticket_id for r in responses if r.ticket_id}
    if not ids:
        return {}
    return {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}


def _latest(column, contact_id):
    return (
        select(Response.id)
        .where(Response.contact_id == contact_id, column.is_not(None), surveys.reported())
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(1)
        .correlate(Contact)
        .scalar_subquery()
    )


def contact_scores(account: Account) -> list[ContactScore]:
    """Each contact's latest NPS and CSAT answer (one index seek each)."""
    rows = db.session.execute(
        select(Contact, _latest(Response.nps_score, Contact.id), _latest(Response.csat_score, Contact.id))
        .where(Contact.account_id == account.id)
        .order_by(Contact.name, Contact.id)
    ).all()
    ids = {i for _c, a, b in rows for i in (a, b) if i}
    responses = {r.id: r for r in db.session.scalars(select(Response).where(Response.id.in_(ids)))} if ids else {}
    return [ContactScore(contact, responses.get(nps_id), responses.get(csat_id)) for contact, nps_id, csat_id in rows]


def account_health_section(account: Account) -> dict:
    """The account page's health section (registered in customers.ACCOUNT_SECTIONS)."""
    health = account_health(account)
    return {"template": "reports/account_health.html", "health": health, "health_tickets": tickets_of(health.csat)}


def register() -> None:
    """Show the health section on the account page (once)."""
    if account_health_section not in customers.ACCOUNT_SECTIONS:
        customers.ACCOUNT_SECTIONS.append(account_health_section)
