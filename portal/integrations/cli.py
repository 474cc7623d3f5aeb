"""``flask --app portal integrations create NAME``."""

import click
from flask.cli import with_appcontext

from portal.extensions import write_intent
from portal.integrations import services
from portal.web.transaction import unit_of_work


@click.group("integrations", help="Systems that post events and read satisfaction.")
def integrations_cli() -> None:
    write_intent.set(True)


@integrations_cli.command("create")
@click.argument("name")
@with_appcontext
def create(name: str) -> None:
    """Create an integration and print its credentials (shown only once)."""
    try:
        with unit_of_work():
            created = services.create_integration(name)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Integration: {created.integration.name}")
    click.echo(f"Key id:         {created.integration.key_id}")
    click.echo(f"Signing secret: {created.signing_secret}")
    click.echo(f"API token:      {created.api_token}")
    click.echo("Store the secret and the token now: they are not shown again (the token is kept only as a hash).")
