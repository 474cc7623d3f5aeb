"""``flask --app portal users ...``: manage staff accounts from the shell."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.auth import services
from portal.auth.models import Role, StaffUser
from portal.extensions import db, write_intent
from portal.web.transaction import unit_of_work


@click.group("users", help="Manage staff users.")
def users_cli() -> None:
    write_intent.set(True)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(Role.ALL))
@click.option("--name", default="", help="Display name (defaults to the part before @).")
@click.option("--language", type=click.Choice(["de", "en"]), default=None)
@click.password_option(prompt="Password", help="Prompted for when not given.")
@with_appcontext
def create(email: str, role: str, name: str, language: str | None, password: str) -> None:
    """Create a staff user."""
    try:
        with unit_of_work():
            user = services.create_user(email=email, name=name, role=role, password=password, language=language)
    except services.StaffUserError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role} {user.email}.")


@users_cli.command("set-password")
@click.option("--email", required=True)
@click.password_option(prompt="New password")
@with_appcontext
def set_password(email: str, password: str) -> None:
    """Set a new password; every session of that user ends."""
    user = _find(email)
    try:
        with unit_of_work():
            services.set_password(user, password)
    except services.StaffUserError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Password changed for {user.email}; their sessions have ended.")


@users_cli.command("deactivate")
@click.option("--email", required=True)
@with_appcontext
def deactivate(email: str) -> None:
    """Lock a user out; every session of that user ends."""
    user = _find(email)
    with unit_of_work():
        services.set_active(user, False)
    click.echo(f"Deactivated {user.email}.")


@users_cli.command("activate")
@click.option("--email", required=True)
@with_appcontext
def activate(email: str) -> None:
    user = _find(email)
    with unit_of_work():
        services.set_active(user, True)
    click.echo(f"Activated {user.email}.")


@users_cli.command("list")
@with_appcontext
def list_users() -> None:
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.email)):
        click.echo(f"{user.email:40} {user.role:16} {'active' if user.active else 'inactive'}")


def _find(email: str) -> StaffUser:
    user = services.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No staff user with the email {email}.")
    return user
