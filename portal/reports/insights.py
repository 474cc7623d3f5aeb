"""Insight the usual tools lack (``/staff/reports/insights``): what drives
satisfaction, each as a table with its n and small samples flagged.

- CSAT by ticket category (report cells);
- CSAT by the ticket's resolution time and by its first-response time, in
  buckets (< 4 h, < 1 day, < 3 days, longer): post-ticket answers joined with
  their tickets, counted in SQL per bucket and score (never row by row);
- NPS by service type (report cells, an account with several types counts in each);
- NPS of accounts where someone completed an onboarding course against the others.

Every table takes the same :class:`~portal.reports.query.ReportQuery` as the
reports page, so its filters and period mean the same here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import ColumnElement, case, func, literal_column, or_, select

from portal.auth.models import StaffUser
from portal.customers.models import Ticket
from portal.extensions import db
from portal.courses import services as courses
from portal.reports import services
from portal.reports.metrics import SMALL_SAMPLE, CsatFigures, NpsFigures
from portal.reports.models import COUNT_COLUMNS
from portal.reports.query import ReportQuery
from portal.surveys.models import Response, Survey
from portal.web.i18n import lazy_gettext as _l

TABLES = ("ticket_category", "resolution_time", "first_response_time", "service_type", "courses")

#: (key, label, upper bound in hours; None: no bound)
TIME_BUCKETS = (
    ("lt_4h", _l("under 4 hours"), 4),
    ("lt_1d", _l("under 1 day"), 24),
    ("lt_3d", _l("under 3 days"), 72),
    ("longer", _l("3 days or longer"), None),
)
NO_TIME = ("unknown", _l("not recorded"))


@dataclass(frozen=True)
class InsightRow:
    key: str
    label: str
    n: int
    value: float | None  # CSAT in % or NPS
    mean: float | None = None  # CSAT mean (1–5)
    low: float | None = None  # NPS 95 % interval
    high: float | None = None
    accounts: int | None = None  # how many accounts the row covers

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


@dataclass(frozen=True)
class InsightTable:
    name: str
    title: str
    description: str
    metric: str  # "csat" or "nps"
    rows: list[InsightRow]

    @property
    def n(self) -> int:
        return sum(row.n for row in self.rows)


@dataclass(frozen=True)
class Insights:
    query: ReportQuery
    tables: list[InsightTable]

    def table(self, name: str) -> InsightTable:
        return next(t for t in self.tables if t.name == name)


def query_for(user: StaffUser, args: Mapping, today=None) -> ReportQuery:
    return services.query_for(user, args, today)


def insights(query: ReportQuery, tables: tuple[str, ...] = TABLES, *, directory: dict | None = None) -> Insights:
    """The tables asked for: the ticket-time tables from one pass over the answers, the
    others from one read of the cells (by account and ticket category), however many."""
    directory = directory if directory is not None else services.account_directory()
    built: dict[str, InsightTable] = {}
    if set(tables) & set(_TIME_TABLES):
        built.update(csat_by_ticket_times(query, directory))
    builders = {"ticket_category": csat_by_category, "service_type": nps_by_service_type, "courses": nps_by_onboarding}
    cells = services.account_category_cells(query, directory) if set(tables) & set(builders) else {}
    return Insights(query, [built[name] if name in built else builders[name](query, directory, cells) for name in tables])


# --- CSAT by ticket category (cells) --------------------------------------------------------------


def _csat_row(key: str, label: str, figures: CsatFigures) -> InsightRow:
    return InsightRow(key, label, figures.responses, figures.csat, figures.mean)


def _nps_row(key: str, label: str, figures: NpsFigures, accounts: int | None = None) -> InsightRow:
    low, high = figures.interval if figures.responses else (None, None)
    return InsightRow(key, label, figures.responses, figures.nps, low=low, high=high, accounts=accounts)


def csat_by_category(query: ReportQuery, directory: dict, cells: dict | None = None) -> InsightTable:
    found = services.regrouped(services.account_category_cells(query, directory) if cells is None else cells, "ticket_category", directory)
    rows = []
    for (_period, group), counts in found.rows.items():
        figures = services.csat_figures(counts)
        if figures.responses:
            rows.append(_csat_row(group or "", services.group_label("ticket_category", group, directory), figures))
    rows.sort(key=lambda r: (-r.n, r.label))
    return InsightTable(
        "ticket_category",
        str(_l("CSAT by ticket category")),
        str(_l("Share of satisfied answers (4–5 on 1–5) to the surveys after a ticket, per ticket category.")),
        "csat",
        rows,
    )


# --- CSAT by resolution and first-response time (answers joined with tickets) ----------------------


def _hours(later, earlier) -> ColumnElement:
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / literal_column("3600")
    return (func.julianday(later) - func.julianday(earlier)) * literal_column("24")


def _bucket(later, earlier) -> ColumnElement:
    """The bucket's position in TIME_BUCKETS (literals only, so PostgreSQL can group by it); -1: not recorded
    (no such time, or no opening time: see Ticket.opened_known)."""
    hours = _hours(later, earlier)
    whens = [(or_(later.is_(None), Ticket.opened_at == Ticket.closed_at), literal_column("-1"))]
    whens += [(hours < literal_column(str(bound)), literal_column(str(i))) for i, (_key, _label, bound) in enumerate(TIME_BUCKETS) if bound]
    return case(*whens, else_=literal_column(str(len(TIME_BUCKETS) - 1)))


_TIME_TABLES = {
    "resolution_time": (
        _l("CSAT by resolution time"),
        _l("Post-ticket answers by how long the ticket took from opening to closing."),
    ),
    "first_response_time": (
        _l("CSAT by first-response time"),
        _l("Post-ticket answers by how long the customer waited for the first reply."),
    ),
}


def csat_by_ticket_times(query: ReportQuery, directory: dict) -> dict[str, InsightTable]:
    """CSAT by resolution-time and by first-response-time bucket, from one
    pass over the period's CSAT answers joined with their tickets."""
    resolution, first_response = _bucket(Ticket.closed_at, Ticket.opened_at), _bucket(Ticket.first_response_at, Ticket.opened_at)
    statement = (
        select(resolution, first_response, Response.csat_score, func.count())
        .select_from(Response)
        .join(Ticket, Ticket.id == Response.ticket_id)
        .where(
            Response.csat_score.is_not(None),
            Response.created_at >= datetime.combine(query.start, time.min),
            Response.created_at < datetime.combine(query.end, time.min),
        )
        .group_by(resolution, first_response, Response.csat_score)
    )
    accounts = services.selected_accounts(query, directory)
    if accounts is not None:
        statement = statement.where(Response.account_id.in_(accounts) if accounts else literal_column("1") == literal_column("0"))
    if query.survey_kinds:
        statement = statement.join(Survey, Survey.id == Response.survey_id).where(Survey.kind.in_(query.survey_kinds))
    if query.ticket_categories:
        statement = statement.where(Ticket.category.in_(query.ticket_categories))
    found = {name: defaultdict(lambda: CsatFigures(0, 0, 0)) for name in _TIME_TABLES}
    for by_resolution, by_first_response, score, n in db.session.execute(statement):
        satisfied = CsatFigures.of([score]).satisfied
        for name, position in (("resolution_time", by_resolution), ("first_response_time", by_first_response)):
            before = found[name][int(position)]
            found[name][int(position)] = CsatFigures(before.responses + n, before.satisfied + n * satisfied, before.total + n * score)
    tables = {}
    for name, (title, description) in _TIME_TABLES.items():
        buckets = found[name]
        rows = [_csat_row(key, str(label), buckets[i]) for i, (key, label, _bound) in enumerate(TIME_BUCKETS)]
        if buckets.get(-1):
            rows.append(_csat_row(NO_TIME[0], str(NO_TIME[1]), buckets[-1]))
        tables[name] = InsightTable(name, str(title), str(description), "csat", rows)
    return tables


def csat_by_resolution_time(query: ReportQuery, directory: dict) -> InsightTable:
    return csat_by_ticket_times(query, directory)["resolution_time"]


def csat_by_first_response_time(query: ReportQuery, directory: dict) -> InsightTable:
    return csat_by_ticket_times(query, directory)["first_response_time"]


# --- NPS by service type (cells) ---------------------------------------------------------------------


def nps_by_service_type(query: ReportQuery, directory: dict, cells: dict | None = None) -> InsightTable:
    found = services.regrouped(services.account_category_cells(query, directory) if cells is None else cells, "service_type", directory)
    rows = []
    for (_period, group), counts in found.rows.items():
        figures = services.nps_figures(counts)
        if figures.responses:
            rows.append(_nps_row(group or "", services.group_label("service_type", group, directory), figures))
    rows.sort(key=lambda r: (-r.n, r.label))
    return InsightTable(
        "service_type",
        str(_l("NPS by service type")),
        str(_l("An account with several service types counts in each of them.")),
        "nps",
        rows,
    )


# --- NPS with and without a completed onboarding course ------------------------------------------------


def nps_by_onboarding(query: ReportQuery, directory: dict, cells: dict | None = None) -> InsightTable:
    completed = courses.accounts_with_completed_course()
    by_external = {info.external_id: info.id for info in directory.values()}
    found = services.regrouped(services.account_category_cells(query, directory) if cells is None else cells, "account", directory)
    sums = {True: [0] * len(COUNT_COLUMNS), False: [0] * len(COUNT_COLUMNS)}
    accounts = {True: 0, False: 0}
    for (_period, external_id), counts in found.rows.items():
        group = by_external.get(external_id) in completed
        sums[group] = [a + b for a, b in zip(sums[group], counts, strict=True)]
        accounts[group] += services.nps_figures(counts).responses > 0
    rows = [
        _nps_row("completed", str(_l("Accounts with a completed onboarding course")), services.nps_figures(sums[True]), accounts[True]),
        _nps_row("not_completed", str(_l("Accounts without one")), services.nps_figures(sums[False]), accounts[False]),
    ]
    return InsightTable(
        "courses",
        str(_l("NPS and onboarding courses")),
        str(_l("An account counts as onboarded when at least one of its people completed every lesson of a course.")),
        "nps",
        rows,
    )


# --- CSV ---------------------------------------------------------------------------------------------


def csv_rows(table: InsightTable) -> tuple[list[str], list[list]]:
    """The table as CSV: machine names (exports.COLUMN_LABELS names them for people) and unformatted figures."""
    if table.metric == "csat":
        header = ["group", "responses", "csat", "csat_mean", "small_sample"]
        rows = [[r.label, r.n, r.value, r.mean, r.small_sample] for r in table.rows]
    else:
        header = ["group", "responses", "nps", "ci_low", "ci_high", "small_sample"]
        rows = [[r.label, r.n, r.value, r.low, r.high, r.small_sample] for r in table.rows]
        if table.name == "courses":
            header.insert(2, "accounts")
            for row, source in zip(rows, table.rows, strict=True):
                row.insert(2, source.accounts)
    return header, rows
