"""The report cells follow the answers and invitations they count.

A cell (see :class:`portal.reports.models.ReportCell`) is never incremented:
when something in it may have changed, the cell is *recounted from its rows*
just before the transaction commits, under the cell's row lock. So the cells
cannot drift from the data, a double-counted retry is impossible, and two
transactions touching one cell queue behind its lock (the second recounts
after the first has committed and sees its rows).

What marks a cell as changed:

- ``response_recorded``: the cell of the answer's first-answer day, and the
  cell of its invitation's sent day (its ``answered`` count);
- ``message_sent``: the cells of the invitations whose email went out.

Bulk writes that bypass these signals (the demo's history, an import) call
:func:`rebuild`, also available as ``flask --app portal reports rebuild``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import and_, bindparam, case, delete, func, insert, literal_column, select
from sqlalchemy.orm import Session

from portal.customers.models import Ticket
from portal.extensions import db
from portal.reports.models import (
    COUNT_COLUMNS,
    CSAT_SCORES,
    NO_CATEGORY,
    NPS_SCORES,
    ReportCell,
    ReportChunk,
)
from portal.surveys.models import Invitation, Response, Survey

_PENDING = "report_cells_pending"


class CellKey(NamedTuple):
    day: date
    account_id: int
    survey_kind: str
    ticket_category: str


def chunk_of(day: date) -> tuple[date, date]:
    """The chunk a day belongs to: the days of its ISO week that are also in its month, [start, end)."""
    monday = day - timedelta(days=day.weekday())
    first_of_month = day.replace(day=1)
    next_month = (first_of_month + timedelta(days=32)).replace(day=1)
    return max(monday, first_of_month), min(monday + timedelta(days=7), next_month)


def is_chunk_start(day: date) -> bool:
    return chunk_of(day)[0] == day


def period_keys(day: date) -> dict[str, str]:
    """The week, month and quarter a day belongs to, as the API names them."""
    year, week, _ = day.isocalendar()
    return {"week": f"{year}-W{week:02d}", "month": f"{day:%Y-%m}", "quarter": f"{day.year}-Q{(day.month - 1) // 3 + 1}"}


# --- marking cells --------------------------------------------------------------------------


def mark(keys: Iterable[CellKey]) -> None:
    """Recount these cells before the current transaction commits."""
    db.session.info.setdefault(_PENDING, set()).update(keys)


def mark_response(response: Response, survey_kind: str | None = None) -> None:
    """Mark the cells an answer changes. ``survey_kind``: the kind of the response's
    survey when the caller has it at hand (the answer path does), saving a query."""
    kind, category = _kind_and_category(response.survey_id, response.ticket_id, survey_kind)
    keys = [CellKey(response.created_at.date(), response.account_id, kind, category)]
    invitation = db.session.get(Invitation, response.invitation_id)
    if invitation is not None and invitation.sent_at is not None:
        keys.append(CellKey(invitation.sent_at.date(), invitation.account_id, kind, category))
    mark(keys)


def mark_sent(message_ids: list[int], sent_at: datetime) -> None:
    rows = db.session.execute(
        select(Invitation.account_id, Survey.kind, Ticket.category)
        .join(Survey, Survey.id == Invitation.survey_id)
        .outerjoin(Ticket, Ticket.id == Invitation.ticket_id)
        .where(Invitation.outbox_message_id.in_(message_ids))
    )
    mark(CellKey(sent_at.date(), account_id, kind, category or NO_CATEGORY) for account_id, kind, category in rows)


def _kind_and_category(survey_id: int, ticket_id: int | None, kind: str | None = None) -> tuple[str, str]:
    kind = kind or db.session.scalar(select(Survey.kind).where(Survey.id == survey_id))
    category = db.session.scalar(select(Ticket.category).where(Ticket.id == ticket_id)) if ticket_id else None
    return kind, category or NO_CATEGORY


# --- recounting -----------------------------------------------------------------------------


def _score_counts(column, scores) -> list:
    return [func.coalesce(func.sum(case((column == s, 1), else_=0)), 0) for s in scores]


def _response_counts():
    """The answer columns of a cell, as aggregates over ``responses``."""
    return [
        *_score_counts(Response.nps_score, NPS_SCORES),
        *_score_counts(Response.csat_score, CSAT_SCORES),
        func.count(Response.id),
        func.coalesce(func.sum(case((and_(Response.comment.is_not(None), Response.comment != ""), 1), else_=0)), 0),
    ]


def _invitation_counts():
    return [func.count(Invitation.id), func.count(Invitation.answered_at)]


def _cell_filter(model, day_column, no_category: bool):
    """The rows of one cell, with bound parameters (the statements are built once)."""
    category = model.ticket_id.is_(None) if no_category else Ticket.category == bindparam("category")
    return and_(
        model.account_id == bindparam("account_id"),
        day_column >= bindparam("start"),
        day_column < bindparam("end"),
        Survey.kind == bindparam("kind"),
        category,
    )


@lru_cache(maxsize=None)
def _recount_statements(no_category: bool):
    answers = (
        select(*_response_counts())
        .join(Survey, Survey.id == Response.survey_id)
        .outerjoin(Ticket, Ticket.id == Response.ticket_id)
        .where(_cell_filter(Response, Response.created_at, no_category))
    )
    invitations = (
        select(*_invitation_counts())
        .join(Survey, Survey.id == Invitation.survey_id)
        .outerjoin(Ticket, Ticket.id == Invitation.ticket_id)
        .where(_cell_filter(Invitation, Invitation.sent_at, no_category))
    )
    return answers, invitations


def _recount(key: CellKey) -> dict[str, int]:
    start = datetime.combine(key.day, time.min)
    values = {"account_id": key.account_id, "start": start, "end": start + timedelta(days=1), "kind": key.survey_kind}
    if key.ticket_category != NO_CATEGORY:
        values["category"] = key.ticket_category
    answers_statement, invitations_statement = _recount_statements(key.ticket_category == NO_CATEGORY)
    answers = db.session.execute(answers_statement, values).one()
    invitations = db.session.execute(invitations_statement, values).one()
    return dict(zip(COUNT_COLUMNS, (*answers, *invitations), strict=True))


@lru_cache(maxsize=None)
def _upsert_statement(dialect: str, model, overwrite: bool):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(model)
    keys = ["day" if model is ReportCell else "start", "account_id", "survey_kind", "ticket_category"]
    columns = COUNT_COLUMNS if overwrite else ("week",)  # updating a column to itself takes the row lock
    return statement.on_conflict_do_update(index_elements=keys, set_={c: statement.excluded[c] for c in columns})


def _upsert(session: Session, rows: list[dict], *, overwrite: bool, model=ReportCell) -> None:
    """Insert cells (or chunks); an existing one is locked (and overwritten when ``overwrite``)."""
    session.execute(_upsert_statement(session.get_bind().dialect.name, model, overwrite), rows)


@lru_cache(maxsize=None)
def _chunk_sum_statement():
    return select(*[func.coalesce(func.sum(getattr(ReportCell, c)), 0) for c in COUNT_COLUMNS]).where(
        ReportCell.day >= bindparam("start"),
        ReportCell.day < bindparam("end"),
        ReportCell.account_id == bindparam("account_id"),
        ReportCell.survey_kind == bindparam("kind"),
        ReportCell.ticket_category == bindparam("category"),
    )


def _empty_row(key: CellKey) -> dict:
    return {**key._asdict(), **period_keys(key.day), **dict.fromkeys(COUNT_COLUMNS, 0)}


def _chunk_row(key: CellKey) -> dict:
    start, end = chunk_of(key.day)
    row = _empty_row(key._replace(day=start))
    row["start"], row["end"] = start, end
    del row["day"]
    return row


def refresh(keys: Iterable[CellKey]) -> None:
    """Lock each cell (in a fixed order: all cells, then all chunks, so two
    transactions cannot deadlock), recount it from its rows and store the
    counts; then the same for the chunks the cells belong to, summed from
    their cells."""
    session = db.session
    keys = sorted(set(keys))
    for key in keys:
        _upsert(session, [_empty_row(key)], overwrite=False)
        _upsert(session, [{**_empty_row(key), **_recount(key)}], overwrite=True)
    for chunk in sorted({key._replace(day=chunk_of(key.day)[0]) for key in keys}):
        row = _chunk_row(chunk)
        _upsert(session, [row], overwrite=False, model=ReportChunk)
        sums = session.execute(
            _chunk_sum_statement(),
            {"start": row["start"], "end": row["end"], "account_id": chunk.account_id, "kind": chunk.survey_kind, "category": chunk.ticket_category},
        ).one()
        _upsert(session, [{**row, **dict(zip(COUNT_COLUMNS, sums, strict=True))}], overwrite=True, model=ReportChunk)


def refresh_pending(session: Session) -> None:
    """The session's ``before_commit`` hook (registered in portal/reports/subscribers.py)."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        refresh(pending)


def forget_pending(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)


# --- rebuilding -----------------------------------------------------------------------------


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def rebuild(since: date | None = None) -> int:
    _category = func.coalesce(Ticket.category, literal_column("''"))  # a literal, so PostgreSQL sees one expression in SELECT and GROUP BY
    """Recount every cell and chunk (from the chunk that holds ``since`` on) from
    the answers and invitations; returns the number of cells."""
    if since is not None:
        since = chunk_of(since)[0]
    cells: dict[CellKey, dict] = {}
    answer_day = func.date(Response.created_at)
    answers = (
        select(answer_day, Response.account_id, Survey.kind, _category, *_response_counts())
        .join(Survey, Survey.id == Response.survey_id)
        .outerjoin(Ticket, Ticket.id == Response.ticket_id)
        .group_by(answer_day, Response.account_id, Survey.kind, _category)
    )
    sent_day = func.date(Invitation.sent_at)
    invitations = (
        select(sent_day, Invitation.account_id, Survey.kind, _category, *_invitation_counts())
        .join(Survey, Survey.id == Invitation.survey_id)
        .outerjoin(Ticket, Ticket.id == Invitation.ticket_id)
        .where(Invitation.sent_at.is_not(None))
        .group_by(sent_day, Invitation.account_id, Survey.kind, _category)
    )
    if since is not None:
        start = datetime.combine(since, time.min)
        answers, invitations = answers.where(Response.created_at >= start), invitations.where(Invitation.sent_at >= start)
    for columns, query in ((COUNT_COLUMNS[:-2], answers), (COUNT_COLUMNS[-2:], invitations)):
        for day, account_id, kind, category, *counts in db.session.execute(query):
            key = CellKey(_day(day), account_id, kind, category)
            cells.setdefault(key, _empty_row(key)).update(zip(columns, counts, strict=True))
    chunks: dict[CellKey, dict] = {}
    for key, row in cells.items():
        chunk = chunks.setdefault(key._replace(day=chunk_of(key.day)[0]), _chunk_row(key))
        for column in COUNT_COLUMNS:
            chunk[column] += row[column]
    for model, column, rows in ((ReportCell, ReportCell.day, list(cells.values())), (ReportChunk, ReportChunk.start, list(chunks.values()))):
        stale = delete(model)
        db.session.execute(stale.where(column >= since) if since else stale)
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start : start + 5000])
    return len(cells)
