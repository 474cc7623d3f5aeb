"""The answers behind a figure: the responses a report counted, with their
comments, newest first, a page at a time; also the comment explorer (score
group, category, survey, text search) and the raw-responses CSV.

Reads the responses table with the report's filters and LIMIT: a page never
aggregates, so it stays fast at a million answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, false, func, or_, select

from portal.customers.models import Account, Contact, Ticket
from portal.extensions import db
from portal.pagination import Page
from portal.reports import services
from portal.reports.models import NO_CATEGORY
from portal.reports.query import ParameterError, ReportQuery
from portal.surveys.models import CSAT_SATISFIED_MIN, NPS_PASSIVE_MIN, NPS_PROMOTER_MIN, Response, Survey, SurveyKind
from portal.web.search import contains
from portal.web.inputs import parse_int
from portal.web.i18n import N_

PER_PAGE = 25
#: Answers are counted up to this many ("10000+"), so a list over a wide period stays fast.
COUNT_CAP = 10_000
MAX_SEARCH = 100
#: Score groups a list can be narrowed to: "nps" and "csat" are every answer to that question.
GROUPS = ("nps", "promoter", "passive", "detractor", "csat", "satisfied", "unsatisfied")
#: One score a list can be narrowed to (the answers behind one bar of a distribution).
SCORES = {"nps_score": range(0, 11), "csat_score": range(1, 6)}


@dataclass(frozen=True)
class AnswerFilters:
    group: str | None = None
    search: str = ""
    with_comment: bool = False
    period: str | None = None  # narrows the query's dates to a period key (2026-11, 2026-W47, 2026-Q4)
    page: int = 1
    nps_score: int | None = None
    csat_score: int | None = None

    @classmethod
    def from_args(cls, args: Mapping) -> AnswerFilters:
        group = (args.get("group") or "").strip() or None
        if group is not None and group not in GROUPS:
            raise ParameterError("group", N_("must be one of %(values)s"), values=", ".join(GROUPS))
        search = (args.get("q") or "").strip()
        if len(search) > MAX_SEARCH:
            raise ParameterError("q", N_("at most %(count)d characters"), count=MAX_SEARCH)
        page = parse_int(args.get("page") or "1", low=1, high=1_000_000)  # not int(): "²" is a digit, 5,000 digits raise
        if page is None:
            raise ParameterError("page", N_("must be a page number"))
        scores = {}
        for name, allowed in SCORES.items():
            value = (args.get(name) or "").strip()
            score = parse_int(value, low=allowed.start, high=allowed.stop - 1)
            if value and score is None:
                raise ParameterError(name, N_("must be a score from %(low)d to %(high)d"), low=allowed.start, high=allowed.stop - 1)
            scores[name] = score
        return cls(group, search, args.get("comments") in ("1", "y", "on"), (args.get("period") or "").strip() or None, page, **scores)

    def args(self) -> dict:
        """The query-string arguments of these filters (without the page), for links and exports."""
        values = {"group": self.group, "q": self.search or None, "comments": "1" if self.with_comment else None, "period": self.period}
        return {**values, "nps_score": self.nps_score, "csat_score": self.csat_score}


def period_range(period: str) -> tuple[date, date] | None:
    """The days of a period key, [start, end); None for a key that is not one."""
    try:
        if "-W" in period:
            year, week = period.split("-W")
            start = date.fromisocalendar(int(year), int(week), 1)
            return start, start + timedelta(days=7)
        if "-Q" in period:
            year, quarter = period.split("-Q")
            month = (int(quarter) - 1) * 3 + 1
            start = date(int(year), month, 1)
            end = date(int(year) + (month + 3 > 12), (month + 2) % 12 + 1, 1)
            return start, end
        year, month = period.split("-")
        start = date(int(year), int(month), 1)
        return start, (start + timedelta(days=32)).replace(day=1)
    except (ValueError, OverflowError):  # not a period, or one at the calendar's end (9999-12)
        return None


def narrowed(query: ReportQuery, filters: AnswerFilters) -> ReportQuery:
    if not filters.period:
        return query
    found = period_range(filters.period)
    if found is None:
        raise ParameterError("period", N_("must be like 2026-11, 2026-W47 or 2026-Q4"))
    start, end = max(found[0], query.start), min(found[1], query.end)
    return query.but(start=start, end=max(end, start + timedelta(days=1)))


def _statement(query: ReportQuery, filters: AnswerFilters) -> Select:
    start, end = datetime.combine(query.start, time.min), datetime.combine(query.end, time.min)
    statement = (
        select(Response, Account.name, Contact.name, Survey.kind, Ticket.external_id, Ticket.category)
        .join(Account, Account.id == Response.account_id)
        .join(Contact, Contact.id == Response.contact_id)
        .join(Survey, Survey.id == Response.survey_id)
        .outerjoin(Ticket, Ticket.id == Response.ticket_id)
        .where(Response.created_at >= start, Response.created_at < end, Survey.kind.in_(SurveyKind.REPORTED))
    )
    accounts = services.selected_accounts(query, services.account_directory())
    if accounts is not None:
        statement = statement.where(Response.account_id.in_(accounts) if accounts else false())
    if query.survey_kinds:
        statement = statement.where(Survey.kind.in_(query.survey_kinds))
    if query.ticket_categories:
        categories = [c for c in query.ticket_categories if c != NO_CATEGORY]
        conditions = [Ticket.category.in_(categories)] if categories else []
        if NO_CATEGORY in query.ticket_categories:
            conditions.append(Response.ticket_id.is_(None))
        statement = statement.where(or_(*conditions))
    group = {
        "nps": Response.nps_score.is_not(None),
        "csat": Response.csat_score.is_not(None),
        "promoter": Response.nps_score >= NPS_PROMOTER_MIN,
        "passive": and_(Response.nps_score >= NPS_PASSIVE_MIN, Response.nps_score < NPS_PROMOTER_MIN),
        "detractor": Response.nps_score < NPS_PASSIVE_MIN,
        "satisfied": Response.csat_score >= CSAT_SATISFIED_MIN,
        "unsatisfied": Response.csat_score < CSAT_SATISFIED_MIN,
    }.get(filters.group)
    if group is not None:
        statement = statement.where(group)
    if filters.nps_score is not None:
        statement = statement.where(Response.nps_score == filters.nps_score)
    if filters.csat_score is not None:
        statement = statement.where(Response.csat_score == filters.csat_score)
    if filters.with_comment or filters.search:
        statement = statement.where(Response.comment.is_not(None), Response.comment != "")
    if filters.search:
        statement = statement.where(contains(Response.comment, filters.search))  # "kundig" finds "kündig"
    return statement.order_by(Response.created_at.desc(), Response.id.desc())


@dataclass(frozen=True)
class AnswerRow:
    response: Response
    account: str
    contact: str
    survey_kind: str
    ticket: str | None
    category: str | None


def list_answers(query: ReportQuery, filters: AnswerFilters) -> Page[AnswerRow]:
    return _page(_statement(narrowed(query, filters), filters), filters.page)


def _page(statement: Select, number: int) -> Page[AnswerRow]:
    """A page of answers; the total is counted up to a cap, so a wide period stays fast."""
    rows = db.session.execute(statement.limit(PER_PAGE).offset((number - 1) * PER_PAGE)).all()
    counted = db.session.scalar(select(func.count()).select_from(statement.with_only_columns(Response.id).limit(COUNT_CAP).order_by(None).subquery()))
    return Page([AnswerRow(*row) for row in rows], number, PER_PAGE, counted)


#: The most answers one CSV holds (the newest); narrow the period for older ones.
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class Export:
    """The answers one CSV holds: how many (counted before a row is written, for the
    export log) and the rows themselves, read lazily in batches as the CSV streams."""

    count: int
    rows: Iterator[list]


def export(query: ReportQuery, filters: AnswerFilters, limit: int = EXPORT_LIMIT) -> Export:
    """Every matching answer as a CSV row (newest first, at most ``limit``); a bad
    parameter raises here, before the download begins."""
    statement = _statement(narrowed(query, filters), filters).limit(limit)
    count = db.session.scalar(select(func.count()).select_from(statement.with_only_columns(Response.id).order_by(None).subquery()))
    return Export(count, _export_rows(statement))


def _export_rows(statement: Select) -> Iterator[list]:
    # Plain columns, not Response objects: nothing to track, and the session's identity map stays empty.
    columns = (Response.created_at, Account.name, Contact.name, Survey.kind, Ticket.external_id, Ticket.category, Response.nps_score, Response.csat_score, Response.comment)
    for answered_at, account, contact, kind, ticket, category, nps, csat, comment in db.session.execute(
        statement.with_only_columns(*columns, maintain_column_froms=True).execution_options(yield_per=2000)
    ):
        yield [
            answered_at,  # ISO 8601 in UTC with codes, the operator's time for people
            account,
            contact,
            kind,
            ticket or "",
            category or "",
            "" if nps is None else nps,
            "" if csat is None else csat,
            comment or "",
        ]


def export_rows(query: ReportQuery, filters: AnswerFilters, limit: int = EXPORT_LIMIT) -> Iterator[list]:
    """Every matching answer as a CSV row (newest first, at most ``limit``)."""
    return _export_rows(_statement(narrowed(query, filters), filters).limit(limit))


EXPORT_HEADER = ["answered_at", "account", "contact", "survey_kind", "ticket", "ticket_category", "nps", "csat", "comment"]
