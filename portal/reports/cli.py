"""``flask --app portal reports rebuild``: recount the report cells from the answers."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from portal.reports import rollup
from portal.web.transaction import unit_of_work

reports_cli = AppGroup("reports", help="Report figures.")


@reports_cli.command("rebuild")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only days from this date on (YYYY-MM-DD).")
def rebuild_command(since) -> None:
    """Recount the daily report cells from the answers and invitations (after an import or a restore)."""
    first: date | None = since.date() if since else None
    with unit_of_work():
        cells = rollup.rebuild(first)
    click.echo(f"{cells} report cells recounted.")
