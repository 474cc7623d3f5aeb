"""The outbox when things break: a killed worker, a relay down for a day, a
slow server. Real SMTP servers on loopback, real worker processes."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.config import ConfigError, flask_config, read_settings
from portal.mail import services as mail
from portal.mail.models import MessageStatus, OutboxMessage
from portal.surveys.models import Invitation, InvitationStatus
from portal.timeutil import utcnow
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_ID = re.compile(rb"^Message-ID: *(\S+)\r?$", re.MULTILINE | re.IGNORECASE)
DOWN = "smtp://127.0.0.1:9"  # nothing listens there


class CountingServer:
    """An SMTP server that notes each message's Message-ID, can answer slowly,
    and can hold back its answer to the n-th message until released."""

    def __init__(self, hold_at: int | None = None, delay: float = 0.0):
        self.ids: list[str] = []
        self.hold_at = hold_at
        self.delay = delay
        self.holding = threading.Event()
        self.release = threading.Event()
        self.received = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name for the hook
        message_id = MESSAGE_ID.search(envelope.content).group(1).decode()
        with self.received:
            self.ids.append(message_id)
            count = len(self.ids)
            self.received.notify_all()
        if count == self.hold_at:  # the server has the message; the sender has no answer yet
            self.holding.set()
            for _ in range(3000):
                if self.release.is_set():
                    break
                await asyncio.sleep(0.01)
        elif self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self.received:
            assert self.received.wait_for(lambda: len(self.ids) >= count, timeout), f"only {len(self.ids)} of {count} arrived"


@pytest.fixture
def counting_server():
    """Start a CountingServer: ``server, url = counting_server(hold_at=..., delay=..., **aiosmtpd_options)``."""
    from aiosmtpd.controller import Controller

    controllers = []

    def _start(hold_at: int | None = None, delay: float = 0.0, **smtp_options) -> tuple[CountingServer, str]:
        server = CountingServer(hold_at, delay)
        port = free_port()
        controller = Controller(server, hostname="127.0.0.1", port=port, **smtp_options)
        controller.start()
        controllers.append((controller, server))
        return server, f"smtp://127.0.0.1:{port}"

    yield _start
    for controller, server in controllers:
        server.release.set()
        controller.stop()


class Clock:
    """Time travel for the outbox: ``mail.utcnow`` answers ``clock.now``."""

    def __init__(self, monkeypatch):
        self.now = utcnow()
        monkeypatch.setattr(mail, "utcnow", lambda: self.now)


def _statuses(db) -> Counter:
    db.session.rollback()  # a fresh snapshot: other processes write
    return Counter(dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()))


def _messages(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _invitation_statuses(db, invitations) -> set[str]:
    db.session.expire_all()
    return {db.session.get(Invitation, invitation.id).status for invitation in invitations}


# --- a worker killed mid-send -----------------------------------------------------------


def _start_worker(database_url: str, smtp_url: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PORTAL_DATABASE_URL=database_url, PORTAL_SMTP_URL=smtp_url, PORTAL_SECRET_KEY="test-secret-key")
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "portal", "worker", "--interval", "0.2"], cwd=ROOT, env=env, stdout=output, stderr=output
        )


@pytest.mark.exclusive
def test_a_killed_worker_repeats_at_most_the_message_in_flight_and_its_claim_is_taken_over(db, database_url, counting_server, tmp_path):
    server, smtp_url = counting_server(hold_at=125)
    for n in range(1000):
        mail.enqueue(to=f"kunde{n}@customer.example", subject=f"Nachricht {n}", text="Hallo", html="<p>Hallo</p>", kind="test", locale="de")
    db.session.commit()
    log = tmp_path / "worker.log"
    workers = [_start_worker(database_url, smtp_url, log)]
    try:
        assert server.holding.wait(60), log.read_text()
        workers[0].send_signal(signal.SIGKILL)  # while the server holds the 125th message's answer
        workers[0].wait(timeout=10)
        server.release.set()
        in_flight = server.ids[124]
        # every message the server accepted is recorded as sent; the rest of
        # the dead worker's batch is still claimed
        assert _statuses(db) == {MessageStatus.SENT: 124, MessageStatus.SENDING: 26, MessageStatus.QUEUED: 850}

        workers.append(_start_worker(database_url, smtp_url, log))
        # the restarted worker sends the queue, then takes the dead worker's
        # claim over within seconds (the lease), not minutes
        server.wait_for(1000, timeout=30)
        for _ in range(300):
            if _statuses(db)[MessageStatus.SENT] == 1000:
                break
            time.sleep(0.1)
        assert _statuses(db) == {MessageStatus.SENT: 1000}, log.read_text()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
    arrived = Counter(server.ids)
    assert set(arrived) == {m.message_id for m in _messages(db)}
    assert sum(arrived.values()) <= 1001
    assert {message_id for message_id, count in arrived.items() if count > 1} <= {in_flight}


# --- a slow but live worker, a worker that cannot renew ----------------------------------


def _worker_thread(app, results: list) -> threading.Thread:
    def run() -> None:
        with app.app_context():
            results.append(mail.deliver_due())

    return threading.Thread(target=run)


def test_a_live_worker_keeps_its_claim_while_it_renews_it(app, db, make_message, counting_server, monkeypatch):
    monkeypatch.setattr(mail, "LEASE", timedelta(seconds=2))
    monkeypatch.setattr(mail, "HEARTBEAT_SECONDS", 0.25)
    server, smtp_url = counting_server(delay=0.25)
    app.config["PORTAL_SMTP_URL"] = smtp_url
    messages = [make_message(to=f"kunde{n}@customer.example") for n in range(12)]
    results: list[int] = []
    slow = _worker_thread(app, results)
    slow.start()
    server.wait_for(10)  # 2.5 s into the batch: a lease that was not renewed would have run out
    assert mail.deliver_due() == 0  # a second worker finds nothing to take
    slow.join(timeout=30)
    assert results == [12]
    assert Counter(server.ids) == Counter(m.message_id for m in messages)
    assert _statuses(db) == {MessageStatus.SENT: 12}


def test_a_worker_that_cannot_renew_stops_before_its_lease_runs_out(app, db, make_message, counting_server, monkeypatch):
    monkeypatch.setattr(mail, "LEASE", timedelta(seconds=1.5))
    monkeypatch.setattr(mail, "HEARTBEAT_SECONDS", 0.25)

    def database_unreachable(self):
        raise OSError("database unreachable")

    monkeypatch.setattr(mail._Lease, "_renew", database_unreachable)
    server, smtp_url = counting_server(delay=0.25)
    app.config["PORTAL_SMTP_URL"] = smtp_url
    messages = [make_message(to=f"kunde{n}@customer.example") for n in range(12)]
    results: list[int] = []
    cut_off = _worker_thread(app, results)
    cut_off.start()
    cut_off.join(timeout=30)
    assert 0 < results[0] < 12  # it stopped with the rest of its batch claimed
    assert _statuses(db) == {MessageStatus.SENT: results[0], MessageStatus.SENDING: 12 - results[0]}
    time.sleep(1.6)  # the lease runs out
    monkeypatch.undo()
    assert mail.deliver_due() == 12 - results[0]  # another worker takes the rest over
    assert Counter(server.ids) == Counter(m.message_id for m in messages)


# --- a relay that is down ---------------------------------------------------------------


def test_a_relay_down_for_a_day_loses_nothing_and_fails_nothing(app, db, make_invitation, make_contact, smtp_server, login_as, monkeypatch, caplog):
    recorder, port = smtp_server
    monkeypatch.setattr(mail, "relay", mail.RelayStatus())  # this process has seen the relay answer
    caplog.set_level(logging.WARNING, logger=mail.__name__)
    invitations = [make_invitation(contact=make_contact(email=f"kunde{n}@customer.example"))[0] for n in range(3)]
    clock = Clock(monkeypatch)
    start = clock.now
    app.config["PORTAL_SMTP_URL"] = DOWN
    attempts = 0
    while clock.now < start + timedelta(days=1) and attempts < 200:
        assert mail.deliver_due() == 0
        attempts += 1
        messages = _messages(db)
        assert {m.status for m in messages} == {MessageStatus.QUEUED}
        assert all(m.attempts == attempts and "ConnectionRefusedError" in m.last_error for m in messages)
        clock.now = max(m.next_attempt_at for m in messages)
    assert attempts > 8  # more than the old attempt limit, spread over the whole day
    assert _invitation_statuses(db, invitations) == {InvitationStatus.QUEUED}
    assert "ConnectionRefusedError" in login_as("admin").get("/staff/outbox/").get_data(as_text=True)

    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    assert mail.deliver_due() == 3
    assert {m.status for m in _messages(db)} == {MessageStatus.SENT}
    assert _invitation_statuses(db, invitations) == {InvitationStatus.SENT}
    assert len(recorder.messages) == 3
    # The outage is in the log twice, when it began and when it ended, not at each of the attempts.
    outage = [record.getMessage() for record in caplog.records if "SMTP relay" in record.getMessage()]
    assert len(outage) == 2, outage
    assert outage[0].startswith("SMTP relay unavailable") and "ConnectionRefusedError" in outage[0]
    assert outage[1].startswith("SMTP relay available again after 1 day") and f"({attempts} failed attempts)" in outage[1]
    mail.deliver_due()
    assert len([record for record in caplog.records if "SMTP relay" in record.getMessage()]) == 2


def test_past_the_queue_lifetime_a_message_fails_with_a_clear_reason(app, db, make_invitation, monkeypatch):
    invitation, _token = make_invitation()
    app.config["PORTAL_MAIL_QUEUE_LIFETIME_HOURS"] = 6
    app.config["PORTAL_SMTP_URL"] = DOWN
    clock = Clock(monkeypatch)
    for _ in range(100):
        mail.deliver_due()
        [message] = _messages(db)
        if message.status != MessageStatus.QUEUED:
            break
        assert message.next_attempt_at <= message.due_at + timedelta(hours=6)  # the last try is at the deadline
        clock.now = message.next_attempt_at
    assert message.status == MessageStatus.FAILED and clock.now == message.due_at + timedelta(hours=6)
    assert message.last_error.startswith("Gave up after 6 hours in the queue. Last error: ConnectionRefusedError")
    assert _invitation_statuses(db, [invitation]) == {InvitationStatus.FAILED}


def test_a_5xx_fails_at_once_and_a_4xx_is_retried_past_the_old_limit(app, db, make_invitation, make_contact, smtp_server, monkeypatch):
    rejected, _ = make_invitation(contact=make_contact(email="reject-lena@customer.example"))
    busy, _ = make_invitation(contact=make_contact(email="busy-kai@customer.example"))
    clock = Clock(monkeypatch)
    for _ in range(12):
        mail.deliver_due()
        clock.now += timedelta(hours=2)
    by_address = {m.to_address: m for m in _messages(db)}
    refused = by_address["reject-lena@customer.example"]
    assert refused.status == MessageStatus.FAILED and refused.attempts == 1 and refused.last_error.startswith("550")
    waiting = by_address["busy-kai@customer.example"]
    assert waiting.status == MessageStatus.QUEUED and waiting.attempts == 12 and waiting.last_error.startswith("451")
    assert _invitation_statuses(db, [rejected]) == {InvitationStatus.FAILED}
    assert _invitation_statuses(db, [busy]) == {InvitationStatus.QUEUED}


def test_a_refused_login_is_the_relays_fault_and_is_retried(app, db, make_message, counting_server):
    from aiosmtpd.smtp import AuthResult

    _server, url = counting_server(authenticator=lambda *_: AuthResult(success=False, handled=False), auth_require_tls=False)
    app.config["PORTAL_SMTP_URL"] = url.replace("smtp://", "smtp://portal:wrong@")
    make_message()
    assert mail.deliver_due() == 0
    [waiting] = _messages(db)
    assert waiting.status == MessageStatus.QUEUED and waiting.attempts == 1
    assert waiting.last_error.startswith("SMTPAuthenticationError: (535")


# --- the setting ------------------------------------------------------------------------


def test_queue_lifetime_setting(tmp_path):
    def configured(**environ):
        settings = read_settings(tmp_path, {"PORTAL_SECRET_KEY": "x", **environ})
        return flask_config(settings, tmp_path, ROOT)["PORTAL_MAIL_QUEUE_LIFETIME_HOURS"]

    assert configured() == 72
    assert configured(PORTAL_MAIL_QUEUE_LIFETIME_HOURS="24") == 24
    assert configured(PORTAL_MAIL_QUEUE_LIFETIME_HOURS="0.5") == 0.5
    for wrong in ("three days", "0", "-1", "nan", "inf"):
        with pytest.raises(ConfigError, match="PORTAL_MAIL_QUEUE_LIFETIME_HOURS"):
            configured(PORTAL_MAIL_QUEUE_LIFETIME_HOURS=wrong)


# --- the message's bytes ----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["Subject", "To", "From", "Message-ID", "List-Unsubscribe", "Content-Type"]),
    value=st.text(st.characters(max_codepoint=127), max_size=120),
)
def test_the_fast_header_path_writes_what_the_standard_library_writes(name, value):
    from email.policy import compat32

    def folded(policy):
        try:
            return policy.fold_binary(name, value)
        except Exception as error:  # noqa: BLE001 - the same refusal is what counts
            return type(error)

    assert folded(mail._SMTP_POLICY) == folded(compat32.clone(linesep="\r\n"))
