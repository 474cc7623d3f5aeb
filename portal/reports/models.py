"""The reports' own tables: daily figure cells (a rollup of answers and
invitations, so that a report over a million answers reads a few thousand
rows) and the log of exports.

A cell is one day × account × survey kind × ticket category. It holds the
count of each NPS score (0–10) and each CSAT score (1–5) of the answers whose
*first answer* fell on that day, the comments among them, and the invitations
*sent* that day and how many of those were answered. Region, account manager
and service types are not in the cell: they are the account's current values,
joined when a report is read, so that reassigning an account moves its history
with it (the API promises "the account's current manager").

Cells are never edited by hand: ``portal.reports.rollup`` recomputes a cell
from its rows under the cell's lock whenever an answer or an invitation of
that cell changes, and ``flask --app portal reports rebuild`` recomputes all.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import utcnow

NPS_SCORES = range(0, 11)
CSAT_SCORES = range(1, 6)
#: No ticket (an NPS wave, an installation survey): the cell's category is this, never NULL, so the key stays unique.
NO_CATEGORY = ""


class _Counts:
    """The counts a cell or a chunk holds, and the period keys of its days."""

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    survey_kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticket_category: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The period keys, stored so that grouping is the same on SQLite and PostgreSQL.
    week: Mapped[str] = mapped_column(String(8))  # 2026-W47 (ISO week)
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    quarter: Mapped[str] = mapped_column(String(7))  # 2026-Q4

    nps_0: Mapped[int] = mapped_column(default=0)
    nps_1: Mapped[int] = mapped_column(default=0)
    nps_2: Mapped[int] = mapped_column(default=0)
    nps_3: Mapped[int] = mapped_column(default=0)
    nps_4: Mapped[int] = mapped_column(default=0)
    nps_5: Mapped[int] = mapped_column(default=0)
    nps_6: Mapped[int] = mapped_column(default=0)
    nps_7: Mapped[int] = mapped_column(default=0)
    nps_8: Mapped[int] = mapped_column(default=0)
    nps_9: Mapped[int] = mapped_column(default=0)
    nps_10: Mapped[int] = mapped_column(default=0)
    csat_1: Mapped[int] = mapped_column(default=0)
    csat_2: Mapped[int] = mapped_column(default=0)
    csat_3: Mapped[int] = mapped_column(default=0)
    csat_4: Mapped[int] = mapped_column(default=0)
    csat_5: Mapped[int] = mapped_column(default=0)
    #: Answers (responses) first given in these days, with or without a score, and those with a comment.
    answers: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    #: Invitations sent in these days, and how many of them have been answered since.
    sent: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)


class ReportCell(_Counts, db.Model):
    """One day of one account, survey kind and ticket category."""

    __tablename__ = "report_cells"

    day: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-1)

    __table_args__ = (Index("ix_report_cells_account_id_day", "account_id", "day"),)


class ReportChunk(_Counts, db.Model):
    """The sum of the cells of up to seven days that share their ISO week and
    their month (so a chunk lies in one week, one month and one quarter). A
    report over a period reads whole chunks and the cells of the days at its
    edges: five times fewer rows than days alone."""

    __tablename__ = "report_chunks"

    start: Mapped[date] = mapped_column(Date, primary_key=True, sort_order=-1)
    end: Mapped[date] = mapped_column(Date)  # exclusive


#: The count columns, in the order the rollup reads and writes them.
COUNT_COLUMNS = tuple(f"nps_{s}" for s in NPS_SCORES) + tuple(f"csat_{s}" for s in CSAT_SCORES) + ("answers", "comments", "sent", "answered")


class ExportLog(db.Model):
    """Who exported what, when: every CSV download is written here."""

    __tablename__ = "report_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"), index=True)
    #: e.g. "report:nps", "responses", "loop"
    what: Mapped[str] = mapped_column(String(64))
    #: The filters of the export, as the query string carried them.
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    rows: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
