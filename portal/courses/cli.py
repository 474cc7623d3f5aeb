"""``flask --app portal content check`` and ``flask --app portal courses link``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.extensions import db, write_intent
from portal.web.transaction import unit_of_work


@click.group("content", help="Course content in content/.")
def content_cli() -> None:
    pass


@content_cli.command("check")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The content folder (default: PORTAL_CONTENT_DIR, i.e. content/).",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@with_appcontext
def check(directory: Path | None, strict: bool) -> None:
    """Validate every course: front matter, file names, quizzes, links, images,
    and anything the HTML sanitizer would remove. Exits non-zero on errors."""
    from portal.courses.catalog import load_catalog

    catalog = load_catalog(directory or current_app.config["PORTAL_CONTENT_DIR"])
    for problem in catalog.problems:
        click.echo(str(problem), err=True)
    errors, warnings = len(catalog.errors), len(catalog.warnings)
    lessons = sum(len(course.lessons) for course in catalog.courses.values())
    summary = f"{len(catalog.courses)} courses, {lessons} lessons: {errors} errors, {warnings} warnings."
    if errors or (strict and warnings):
        raise click.ClickException(summary)
    click.echo(summary)


@click.group("courses", help="Course access for customer accounts.")
def courses_cli() -> None:
    write_intent.set(True)


@courses_cli.command("link")
@click.option("--account", "external_id", required=True, help="The account's customer number (external id).")
@click.option("--course", "course_slugs", multiple=True, help="Limit the link to this course (repeatable); default: all courses for the account's services.")
@click.option("--days", default=None, type=click.IntRange(1, 730), help="Days the link stays valid (default 90).")
@click.option("--remind-after", "reminder_days", default=None, type=click.IntRange(1, 365), help="Remind learners after this many days without progress.")
@with_appcontext
def link(external_id: str, course_slugs: tuple[str, ...], days: int | None, reminder_days: int | None) -> None:
    """Create an access link for an account and print its URL (shown only now)."""
    from portal.courses import services
    from portal.customers.models import Account

    account = db.session.scalar(select(Account).where(Account.external_id == external_id))
    if account is None:
        raise click.ClickException(f"No account with the customer number {external_id}.")
    try:
        with unit_of_work():
            access_link, raw = services.create_access_link(
                account,
                course_slugs=list(course_slugs) or None,
                days=days or services.DEFAULT_LINK_DAYS,
                reminder_days=reminder_days,
            )
    except services.CourseError as error:
        raise click.ClickException(str(error)) from error
    scope = ", ".join(access_link.course_slugs) if access_link.course_slugs else "all courses for the account's services"
    click.echo(f"Access link for {account.name} ({scope}), valid until {access_link.expires_at:%Y-%m-%d}:", err=True)
    click.echo(services.access_url(raw))
