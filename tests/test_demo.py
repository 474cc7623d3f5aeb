from sqlalchemy import func, select

from portal.auth.models import Role, StaffUser
from portal.customers.models import Account, Contact, Ticket
from portal.demo import DEMO_PASSWORD


def test_seed_builds_a_believable_operator_and_is_idempotent(runner, db):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    counts = {model: db.session.scalar(select(func.count()).select_from(model)) for model in (StaffUser, Account, Contact, Ticket)}
    assert counts[Account] == 200 and counts[Contact] >= 300 and counts[Ticket] > 3000
    roles = set(db.session.scalars(select(StaffUser.role)))
    assert roles == set(Role.ALL)
    regions = set(db.session.scalars(select(Account.region)))
    assert len(regions) >= 4
    assert db.session.scalar(select(func.count()).where(Account.account_manager_id.is_(None))) == 0
    assert DEMO_PASSWORD in first.output  # development prints the logins

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0
    assert {model: db.session.scalar(select(func.count()).select_from(model)) for model in counts} == counts


def test_seeded_tickets_have_realistic_times(runner, db):
    runner.invoke(args=["demo", "seed"])
    tickets = db.session.scalars(select(Ticket).limit(500)).all()
    assert all(t.first_response_at is None or t.first_response_at >= t.opened_at for t in tickets)
    assert all(t.closed_at is None or t.closed_at > t.opened_at for t in tickets)
    assert {t.category for t in tickets} == {"technical", "billing", "provisioning", "general"}


def test_seed_prints_no_passwords_in_production(make_app, db):
    app = make_app(PORTAL_ENV="production", PORTAL_SECRET_KEY="prod-key")
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD not in result.output
