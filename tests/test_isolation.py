"""The suite's own promise to every test: a database of its own that starts
empty and migrated, and an app that is as it was built, although a worker
reuses both (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from portal.extensions import db as _db
from tests.conftest import WORKER_NUMBER, AppCache, free_port, reset_sqlite


def row_counts(db) -> dict[str, int]:
    return {table.name: db.session.scalar(text(f'SELECT count(*) FROM "{table.name}"')) for table in db.metadata.sorted_tables}


def fill(make_account, make_invitation, make_staff, make_message) -> None:
    """Rows in a dozen tables: staff, accounts, contacts, surveys, questions, invitations, outbox."""
    make_staff()
    make_invitation(contact=None)
    make_message()
    make_account()


@pytest.mark.parametrize("round_", range(4))
def test_every_test_starts_on_an_empty_migrated_database(round_, db, make_account, make_invitation, make_staff, make_message):
    """Several tests in a row on one worker: each finds no row its predecessor wrote, and ids from 1."""
    assert set(row_counts(db).values()) == {0}
    assert db.session.scalar(text("SELECT count(*) FROM alembic_version")) == 1  # migrated
    assert make_account().id == 1
    fill(make_account, make_invitation, make_staff, make_message)


def test_emptying_leaves_no_row_and_ids_start_again(app, db, database_template, database_url, make_account, make_invitation, make_staff, make_message):
    fill(make_account, make_invitation, make_staff, make_message)
    assert sum(row_counts(db).values()) > 10
    db.session.remove()
    db.engine.dispose()
    if database_template["kind"] == "sqlite":
        reset_sqlite(Path(make_url(database_url).database), database_template["path"])
    else:
        database_template["cleaner"].empty()
    assert set(row_counts(db).values()) == {0}
    assert make_account().id == 1


def test_a_reused_app_gets_its_configuration_back(app_config):
    cache = AppCache()
    key, entry = cache.take(app_config)
    app = entry[0]
    app.config["PORTAL_TOKEN_LIMIT_PER_IP"] = "1 per minute"
    app.config["SOMETHING_NEW"] = True
    cache.give_back(key, entry)
    key, entry = cache.take(app_config)
    assert entry[0] is app
    assert app.config["PORTAL_TOKEN_LIMIT_PER_IP"] != "1 per minute" and "SOMETHING_NEW" not in app.config
    cache.give_back(key, entry)


def test_an_app_left_with_a_connection_in_use_or_a_new_route_is_built_anew(app_config):
    cache = AppCache()
    key, entry = cache.take(app_config)
    app = entry[0]
    with app.app_context():
        connection = _db.engine.connect()  # a test that forgot to close it
        cache.give_back(key, entry)
        connection.invalidate()  # its pool was replaced: close the connection itself
        connection.close()
    key, entry = cache.take(app_config)
    assert entry[0] is not app
    app = entry[0]
    app.add_url_rule("/only-in-this-test", "only_in_this_test", lambda: "")
    cache.give_back(key, entry)
    key, entry = cache.take(app_config)
    assert entry[0] is not app
    cache.give_back(key, entry)


@pytest.mark.parametrize("round_", range(3))
def test_rate_limits_count_from_zero_in_every_test(round_, app, client):
    """The limiter is process-wide; a test that used up a limit leaves nothing for the next."""
    app.config["PORTAL_TOKEN_LIMIT_PER_IP"] = "2 per minute"
    statuses = [client.get(f"/s/no-such-token-{n}").status_code for n in range(3)]
    assert statuses == [404, 404, 429]


def test_a_worker_takes_ports_from_its_own_block():
    ports = {free_port() for _ in range(5)}
    assert len(ports) == 5
    assert all(20000 + WORKER_NUMBER * 1000 <= port < 20000 + (WORKER_NUMBER + 1) * 1000 for port in ports)
