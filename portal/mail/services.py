"""Queue, render and deliver email.

Callers queue a message with :func:`enqueue` inside their own transaction,
so the email exists if and only if the change that caused it was committed.
A caller that may need the message again gives it a ``reference`` of its own
("followup_task:42") and finds (:func:`find`), rewrites (:func:`replace`) or
withdraws (:func:`cancel`) it by that reference while it is still queued;
the rows are the mail package's alone.
The worker then delivers due messages with :func:`deliver_due`, which
guarantees:

- **Never lost.** A message is queued, sending, sent or failed, and nothing
  is deleted: staff see every message, its attempts and its last error.
- **At most one duplicate per crash.** Each outcome is committed in its own
  short transaction as soon as the server answered, and the next message is
  handed over (SMTP DATA) only once that commit is done. So a worker killed
  at any moment has recorded every message the server accepted, except at
  most the one in flight, which the next worker sends again with the same
  Message-ID. The commit runs in a thread of its own while the next
  message's MAIL and RCPT go out, so it costs little time.
- **Two workers never claim the same message.** A batch is claimed in a
  short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  ``BEGIN IMMEDIATE`` on SQLite) and tagged with the claim's name.
- **A dead worker's claims are taken over within seconds.** A claim is a
  lease of ``LEASE`` (10 s), which a thread of the worker renews every
  ``HEARTBEAT_SECONDS`` while it works on the batch, also while it waits on
  a slow server: a slow but live worker keeps its messages, and once a dead
  worker's lease has run out, the next worker to poll claims them. A worker
  that cannot renew (it lost the database) stops before its lease may have
  run out, and outcomes are recorded only while the claim is still the
  worker's own, so a worker whose claim was taken over stops too; as after
  a crash, only the message in flight can then go out twice. Workers
  compare leases with their own clocks: keep the hosts' clocks in sync.
- **Listeners hear of each sent message exactly once.** ``message_sent``
  (an invitation becomes "sent") is sent once per batch, at its end, in the
  transaction that releases the claim; a dead worker's sent messages are
  announced by the worker that takes its claim over.
- **Temporary failures are retried for the queue lifetime.** Connection
  errors, failures to connect or sign in to the relay, and 4xx answers are
  retried with exponential backoff and jitter (30 s doubling up to an
  hour, each delay between half and one and a half times that) until
  ``PORTAL_MAIL_QUEUE_LIFETIME_HOURS`` (72 by default) have passed since
  the message became due. The last try is made when the lifetime runs out;
  if it fails too, the message fails for good with "Gave up after N hours
  in the queue. Last error: ...". A 5xx answer to a message (to its
  sender, recipient or content) fails it at once. There is no limit on the
  number of attempts.
- One SMTP connection serves the whole batch.
"""

from __future__ import annotations

import logging
import os
import random
import re
import secrets
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import bindparam, or_, select, update

from portal.extensions import db, write_intent
from portal.mail.models import MessageStatus, OutboxMessage
from portal.pagination import Page, paginate
from portal.signals import message_failed, message_sent
from portal.timeutil import utcnow
from portal.web import theme
from portal.web.transaction import unit_of_work

log = logging.getLogger(__name__)

BATCH_SIZE = 50
#: A claim runs out this long after its worker last renewed it...
LEASE = timedelta(seconds=10)
#: ...which a live worker does this often while it works on the batch.
HEARTBEAT_SECONDS = 2.5
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


class InvalidHeader(ValueError):
    """A header value that could smuggle in other headers."""


def _check_header(name: str, value: str) -> str:
    if any(ch in value for ch in "\r\n\0"):
        raise InvalidHeader(f"line break in email header {name}")
    return value


def enqueue(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    kind: str,
    locale: str,
    headers: dict[str, str] | None = None,
    send_after: datetime | None = None,
    reference: str | None = None,
) -> OutboxMessage:
    """Queue a message in the current transaction (the caller commits); ``reference``
    names it for :func:`find`, :func:`replace` and :func:`cancel`."""
    _name, address = parseaddr(_check_header("To", to))
    if "@" not in address:
        raise InvalidHeader(f"not an email address: {to!r}")
    subject = " ".join(_check_header("Subject", subject).split())[:300]
    for name, value in (headers or {}).items():
        _check_header(name, name)
        _check_header(name, value)
    domain = theme.brand().sender_domain
    due_at = send_after or utcnow()
    message = OutboxMessage(
        kind=kind,
        reference=reference,
        to_address=to,
        subject=subject,
        text_body=text,
        html_body=html,
        headers=dict(headers or {}),
        locale=locale,
        message_id=make_msgid(domain=domain),
        status=MessageStatus.QUEUED,
        next_attempt_at=due_at,
        due_at=due_at,
    )
    db.session.add(message)
    db.session.flush()
    return message


def find(reference: str, queued_only: bool = False) -> OutboxMessage | None:
    """The newest message with this reference (only a still-queued one if asked), or None."""
    query = select(OutboxMessage).where(OutboxMessage.reference == reference)
    if queued_only:
        query = query.where(OutboxMessage.status == MessageStatus.QUEUED)
    return db.session.scalar(query.order_by(OutboxMessage.id.desc()).limit(1))


def replace(reference: str, *, subject: str, text: str, html: str | None, locale: str, due_by: datetime | None = None) -> bool:
    """Rewrite the newest still-queued message with this reference (a worker may not
    have claimed it meanwhile); ``due_by`` brings it forward to that time at the latest.
    False when there is nothing queued to rewrite (sent already, or never queued)."""
    message = find(reference, queued_only=True)
    if message is None:
        return False
    values = {"subject": " ".join(_check_header("Subject", subject).split())[:300], "text_body": text, "html_body": html, "locale": locale}
    if due_by is not None:
        values.update(next_attempt_at=min(message.next_attempt_at, due_by), due_at=min(message.due_at, due_by))
    changed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.QUEUED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(message)
    return changed.rowcount == 1


def cancel(reference: str) -> int:
    """Withdraw every still-queued message with this reference; how many were withdrawn.
    (What a worker has claimed already goes out.)"""
    changed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.reference == reference, OutboxMessage.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.CANCELLED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session="fetch")
    )
    return changed.rowcount


def branding() -> dict[str, str]:
    """What mail/email_layout.html needs from the operator's brand."""
    brand = theme.brand()
    return {
        "brand_name": brand.name,
        "brand_color": brand.color,
        "on_brand_color": brand.on_color,
        "brand_logo_url": brand.email_logo_url,
    }


def render_email(template: str, locale: str, **context) -> tuple[str, str, str]:
    """Render ``<template>.subject.txt``, ``.txt`` and ``.html`` in ``locale``."""
    context = {**branding(), "lang": locale, **context}
    with force_locale(locale):
        subject = render_template(f"{template}.subject.txt", **context).strip()
        text = render_template(f"{template}.txt", **context)
        html = render_template(f"{template}.html", **context)
    return subject, text, html


def build_email(message: OutboxMessage, sender: str) -> Message:
    """A multipart/alternative (text + HTML) message.

    Built with the compat32 classes: several times faster than EmailMessage's
    header parsing, which matters at thousands of messages a minute. Every
    header value was checked for line breaks when the message was queued.
    """
    email: Message
    if message.html_body:
        # A random boundary that base64 bodies cannot contain ("_" is not in
        # their alphabet), so the generator need not search the parts for it.
        email = MIMEMultipart("alternative", boundary=f"=_{secrets.token_hex(16)}")
        email.attach(MIMEText(message.text_body, "plain", "utf-8"))
        email.attach(MIMEText(message.html_body, "html", "utf-8"))
    else:
        email = MIMEText(message.text_body, "plain", "utf-8")
    email["From"] = _address_header(sender)
    email["To"] = _address_header(message.to_address)
    email["Subject"] = message.subject if message.subject.isascii() else Header(message.subject, "utf-8", header_name="Subject")
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at.replace(tzinfo=UTC))
    email["Auto-Submitted"] = "auto-generated"
    for name, value in (message.headers or {}).items():
        email[name] = value
    return email


#: What str.splitlines() breaks an ASCII string at, as email.header.Header does.
_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e]")


class _Compat32(Compat32):
    """compat32 with a shortcut for the common header: ASCII, short enough
    for one line. email.header.Header folds such a header into the very same
    bytes, but several times slower: half the cost of building a message."""

    def fold_binary(self, name, value):
        if isinstance(value, str) and value.isascii() and len(name) + len(value) + 2 <= self.max_line_length and not _LINE_BREAK.search(value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_SMTP_POLICY = _Compat32(linesep="\r\n")  # SMTP wants CRLF line ends


def _address_header(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


# --- delivery ---------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: str  # "none", "starttls" or "ssl"
    timeout: float = 20.0

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """smtp://[user:pass@]host[:port] (add ?starttls=1), or smtps://... for TLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("PORTAL_SMTP_URL must start with smtp:// or smtps://")
        tls = "ssl" if parts.scheme == "smtps" else ("starttls" if "starttls=1" in parts.query else "none")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if tls == "ssl" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def connect(self, before_data: Callable[[], None] | None = None) -> smtplib.SMTP:
        """A signed-in connection; ``before_data`` runs before each message is handed over."""
        if self.tls == "ssl":
            smtp: _Smtp = _SmtpSsl(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            smtp = _Smtp(self.host, self.port, timeout=self.timeout)
        try:
            if self.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        smtp.before_data = before_data
        return smtp


class _Smtp(smtplib.SMTP):
    """Calls ``before_data`` in ``sendmail`` once the server accepted sender
    and recipient, right before DATA hands the message over: until then, a
    crash cannot have delivered it."""

    before_data: Callable[[], None] | None = None

    def data(self, msg):
        if self.before_data is not None:
            self.before_data()
        return super().data(msg)


class _SmtpSsl(_Smtp, smtplib.SMTP_SSL):
    pass


def claim_due(claimant: str, limit: int = BATCH_SIZE) -> list[int]:
    """Claim due messages for ``claimant`` and commit the claim.

    Due are queued messages whose time has come and messages whose worker
    let the lease run out (it died, or lost the database for longer than the
    lease). The same transaction tells the listeners about the messages such
    a worker sent but had not announced yet.
    """
    now = utcnow()
    due = or_(
        (OutboxMessage.status == MessageStatus.QUEUED) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == MessageStatus.SENDING) & (OutboxMessage.claimed_until < now),
    )
    with unit_of_work():
        _announce_sent(OutboxMessage.claimed_until < now)
        ids = list(
            db.session.scalars(
                select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
            )
        )
        if ids:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(status=MessageStatus.SENDING, claimed_by=claimant, claimed_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
    return ids


def _announce_sent(*where) -> None:
    """Send ``message_sent`` for the sent messages that still carry a claim,
    and release them, in one transaction: the listeners hear of each exactly
    once. A batch announces its own at its end, in one go, which costs far
    less than one signal per message."""
    sent = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.sent_at).where(OutboxMessage.status == MessageStatus.SENT, *where).with_for_update(skip_locked=True)
    ).all()
    if not sent:
        return
    ids = [row.id for row in sent]
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claimed_by=None, claimed_until=None).execution_options(synchronize_session=False)
    )
    message_sent.send(None, message_ids=ids, sent_at=max(row.sent_at for row in sent))


def _claimant() -> str:
    """Names one claim: the host and process say which worker holds it."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(6)}"


class _Lease:
    """Keeps a claim alive while its worker works on the batch.

    A thread renews the lease every HEARTBEAT_SECONDS, also while the worker
    waits on a slow SMTP server, so a live worker keeps its messages and a
    dead one loses them LEASE after its last renewal. If renewing fails (the
    database is out of reach or locked), :meth:`held` turns false before the
    lease can have run out, and the worker sends nothing more from the batch:
    once the lease is gone, another worker may be sending those messages.
    """

    def __init__(self, claimant: str, ids: list[int], renewed_at: float):
        self.claimant = claimant
        self._ids = ids
        self._app = current_app._get_current_object()
        self._valid_until = renewed_at + LEASE.total_seconds() - HEARTBEAT_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="mail-lease", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def held(self) -> bool:
        return time.monotonic() < self._valid_until

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            started = time.monotonic()
            try:
                self._renew()
            except Exception:  # noqa: BLE001 - held() turns false in time; the next beat tries again
                log.warning("could not renew the lease of mail claim %s", self.claimant, exc_info=True)
            else:
                self._valid_until = started + LEASE.total_seconds() - HEARTBEAT_SECONDS

    def _renew(self) -> None:
        with self._app.app_context(), unit_of_work():  # a session and a transaction of its own
            write_intent.set(True)
            # Rows the recorder is writing are skipped (renewed at the next
            # beat): waiting for them could deadlock with its transaction.
            held = (
                select(OutboxMessage.id)
                .where(OutboxMessage.id.in_(self._ids), OutboxMessage.claimed_by == self.claimant)
                .with_for_update(skip_locked=True)
            )
            db.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(held)).values(claimed_until=utcnow() + LEASE).execution_options(synchronize_session=False)
            )


def _retry_delay(attempts: int) -> timedelta:
    seconds = min(BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.5, 1.5))


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    due_at: datetime
    recipient: str
    data: bytes


class _RelayUnavailable(Exception):
    """Connecting or signing in to the relay failed: nothing to do with a message."""


class _ClaimLost(Exception):
    """Another worker took the claim over: what is left of the batch is its own now."""


_outbox = OutboxMessage.__table__

#: Built once: the one statement each sent message costs. The claim stays
#: on the message until the batch announces it (:func:`_announce_sent`).
_MARK_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("outbox_id"), _outbox.c.claimed_by == bindparam("claimant"))
    .values(status=MessageStatus.SENT, sent_at=bindparam("now"), attempts=_outbox.c.attempts + 1, last_error=None)
)


def _record_failures(messages: list[_Claimed], error: str, permanent: bool, claimant: str) -> bool:
    """Commit a failed attempt for each message: back to the queue with a
    backoff, or FAILED on a permanent answer or past the queue lifetime.
    False if the claim on any of them was lost."""
    now = utcnow()
    lifetime_hours = current_app.config["PORTAL_MAIL_QUEUE_LIFETIME_HOURS"]
    failed: list[int] = []
    all_mine = True
    with unit_of_work():
        for message in messages:
            values: dict = {"attempts": message.attempts + 1, "claimed_by": None, "claimed_until": None}
            give_up_at = message.due_at + timedelta(hours=lifetime_hours)
            if permanent:
                values.update(status=MessageStatus.FAILED, last_error=error[:1000])
            elif now >= give_up_at:
                values.update(status=MessageStatus.FAILED, last_error=f"Gave up after {lifetime_hours:g} hours in the queue. Last error: {error}"[:1000])
            else:  # the last try is made when the lifetime runs out
                values.update(status=MessageStatus.QUEUED, last_error=error[:1000], next_attempt_at=min(now + _retry_delay(message.attempts + 1), give_up_at))
            recorded = db.session.execute(
                update(_outbox).where(_outbox.c.id == message.id, _outbox.c.claimed_by == claimant).values(**values)
            ).rowcount
            all_mine = all_mine and bool(recorded)
            if recorded and values["status"] == MessageStatus.FAILED:
                failed.append(message.id)
        if failed:
            message_failed.send(None, message_ids=failed)
    return all_mine


class _Recorder:
    """Commits each outcome in a thread of its own, while the next message
    is being handed to the server.

    The next message's DATA waits in :meth:`settle` until the outcomes
    before it are committed, so a crash can still repeat only the message
    in flight; meanwhile the commit runs while the worker waits for the
    server's answers to MAIL and RCPT, instead of adding to each message.
    """

    def __init__(self, claimant: str):
        self.claimant = claimant
        self._app = current_app._get_current_object()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-record")
        self._pending: list[Future] = []

    def __enter__(self) -> _Recorder:
        self._thread.submit(self._enter).result()
        return self

    def __exit__(self, *_exc) -> None:
        try:
            self._wait()
        finally:
            self._thread.submit(self._leave).result()
            self._thread.shutdown()

    def sent(self, message: _Claimed) -> None:
        self._pending.append(self._thread.submit(self._record_sent, message))

    def failed(self, messages: list[_Claimed], error: str, permanent: bool) -> None:
        self._pending.append(self._thread.submit(_record_failures, messages, error, permanent, self.claimant))

    def settle(self) -> None:
        """Wait until every outcome is committed; raise _ClaimLost if one was no longer ours."""
        if not self._wait():
            raise _ClaimLost(self.claimant)

    def _wait(self) -> bool:
        pending, self._pending = self._pending, []
        return all([future.result() for future in pending])  # a list: wait for every one, also after a False

    def _enter(self) -> None:
        self._context = self._app.app_context()
        self._context.push()
        write_intent.set(True)
        # On PostgreSQL one connection serves the batch, in autocommit: each
        # sent message costs a single round trip. SQLite takes a connection
        # per message, as the next writer in the queue gets its turn when a
        # connection is checked in (portal.extensions.WriterQueue).
        self._connection = None if db.engine.dialect.name == "sqlite" else db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _leave(self) -> None:
        if self._connection is not None:
            self._connection.close()
        db.session.remove()
        self._context.pop()

    def _record_sent(self, message: _Claimed) -> bool:
        """Commit that the server accepted ``message``: a crash after this
        commit cannot send it again. False if the claim was lost. A bare
        connection, not the session: this runs once per message."""
        values = {"outbox_id": message.id, "claimant": self.claimant, "now": utcnow()}
        if self._connection is not None:
            return bool(self._connection.execute(_MARK_SENT, values).rowcount)
        with db.engine.begin() as connection:
            return bool(connection.execute(_MARK_SENT, values).rowcount)


def deliver_due(limit: int = BATCH_SIZE) -> int:
    """Claim what is due and send it over one SMTP connection; returns how many were sent.

    Every transaction here writes: on SQLite they begin IMMEDIATE.
    """
    intent = write_intent.set(True)
    try:
        renewed_at = time.monotonic()
        claimant = _claimant()
        ids = claim_due(claimant, limit)
        if not ids:
            return 0
        with unit_of_work():  # a short read: each outcome is a transaction of its own
            brand = theme.brand()  # read here: the sends below must not hold a transaction open
            sender = brand.sender
            batch = [
                _Claimed(m.id, m.attempts, m.due_at, parseaddr(m.to_address)[1], build_email(m, sender).as_bytes(policy=_SMTP_POLICY))
                for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id))
            ]
        with _Lease(claimant, ids, renewed_at) as lease, _Recorder(claimant) as recorder:
            sent = _send(batch, lease, recorder, brand.sender_email)
        with unit_of_work():
            _announce_sent(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == claimant)
        return sent
    finally:
        write_intent.reset(intent)


class RelayStatus:
    """Whether the relay answered when this process last tried it, so that an
    outage is logged once when it begins and once when it ends: a relay down
    for a day is tried hundreds of times, and a line per attempt would bury
    everything else in the log (each message's last error is in the outbox)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: datetime | None = None
        self.failed_attempts = 0

    def failed(self, reason: str) -> None:
        with self._lock:
            self.failed_attempts += 1
            if self.down_since is not None:
                return
            self.down_since = utcnow()
        log.warning("SMTP relay unavailable; email waits in the outbox and is retried: %s", reason)

    def answered(self) -> None:
        with self._lock:
            if self.down_since is None:
                return
            since, attempts = self.down_since, self.failed_attempts
            self.down_since, self.failed_attempts = None, 0
        log.warning("SMTP relay available again after %s (%d failed attempts); sending the outbox", utcnow() - since, attempts)


#: This process's view of the relay (each worker process logs its own outage).
relay = RelayStatus()


def _send(batch: list[_Claimed], lease: _Lease, recorder: _Recorder, envelope_sender: str) -> int:
    """Send the batch; each outcome is committed before the next message is handed over.

    Stops early when the lease may have run out or a record shows that
    another worker took the claim over: what is left is that worker's now.
    """
    settings = SmtpSettings.from_url(current_app.config["PORTAL_SMTP_URL"])
    sent = 0
    smtp: smtplib.SMTP | None = None
    try:
        for position, message in enumerate(batch):
            if not lease.held():
                break
            try:
                if smtp is None:
                    smtp = _connect(settings, before_data=recorder.settle)
                    relay.answered()
                smtp.sendmail(envelope_sender, [message.recipient], message.data)
            except _ClaimLost:
                break
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                recorder.failed([message], f"{code} {text!r}", code >= 500)
            except smtplib.SMTPResponseException as error:
                recorder.failed([message], f"{error.smtp_code} {error.smtp_error!r}", error.smtp_code >= 500)
                if error.smtp_code == 421:
                    smtp = _close(smtp)
            except (_RelayUnavailable, smtplib.SMTPException, OSError) as error:
                # The connection is gone: this and every other claimed message
                # go back to the queue for a later attempt.
                smtp = _close(smtp)
                relay.failed(_describe(error))
                recorder.failed(batch[position:], _describe(error), False)
                break
            else:
                recorder.sent(message)
                sent += 1
    finally:
        _close(smtp)
    return sent


def _connect(settings: SmtpSettings, before_data: Callable[[], None]) -> smtplib.SMTP:
    """Connect and sign in; any failure, even a 5xx greeting or a refused
    login, is the relay's, so the batch waits for a later attempt."""
    try:
        return settings.connect(before_data)
    except (smtplib.SMTPException, OSError) as error:
        raise _RelayUnavailable(_describe(error)) from error


def _describe(error: BaseException) -> str:
    return str(error) if isinstance(error, _RelayUnavailable) else f"{type(error).__name__}: {error}"


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return None


# --- staff -------------------------------------------------------------------


def list_messages(status: str | None, page: int, per_page: int = 50) -> Page[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    return paginate(query, page, per_page)


def resend(message: OutboxMessage) -> bool:
    """Queue a failed message again; anything else is left alone."""
    if message.status != MessageStatus.FAILED:
        return False
    message.status = MessageStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = message.due_at = utcnow()  # a new queue lifetime
    message.last_error = None
    return True
