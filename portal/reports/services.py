"""The figures of the reports: the one function the page, the CSV exports and
``GET /api/v1/reports/<metric>`` call (:func:`report`), segments with their
change against the previous period, account NPS and health, and the
satisfaction the read API returns.

Reports read the daily cells of :mod:`portal.reports.rollup`, never the
million answers behind them; the account's region, manager and service types
are joined when the report is read (they are the account's current values).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import add
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import false, func, select
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, StaffUser
from portal.customers import services as customers
from portal.customers.models import (
    SERVICE_TYPES,
    TICKET_CATEGORIES,
    Account,
    AccountService,
    Contact,
)
from portal.extensions import db
from portal.reports import health, rollup
from portal.reports.health import Health
from portal.reports.metrics import (
    Change,
    CsatFigures,
    NpsFigures,
    csat_score,
    nps_change,
    response_rate,
)
from portal.reports.models import COUNT_COLUMNS, CSAT_SCORES, NO_CATEGORY, NPS_SCORES, ReportCell, ReportChunk
from portal.reports.query import ParameterError, ReportQuery
from portal.surveys import services as surveys
from portal.surveys.models import Invitation, Response, SurveyKind, nps_category
from portal.timeutil import utcnow
from portal.web.i18n import N_

#: How far back the account figures of the read API look.
ACCOUNT_HISTORY = timedelta(days=730)
QUARTER = timedelta(days=90)

# --- reading the cells ------------------------------------------------------------------------

_NPS = slice(0, 11)
_CSAT = slice(11, 16)
_ANSWERS, _COMMENTS, _SENT, _ANSWERED = 16, 17, 18, 19
#: Dimensions that are properties of the account (joined when read), not of the cell.
ACCOUNT_DIMENSIONS = ("region", "service_type", "account_manager", "account")


@dataclass(frozen=True)
class AccountInfo:
    id: int
    external_id: str
    name: str
    region: str | None
    manager_email: str | None
    manager_name: str | None
    service_types: tuple[str, ...]


def account_directory() -> dict[int, AccountInfo]:
    """Every account with the attributes reports group and filter by (one small query each)."""
    services: dict[int, list[str]] = defaultdict(list)
    for account_id, service_type in db.session.execute(select(AccountService.account_id, AccountService.service_type)):
        services[account_id].append(service_type)
    rows = db.session.execute(
        select(Account.id, Account.external_id, Account.name, Account.region, StaffUser.email, StaffUser.name).outerjoin(
            StaffUser, StaffUser.id == Account.account_manager_id
        )
    )
    return {
        row[0]: AccountInfo(row[0], row[1], row[2], row[3], row[4], row[5], tuple(sorted(services.get(row[0], ()))))
        for row in rows
    }


def selected_accounts(query: ReportQuery, directory: dict[int, AccountInfo]) -> list[int] | None:
    """The ids of the accounts the query's account filters admit; None: no account filter."""
    if not (query.regions or query.service_types or query.account_managers or query.accounts or query.portfolio):
        return None
    regions, services, managers, accounts = set(query.regions), set(query.service_types), set(query.account_managers), set(query.accounts)
    return [
        info.id
        for info in directory.values()
        if (not regions or info.region in regions)
        and (not services or services.intersection(info.service_types))
        and (not managers or info.manager_email in managers)
        and (not accounts or info.external_id in accounts)
        and (query.portfolio is None or info.manager_email == query.portfolio)
    ]


def _spans(start: date, end: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Split [start, end) into whole chunks (read from report_chunks) and the
    days at its edges (read from report_cells)."""
    first = start if rollup.is_chunk_start(start) else rollup.chunk_of(start)[1]
    last = end if rollup.is_chunk_start(end) else rollup.chunk_of(end)[0]
    if first >= last:
        return None, [(start, end)]
    edges = [(a, b) for a, b in ((start, first), (last, end)) if a < b]
    return (first, last), edges


#: The count columns each figure needs: reading fewer columns is faster (the others stay 0).
NPS_COLUMNS = tuple(f"nps_{s}" for s in NPS_SCORES)
CSAT_COLUMNS = tuple(f"csat_{s}" for s in CSAT_SCORES)
RATE_COLUMNS = ("sent", "answered")
METRIC_COLUMNS = {
    "nps": NPS_COLUMNS,
    "csat": CSAT_COLUMNS,
    "response-rate": RATE_COLUMNS,
    "distribution": NPS_COLUMNS + CSAT_COLUMNS,
}


def _read(
    query: ReportQuery, account_ids: list[int] | None, *, period: str | None = None, keys: tuple[str, ...] = (), columns: tuple[str, ...] = COUNT_COLUMNS
) -> dict[tuple, list[int]]:
    """Summed counts per (period, *keys), keys among account_id, survey_kind, ticket_category;
    only ``columns`` are read, the others are 0."""
    positions = [COUNT_COLUMNS.index(c) for c in columns]
    chunks, days = _spans(query.start, query.end)
    parts = [(ReportChunk, ReportChunk.start, *chunks)] if chunks else []
    parts += [(ReportCell, ReportCell.day, a, b) for a, b in days]
    merged: dict[tuple, list[int]] = {}
    for model, day, start, end in parts:
        group = ([getattr(model, period)] if period else []) + [getattr(model, key) for key in keys]
        conditions = [day >= start, day < end, model.survey_kind.in_(SurveyKind.REPORTED)]  # never the recovery survey
        if account_ids is not None:
            conditions.append(model.account_id.in_(account_ids) if account_ids else false())
        if query.survey_kinds:
            conditions.append(model.survey_kind.in_(query.survey_kinds))
        if query.ticket_categories:
            conditions.append(model.ticket_category.in_(query.ticket_categories))
        statement = select(*group, *[func.sum(getattr(model, c)) for c in columns]).where(*conditions)
        width = len(group)
        for row in db.session.connection().execute(statement.group_by(*group) if group else statement):
            grouping = ((row[0] if period else None), *row[width - len(keys) : width])
            counts = [0] * len(COUNT_COLUMNS)
            for position, value in zip(positions, row[width:], strict=True):
                counts[position] = value or 0
            earlier = merged.get(grouping)
            merged[grouping] = list(map(add, earlier, counts)) if earlier else counts
    return merged


def _groups_of(dimension: str | None, value, directory: dict[int, AccountInfo]) -> Iterable:
    """The group value(s) a cell counts in: an account with several service types counts in each."""
    if dimension is None:
        return (None,)
    if dimension == "survey_kind":
        return (value,)
    if dimension == "ticket_category":
        return (value or None,)
    info = directory.get(value)
    if info is None:
        return ()
    if dimension == "region":
        return (info.region,)
    if dimension == "account_manager":
        return (info.manager_email,)
    if dimension == "account":
        return (info.external_id,)
    return info.service_types


def _cell_key(dimension: str | None) -> tuple[str, ...]:
    if dimension in ACCOUNT_DIMENSIONS:
        return ("account_id",)
    return (dimension,) if dimension else ()


@dataclass
class Tallies:
    """Counts per (period, group), and the total over everything selected (each answer once)."""

    rows: dict[tuple, list[int]]
    total: list[int]


def _regroup(read: dict[tuple, list[int]], dimension: str | None, position: int, directory: dict[int, AccountInfo]) -> Tallies:
    rows: dict[tuple, list[int]] = {}
    total = [0] * len(COUNT_COLUMNS)
    for grouping, counts in read.items():
        total = list(map(add, total, counts))
        value = grouping[position] if dimension else None
        for group in _groups_of(dimension, value, directory):
            key = (grouping[0], group)
            earlier = rows.get(key)
            rows[key] = list(map(add, earlier, counts)) if earlier else counts
    return Tallies(rows, total)


def tallies(
    query: ReportQuery, *, interval: str | None = None, group_by: str | None = None, directory: dict | None = None, columns: tuple[str, ...] = COUNT_COLUMNS
) -> Tallies:
    directory = directory if directory is not None else account_directory()
    read = _read(query, selected_accounts(query, directory), period=interval, keys=_cell_key(group_by), columns=columns)
    return _regroup(read, group_by, 1, directory)


def account_category_cells(query: ReportQuery, directory: dict[int, AccountInfo]) -> dict[tuple, list[int]]:
    """One read of the query's cells, every column, keyed (None, account_id, ticket_category):
    several tables of one page come from it with :func:`regrouped` instead of a read each."""
    return _read(query, selected_accounts(query, directory), keys=("account_id", "ticket_category"))


def regrouped(cells: dict[tuple, list[int]], dimension: str, directory: dict[int, AccountInfo]) -> Tallies:
    """What ``tallies(query, group_by=dimension)`` returns, from :func:`account_category_cells`."""
    return _regroup(_collapse(cells, 1 if dimension in ACCOUNT_DIMENSIONS else 2), dimension, 1, directory)


# --- figures from counts ------------------------------------------------------------------------


def nps_figures(counts: list[int]) -> NpsFigures:
    nps = counts[_NPS]
    return NpsFigures(sum(nps), nps[9] + nps[10], nps[7] + nps[8], sum(nps[:7]))


def csat_figures(counts: list[int]) -> CsatFigures:
    csat = counts[_CSAT]
    return CsatFigures(sum(csat), csat[3] + csat[4], sum(score * n for score, n in zip(CSAT_SCORES, csat, strict=True)))


def figures(metric: str, counts: list[int], scale: str = "nps") -> dict:
    """The API's figures of one row, from the summed cell counts."""
    if metric == "nps":
        return nps_figures(counts).as_dict()
    if metric == "csat":
        return csat_figures(counts).as_dict()
    if metric == "response-rate":
        return {"sent": counts[_SENT], "answered": counts[_ANSWERED], "rate": response_rate(counts[_SENT], counts[_ANSWERED])}
    scores, values = (NPS_SCORES, counts[_NPS]) if scale == "nps" else (CSAT_SCORES, counts[_CSAT])
    return {"responses": sum(values), "counts": {str(score): n for score, n in zip(scores, values, strict=True)}}


def _sort_key(item):
    (period, group), _counts = item
    return (period or "", group is None, str(group or ""))


def report(metric: str, query: ReportQuery, *, directory: dict | None = None, compare: str | None = None) -> dict:
    """One metric over a query: what ``GET /api/v1/reports/<metric>``, the reports page and the CSV share.

    ``compare="previous"`` (NPS only) adds to each row and the total the same group's
    figures in the period of the same length just before, the change and its 95 %
    interval, and whether it is significant (:func:`portal.reports.metrics.nps_change`)."""
    directory = directory if directory is not None else account_directory()
    found = tallies(query, interval=query.interval, group_by=query.group_by, directory=directory, columns=METRIC_COLUMNS[metric])
    keys = {key for key, counts in found.rows.items() if any(counts)}
    before = None
    if compare:
        if compare != "previous":
            raise ParameterError("compare", N_("must be previous"))
        if metric != "nps":
            raise ParameterError("compare", N_("works with the metric nps only"))
        if query.interval:
            raise ParameterError("compare", N_("cannot be combined with interval"))
        before = tallies(query.previous(), group_by=query.group_by, directory=directory, columns=NPS_COLUMNS)
        keys |= {key for key, counts in before.rows.items() if any(counts)}
    empty = [0] * len(COUNT_COLUMNS)

    def row(counts: list[int], previous: list[int] | None) -> dict:
        figures_now = figures(metric, counts, query.scale)
        if previous is None:
            return figures_now
        now, then = nps_figures(counts), nps_figures(previous)
        return {**figures_now, "previous": {k: v for k, v in then.as_dict().items() if k in PREVIOUS_FIELDS}, **nps_change(then, now).as_dict()}

    return {
        "metric": metric,
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        **({"compare": {"from": query.previous().start.isoformat(), "to": query.start.isoformat()}} if before else {}),
        "rows": [
            {"period": period, "group": group, **row(found.rows.get((period, group), empty), before.rows.get((period, group), empty) if before else None)}
            for (period, group) in sorted(keys, key=lambda key: _sort_key((key, None)))
        ],
        "total": row(found.total, before.total if before else None),
    }


#: What a row's ``previous`` holds under ``compare=previous``.
PREVIOUS_FIELDS = ("responses", "promoters", "passives", "detractors", "nps")


# --- the reports page: series, distribution, segments ------------------------------------------------


@dataclass(frozen=True)
class Segment:
    dimension: str
    group: str | None
    label: str
    now: NpsFigures
    before: NpsFigures
    change: Change


@dataclass(frozen=True)
class PeriodRow:
    period: str | None
    nps: NpsFigures
    csat: CsatFigures
    sent: int
    answered: int
    answers: int
    comments: int

    @property
    def rate(self) -> float | None:
        return response_rate(self.sent, self.answered)

    @classmethod
    def of(cls, period: str | None, counts: list[int]) -> PeriodRow:
        return cls(period, nps_figures(counts), csat_figures(counts), counts[_SENT], counts[_ANSWERED], counts[_ANSWERS], counts[_COMMENTS])


SEGMENT_DIMENSIONS = ("region", "service_type", "account_manager", "ticket_category")


@dataclass(frozen=True)
class Overview:
    query: ReportQuery
    interval: str
    series: list[PeriodRow]
    total: PeriodRow
    distribution: list[tuple[int, int]]
    csat_distribution: list[tuple[int, int]]
    segments: dict[str, list[Segment]]


def overview(query: ReportQuery, *, directory: dict | None = None) -> Overview:
    """Everything the reports page shows, from three reads of the cells: the
    series by period, and the segments now and in the period before."""
    directory = directory if directory is not None else account_directory()
    interval = query.interval or default_interval(query)
    accounts = selected_accounts(query, directory)
    by_period = _regroup(_read(query, accounts, period=interval), None, 0, directory)
    series = [PeriodRow.of(period, counts) for (period, _group), counts in sorted(by_period.rows.items(), key=_sort_key) if any(counts)]
    keys = ("account_id", "ticket_category")
    now = _read(query, accounts, keys=keys, columns=NPS_COLUMNS)
    before = _read(query.previous(), accounts, keys=keys, columns=NPS_COLUMNS)
    table = _segment_tables(now, before, directory)
    total = by_period.total
    return Overview(
        query=query,
        interval=interval,
        series=series,
        total=PeriodRow.of(None, total),
        distribution=list(zip(NPS_SCORES, total[_NPS], strict=True)),
        csat_distribution=list(zip(CSAT_SCORES, total[_CSAT], strict=True)),
        segments=table,
    )


def default_interval(query: ReportQuery) -> str:
    """Weeks up to four months, months up to two years, quarters beyond."""
    if query.days <= 125:
        return "week"
    return "month" if query.days <= 731 else "quarter"


def _collapse(read: dict[tuple, list[int]], position: int) -> dict[tuple, list[int]]:
    """Sum a read keyed (period, account_id, ticket_category) down to (None, key at ``position``)."""
    collapsed: dict[tuple, list[int]] = {}
    for grouping, counts in read.items():
        key = (None, grouping[position])
        earlier = collapsed.get(key)
        collapsed[key] = list(map(add, earlier, counts)) if earlier else counts
    return collapsed


def _segment_tables(now: dict, before: dict, directory: dict[int, AccountInfo], dimensions=SEGMENT_DIMENSIONS) -> dict[str, list[Segment]]:
    collapsed = {1: (_collapse(now, 1), _collapse(before, 1)), 2: (_collapse(now, 2), _collapse(before, 2))}
    tables = {}
    for dimension in dimensions:
        current, previous = collapsed[1 if dimension in ACCOUNT_DIMENSIONS else 2]
        tables[dimension] = _segments(dimension, current, previous, directory)
    return tables


def _segments(dimension: str, now: dict, before: dict, directory: dict[int, AccountInfo]) -> list[Segment]:
    current = _regroup(now, dimension, 1, directory).rows
    previous = _regroup(before, dimension, 1, directory).rows
    empty = [0] * len(COUNT_COLUMNS)
    result = []
    for (_period, group), counts in current.items():
        figures_now, figures_before = nps_figures(counts), nps_figures(previous.get((None, group), empty))
        if figures_now.responses:
            label = group_label(dimension, group, directory)
            result.append(Segment(dimension, group, label, figures_now, figures_before, nps_change(figures_before, figures_now)))
    result.sort(key=lambda s: (-s.now.responses, s.label))
    return result


def segments(query: ReportQuery, dimension: str, *, directory: dict | None = None) -> list[Segment]:
    """NPS per group of ``dimension`` with its interval and n, and whether it changed
    significantly against the period of the same length before."""
    directory = directory if directory is not None else account_directory()
    accounts = selected_accounts(query, directory)
    keys = ("account_id", "ticket_category")
    now, before = _read(query, accounts, keys=keys, columns=NPS_COLUMNS), _read(query.previous(), accounts, keys=keys, columns=NPS_COLUMNS)
    return _segment_tables(now, before, directory, (dimension,))[dimension]


def group_label(dimension: str, group: str | None, directory: dict[int, AccountInfo] | None = None) -> str:
    """How a group value reads on the page."""
    if group is None or group == "":
        return {
            "ticket_category": _("No ticket"),
            "region": _("No region"),
            "account_manager": _("No account manager"),
        }.get(dimension, _("None"))
    if dimension == "service_type":
        return str(SERVICE_TYPES.get(group, group))
    if dimension == "ticket_category":
        return str(TICKET_CATEGORIES.get(group, group))
    if dimension == "survey_kind":
        return str(SurveyKind.LABELS.get(group, group))
    for info in (directory or {}).values():
        if dimension == "account" and info.external_id == group:
            return info.name
        if dimension == "account_manager" and info.manager_email == group:
            return info.manager_name or group
    return group


@dataclass(frozen=True)
class FilterChoices:
    regions: list[str]
    service_types: list[tuple[str, str]]
    account_managers: list[tuple[str, str]]
    ticket_categories: list[tuple[str, str]]
    survey_kinds: list[tuple[str, str]]
    accounts: list[tuple[str, str]]


def filter_choices(directory: dict | None = None) -> FilterChoices:
    directory = directory if directory is not None else account_directory()
    infos = sorted(directory.values(), key=lambda i: i.name.casefold())
    managers = {i.manager_email: i.manager_name or i.manager_email for i in infos if i.manager_email}
    return FilterChoices(
        regions=sorted({i.region for i in infos if i.region}),
        service_types=[(value, str(label)) for value, label in SERVICE_TYPES.items()],
        account_managers=sorted(managers.items(), key=lambda m: m[1].casefold()),
        ticket_categories=[(value, str(label)) for value, label in TICKET_CATEGORIES.items()] + [(NO_CATEGORY, _("No ticket"))],
        survey_kinds=[(value, str(SurveyKind.LABELS[value])) for value in SurveyKind.REPORTED],
        accounts=[(i.external_id, i.name) for i in infos],
    )


# --- account NPS and health ------------------------------------------------------------------------


def account_nps(account_id: int, start: datetime, end: datetime) -> NpsFigures:
    """Account-level NPS for B2B: each contact's latest NPS answer in [start, end) counts once."""
    latest = (
        select(Response.nps_score)
        .where(
            Response.contact_id == Contact.id,
            Response.nps_score.is_not(None),
            Response.created_at >= start,
            Response.created_at < end,
        )
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(1)
        .correlate(Contact)
        .scalar_subquery()
    )
    scores = db.session.scalars(select(latest).where(Contact.account_id == account_id))
    return NpsFigures.of(s for s in scores if s is not None)


def _latest(column, start: datetime, end: datetime):
    """A contact's latest score in ``column`` in [start, end) (one index seek per contact)."""
    return (
        select(column)
        .where(Response.contact_id == Contact.id, column.is_not(None), Response.created_at >= start, Response.created_at < end)
        .where(surveys.reported())  # a recovery answer is no satisfaction figure
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(1)
        .correlate(Contact)
        .scalar_subquery()
    )


def _latest_scores_of(wanted: list[tuple[Any, datetime, datetime]], account_ids: list[int] | None) -> list[dict[int, list[int]]]:
    """For each (column, start, end): each contact's latest score in [start, end), per
    account; all of them in one statement (one pass over the contacts)."""
    statement = select(Contact.account_id, *(_latest(column, start, end) for column, start, end in wanted))
    if account_ids is not None:
        statement = statement.where(Contact.account_id.in_(account_ids) if account_ids else False)
    found: list[dict[int, list[int]]] = [defaultdict(list) for _ in wanted]
    for account_id, *scores in db.session.execute(statement):
        for into, score in zip(found, scores):
            if score is not None:
                into[account_id].append(score)
    return found


def _latest_scores(column, account_ids: list[int] | None, start: datetime, end: datetime) -> dict[int, list[int]]:
    """Each contact's latest score in ``column`` in [start, end), per account (one index seek per contact)."""
    return _latest_scores_of([(column, start, end)], account_ids)[0]


def accounts_nps(account_ids: list[int] | None, start: datetime, end: datetime) -> dict[int, NpsFigures]:
    """Account NPS of many accounts at once (one index seek per contact)."""
    return {account_id: NpsFigures.of(values) for account_id, values in _latest_scores(Response.nps_score, account_ids, start, end).items()}


def accounts_health(account_ids: list[int] | None, now: datetime | None = None) -> dict[int, Health]:
    """The health of many accounts (all when None) from every signal (:mod:`portal.reports.health`);
    accounts without any signal are left out (their status is "no answers yet")."""
    now = now or utcnow()
    nps_now, nps_before, csat = _latest_scores_of(
        [(Response.nps_score, now - QUARTER, now), (Response.nps_score, now - 2 * QUARTER, now - QUARTER), (Response.csat_score, now - QUARTER, now)],
        account_ids,
    )
    current = {account_id: NpsFigures.of(values) for account_id, values in nps_now.items()}
    before = {account_id: NpsFigures.of(values) for account_id, values in nps_before.items()}
    signals = health.signals_for(account_ids, now)
    statement = select(Account.id, Account.contract_renewal_on)
    if account_ids is not None:
        statement = statement.where(Account.id.in_(account_ids) if account_ids else false())
    empty = NpsFigures(0, 0, 0, 0)
    return {
        account_id: health.health_of(current.get(account_id, empty), before.get(account_id, empty), csat.get(account_id), signals.get(account_id), renewal, now.date())
        for account_id, renewal in db.session.execute(statement)
        if account_id in current or account_id in csat or account_id in signals or account_id in before
    }


def account_health(account: Account, now: datetime | None = None) -> Health:
    return health_by_account([account.id], now)[account.id]


def health_by_account(account_ids: list[int], now: datetime | None = None) -> dict[int, Health]:
    """Every given account's health, "no answers yet" for those without any signal (the accounts list)."""
    found = accounts_health(account_ids, now)
    empty = NpsFigures(0, 0, 0, 0)
    return {account_id: found.get(account_id) or health.health_of(empty, empty) for account_id in account_ids}


def health_choices() -> list[tuple[str, str]]:
    return [(status, str(health.HealthStatus.LABELS[status])) for status in health.HealthStatus.ALL]


@dataclass
class Dashboard:
    can_see_accounts: bool
    account_count: int = 0
    tickets: customers.TicketFigures | None = None
    renewals: list[Account] | None = None


def dashboard_for(user: StaffUser) -> Dashboard:
    """What a staff member sees first: scoped to the accounts they may see."""
    if user.role not in Role.CUSTOMER_FACING:
        return Dashboard(can_see_accounts=False)
    visible_ids = customers.visible_accounts(user).with_only_columns(Account.id)
    return Dashboard(
        can_see_accounts=True,
        account_count=customers.count_visible_accounts(user),
        tickets=customers.ticket_figures(visible_ids, since=utcnow() - timedelta(days=30)),
        renewals=customers.upcoming_renewals(user),
    )


# --- the read API (GET /api/v1/.../satisfaction) ---------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def ticket_satisfaction(external_id: str) -> dict | None:
    """The latest survey about a ticket and its answer, as the helpdesk reads it; None for an unknown ticket."""
    ticket = customers.ticket_by_external_id(external_id)
    if ticket is None:
        return None
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.ticket_id == ticket.id).options(selectinload(Invitation.response)).order_by(Invitation.id.desc())
    )
    response = invitation.response if invitation else None
    return {
        "ticket": ticket.external_id,
        "survey": {"status": invitation.status, "sent_at": _iso(invitation.sent_at)} if invitation else None,
        "response": _ticket_response(response) if response else None,
    }


def _ticket_response(response: Response) -> dict:
    return {
        "nps": response.nps_score,
        "nps_category": response.nps_category,
        "csat": response.csat_score,
        "comment": response.comment,
        "answered_at": _iso(response.created_at),
        "completed": response.completed_at is not None,
    }


def account_satisfaction(external_id: str, now: datetime | None = None) -> dict | None:
    """An account's NPS (each contact's latest score counts once) over the last 90
    days (the account page's figure) and 730 days, its trend over the last four
    90-day periods (each the same account NPS), CSAT of the last 90 days and recent
    comments, as the CRM reads them; None for an unknown account."""
    account = customers.account_by_external_id(external_id)
    if account is None:
        return None
    now = now or utcnow()
    responses = list(
        db.session.scalars(
            select(Response)
            .where(Response.account_id == account.id, Response.created_at >= now - ACCOUNT_HISTORY)
            .where(surveys.reported())
            .order_by(Response.created_at)
        )
    )
    latest_nps = {r.contact_id: r for r in responses if r.nps_score is not None}  # later answers replace earlier ones
    recent_csat = [r.csat_score for r in responses if r.csat_score is not None and r.created_at >= now - QUARTER]
    comments = [r for r in reversed(responses) if r.comment][:10]
    two_years = _windowed(NpsFigures.of(r.nps_score for r in latest_nps.values()), now - ACCOUNT_HISTORY, now)
    return {
        "account": account.external_id,
        "nps": two_years["nps"],  # kept for older clients: the same figure as nps_730_days.nps
        "nps_90_days": _windowed(account_nps(account.id, now - QUARTER, now), now - QUARTER, now),
        "nps_730_days": two_years,
        "contacts": _contact_scores(account, latest_nps),
        "trend": [_windowed(account_nps(account.id, start, end), start, end) for start, end in _quarter_bounds(now)],
        "csat_90_days": {"csat": csat_score(recent_csat), "responses": len(recent_csat)},
        "recent_comments": [{"text": r.comment, "nps": r.nps_score, "csat": r.csat_score, "answered_at": _iso(r.created_at)} for r in comments],
    }


def _contact_scores(account: Account, latest_nps: dict[int, Response]) -> list[dict]:
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.account_id == account.id))}
    return [
        {
            "contact": contacts[contact_id].external_id or contacts[contact_id].email,
            "nps": r.nps_score,
            "category": nps_category(r.nps_score),
            "answered_at": _iso(r.created_at),
        }
        for contact_id, r in latest_nps.items()
        if contact_id in contacts
    ]


def _quarter_bounds(now: datetime) -> list[tuple[datetime, datetime]]:
    """The last four 90-day periods, oldest first (as the account page's trend)."""
    return [(now - QUARTER * (back + 1), now - QUARTER * back) for back in range(3, -1, -1)]


def _windowed(figures: NpsFigures, start: datetime, end: datetime) -> dict:
    """An account NPS with the window it covers, as the read API names it."""
    return {"from": _iso(start), "to": _iso(end), **{k: v for k, v in figures.as_dict().items() if k in ("nps", "responses", "ci_low", "ci_high", "small_sample")}}


def query_for(user: StaffUser, args, today: date | None = None) -> ReportQuery:
    """The query of a reports page's query string: an account manager's default is
    their own portfolio (when the query string carries no filter at all). Raises ParameterError."""
    from portal.reports.query import FILTERS

    query = ReportQuery.from_args(args, today=today)
    if user.role == Role.ACCOUNT_MANAGER and not any(name in args for name in FILTERS):
        query = query.but(account_managers=(user.email,))
    return query


def readable_by(user: StaffUser, query: ReportQuery) -> ReportQuery:
    """``query`` as ``user`` may read it answer by answer (comments, contacts) and
    export it: an account manager reads figures for every account, but single
    answers and files of their own portfolio only, within the query's filters.
    Managers and admins read everything."""
    return query.but(portfolio=user.email) if user.role == Role.ACCOUNT_MANAGER else query
