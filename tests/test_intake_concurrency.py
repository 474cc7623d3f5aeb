"""Different events for one contact at the same moment: every delivery is
answered 202, and the contact gets exactly one invitation. And the retry
helper that makes a transaction that lost such a race try again.

Before the fix, PostgreSQL deadlocked here in nearly every round (all but
one delivery of a round answered 500): each ticket INSERT took a
foreign-key share lock on the contact row, and the ``FOR UPDATE`` in the
throttling check then had to upgrade it in every transaction at once.
SQLite serialises writers (BEGIN IMMEDIATE), so it cannot deadlock; a few
rounds run there too, cheaply, for the outcomes.
"""

from __future__ import annotations

import http.client
import json
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.web import transaction as transactions
from portal.customers.models import Account
from portal.integrations.models import Event
from portal.integrations.services import sign
from portal.surveys.models import Invitation
from portal.timeutil import utcnow
from tests.conftest import POSTGRES_URL, ticket_closed_event

ROUNDS = 20 if POSTGRES_URL else 3


def deliver_at_once(base: str, integration, bodies: list[bytes]) -> list[tuple[int, dict]]:
    """POST every body from its own thread, released together."""
    host = urlsplit(base)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(bodies))
    key, secret = integration.integration.key_id, integration.signing_secret

    def one(body: bytes) -> None:
        headers = {"Content-Type": "application/json", "Portal-Key": key, "Portal-Signature": sign(secret, body)}
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        try:
            start.wait(timeout=30)
            connection.request("POST", "/api/v1/events", body=body, headers=headers)
            response = connection.getresponse()
            status, text = response.status, response.read()
        finally:
            connection.close()
        with lock:
            answers.append((status, json.loads(text) if text.startswith(b"{") else {"body": text[:200]}))

    threads = [threading.Thread(target=one, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def event_for(contact, round_no: int, n: int) -> bytes:
    """A ticket.closed event of its own (event id, ticket id) for ``contact``.
    Every third round renames the account, so that the deliveries write the
    account row as well."""
    closed = (utcnow() - timedelta(hours=1)).isoformat(timespec="seconds") + "Z"
    event = ticket_closed_event(
        f"r{round_no}-{n}",
        occurred_at=closed,
        contact={"external_id": contact.external_id, "email": contact.email, "name": contact.name, "language": "de"},
    )
    event["account"].update(external_id=contact.account.external_id, name=f"Müller Logistik {round_no}" if round_no % 3 == 2 else contact.account.name)
    event["ticket"].update(external_id=f"HD-r{round_no}-{n}", opened_at=closed, first_response_at=closed, closed_at=closed)
    return json.dumps(event).encode()


def test_distinct_events_for_one_contact_at_once_all_succeed_with_one_invitation(app, db, live_server, integration, make_survey, make_account, make_contact):
    make_survey("post_ticket")
    account = make_account(external_id="CRM-1")
    failures = []
    for round_no in range(ROUNDS):
        contact = make_contact(account=account, email=f"round{round_no}@mueller-logistik.example", external_id=f"CON-{round_no}")
        size = 2 + round_no % 7  # 2 to 8 deliveries at once
        answers = deliver_at_once(live_server, integration, [event_for(contact, round_no, n) for n in range(size)])
        db.session.rollback()
        invitations = db.session.scalar(select(func.count(Invitation.id)).where(Invitation.contact_id == contact.id))
        outcomes = sorted(answer.get("outcome", "") for _status, answer in answers)
        statuses = sorted(status for status, _answer in answers)
        if statuses != [202] * size or invitations != 1 or outcomes != ["invited"] + ["throttled"] * (size - 1):
            failures.append((round_no, size, statuses, invitations, [a for s, a in answers if s != 202][:1]))
    assert failures == [], f"{len(failures)} of {ROUNDS} rounds failed: {failures}"
    assert db.session.scalar(select(func.count(Event.id))) == sum(2 + r % 7 for r in range(ROUNDS))


def test_redeliveries_racing_distinct_events_keep_the_first_outcome(app, db, live_server, integration, make_survey, make_account, make_contact):
    make_survey("post_ticket")
    contact = make_contact(account=make_account(external_id="CRM-1"), email="lena.vogel@mueller-logistik.example", external_id="CON-1")
    first, second = event_for(contact, 0, 0), event_for(contact, 0, 1)
    answers = deliver_at_once(live_server, integration, [first, first, first, second, second, second])
    assert sorted(status for status, _ in answers) == [202] * 6
    by_event: dict[str, set] = {}
    for _status, answer in answers:
        by_event.setdefault(answer["event"], set()).add((answer["outcome"], answer["reason"], answer["invitation"]))
    assert all(len(outcomes) == 1 for outcomes in by_event.values()), by_event  # a redelivery answers the first outcome
    assert sorted(answer["duplicate"] for _status, answer in answers) == [False, False, True, True, True, True]
    db.session.rollback()
    assert db.session.scalar(select(func.count(Invitation.id))) == 1


# --- run_in_transaction ----------------------------------------------------------------------


def deadlock() -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL breaks a deadlock (psycopg's error has the SQLSTATE)."""
    return OperationalError("UPDATE contacts ...", {}, type("DeadlockDetected", (Exception,), {"sqlstate": "40P01"})())


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(transactions, "BACKOFF_SECONDS", 0)


def account_ids(db) -> list[str]:
    return list(db.session.scalars(select(Account.external_id).order_by(Account.external_id)))


def test_a_transaction_that_lost_a_deadlock_runs_again_and_commits_once(app, db, no_backoff):
    attempts = []

    def work():
        attempts.append(len(attempts) + 1)
        db.session.add(Account(external_id=f"A-{attempts[-1]}", name="Neu AG"))
        db.session.flush()
        if len(attempts) < 3:
            raise deadlock()
        return attempts[-1]

    assert transactions.run_in_transaction(work) == 3
    assert account_ids(db) == ["A-3"]  # what the failed attempts wrote was rolled back


@pytest.mark.parametrize("error", [ValueError("a bug"), OperationalError("SELECT 1", {}, Exception("connection refused"))])
def test_other_errors_roll_back_and_are_raised_at_once(app, db, no_backoff, error):
    attempts = []

    def work():
        attempts.append(1)
        db.session.add(Account(external_id="A-1", name="Neu AG"))
        db.session.flush()
        raise error

    with pytest.raises(type(error)):
        transactions.run_in_transaction(work)
    assert len(attempts) == 1 and account_ids(db) == []


def test_retrying_gives_up_after_the_attempts(app, db, no_backoff):
    attempts = []

    def work():
        attempts.append(1)
        raise deadlock()

    with pytest.raises(OperationalError):
        transactions.run_in_transaction(work, attempts=3)
    assert len(attempts) == 3


def test_integrity_errors_are_retried_only_when_asked(app, db, no_backoff, make_account):
    make_account(external_id="A-1")
    attempts = []

    def work():
        attempts.append(1)
        db.session.add(Account(external_id="A-1", name="Doppelt AG"))
        db.session.flush()

    with pytest.raises(IntegrityError):
        transactions.run_in_transaction(work, retry_integrity_errors=False)
    assert len(attempts) == 1
    with pytest.raises(IntegrityError):
        transactions.run_in_transaction(work, attempts=2)
    assert len(attempts) == 3
