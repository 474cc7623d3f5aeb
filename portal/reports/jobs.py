"""What the worker runs for reports: count the cells once after an upgrade.

Cells are kept as answers arrive (portal/reports/rollup.py). A database that
had answers before the cells existed (upgraded from an earlier release, or
restored without them) gets them counted once, by the first worker round."""

from __future__ import annotations

from sqlalchemy import exists, select

from portal.extensions import db
from portal.reports import rollup
from portal.reports.models import ReportCell
from portal.surveys.models import Response
from portal.worker import job


@job("reports-count-missing-cells")
def count_missing_cells() -> int:
    if db.session.scalar(select(exists().where(ReportCell.day.is_not(None)))):
        return 0
    if not db.session.scalar(select(exists().where(Response.id.is_not(None)))):
        return 0
    return rollup.rebuild()
