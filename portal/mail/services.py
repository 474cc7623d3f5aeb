"""Queue, render and deliver email.

Callers queue a message with :func:`enqueue` inside their own transaction,
so the email exists if and only if the change that caused it was committed.
The worker then delivers due messages with :func:`deliver_due`:

- a batch is claimed in a short transaction (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two workers never claim the
  same message; a claim is a lease that runs out if its worker dies;
- one SMTP connection serves the whole batch;
- 4xx answers and connection errors are retried with exponential backoff and
  jitter; 5xx answers fail the message permanently;
- nothing is deleted: staff see every message and its last error.
"""

from __future__ import annotations

import random
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.policy import compat32
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from portal.extensions import db
from portal.mail.models import MessageStatus, OutboxMessage
from portal.pagination import Page, paginate
from portal.signals import message_failed, message_sent
from portal.timeutil import utcnow
from portal.web.theme import on_brand_color

MAX_ATTEMPTS = 8
BATCH_SIZE = 50
LEASE = timedelta(minutes=5)
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
) -> OutboxMessage:
    """Queue a message in the current transaction (the caller commits)."""
    _name, address = parseaddr(_check_header("To", to))
    if "@" not in address:
        raise InvalidHeader(f"not an email address: {to!r}")
    subject = " ".join(_check_header("Subject", subject).split())[:300]
    for name, value in (headers or {}).items():
        _check_header(name, name)
        _check_header(name, value)
    domain = (parseaddr(current_app.config["PORTAL_MAIL_FROM"])[1].partition("@")[2]) or "portal.invalid"
    message = OutboxMessage(
        kind=kind,
        to_address=to,
        subject=subject,
        text_body=text,
        html_body=html,
        headers=dict(headers or {}),
        locale=locale,
        message_id=make_msgid(domain=domain),
        status=MessageStatus.QUEUED,
        next_attempt_at=send_after or utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def branding() -> dict[str, str]:
    """What mail/email_layout.html needs from the operator's configuration."""
    color = current_app.config["PORTAL_BRAND_COLOR"]
    return {
        "brand_name": current_app.config["PORTAL_BRAND_NAME"],
        "brand_color": color,
        "on_brand_color": on_brand_color(color),
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
        email = MIMEMultipart("alternative")
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


_SMTP_POLICY = compat32.clone(linesep="\r\n")  # SMTP wants CRLF line ends


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

    def connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp


def claim_due(limit: int = BATCH_SIZE) -> list[int]:
    """Claim due messages for this worker and commit the claim."""
    now = utcnow()
    due = or_(
        (OutboxMessage.status == MessageStatus.QUEUED) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == MessageStatus.SENDING) & (OutboxMessage.claimed_until < now),  # a dead worker's lease
    )
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
        )
    )
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status=MessageStatus.SENDING, claimed_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return ids


def _retry_delay(attempts: int) -> timedelta:
    seconds = min(BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1), BACKOFF_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.5, 1.5))


#: Outcomes are written every this many messages: a crash between sending and
#: recording can repeat at most this many messages (with the same Message-ID).
RECORD_EVERY = 25


@dataclass
class _Outcome:
    message_id: int
    attempts: int
    sent: bool
    error: str | None = None
    permanent: bool = False


def _record(outcomes: list[_Outcome]) -> None:
    """Write a batch of outcomes in one transaction and tell the listeners."""
    if not outcomes:
        return
    now = utcnow()
    sent_ids = [o.message_id for o in outcomes if o.sent]
    if sent_ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sent_ids))
            .values(status=MessageStatus.SENT, sent_at=now, attempts=OutboxMessage.attempts + 1, last_error=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        message_sent.send(None, message_ids=sent_ids, sent_at=now)
    failed_ids = []
    for outcome in (o for o in outcomes if not o.sent):
        attempts = outcome.attempts + 1
        values = {"attempts": attempts, "last_error": (outcome.error or "")[:1000], "claimed_until": None}
        if outcome.permanent or attempts >= MAX_ATTEMPTS:
            values["status"] = MessageStatus.FAILED
            failed_ids.append(outcome.message_id)
        else:
            values["status"] = MessageStatus.QUEUED
            values["next_attempt_at"] = now + _retry_delay(attempts)
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == outcome.message_id).values(**values).execution_options(synchronize_session=False)
        )
    if failed_ids:
        message_failed.send(None, message_ids=failed_ids)
    db.session.commit()
    outcomes.clear()


def deliver_due(limit: int = BATCH_SIZE) -> int:
    """Send what is due over one SMTP connection; returns how many were sent."""
    ids = claim_due(limit)
    if not ids:
        return 0
    settings = SmtpSettings.from_url(current_app.config["PORTAL_SMTP_URL"])
    sender = current_app.config["PORTAL_MAIL_FROM"]
    envelope_sender = parseaddr(sender)[1]
    batch = [
        (m.id, m.attempts, m.to_address, build_email(m, sender))
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id))
    ]
    db.session.commit()  # end the read; each batch of outcomes is its own short transaction
    outcomes: list[_Outcome] = []
    sent = 0
    smtp: smtplib.SMTP | None = None
    try:
        for position, (message_id, attempts, to_address, email) in enumerate(batch):
            try:
                if smtp is None:
                    smtp = settings.connect()
                smtp.sendmail(envelope_sender, [parseaddr(to_address)[1]], email.as_bytes(policy=_SMTP_POLICY))
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                outcomes.append(_Outcome(message_id, attempts, False, f"{code} {text!r}", permanent=code >= 500))
            except smtplib.SMTPResponseException as error:
                outcomes.append(_Outcome(message_id, attempts, False, f"{error.smtp_code} {error.smtp_error!r}", permanent=error.smtp_code >= 500))
                if error.smtp_code == 421:
                    smtp = _close(smtp)
            except (smtplib.SMTPException, OSError, socket.timeout) as error:
                # The connection is gone: this and every other claimed message
                # go back to the queue for a later attempt.
                smtp = _close(smtp)
                outcomes.extend(_Outcome(m_id, m_attempts, False, f"{type(error).__name__}: {error}") for m_id, m_attempts, _, _ in batch[position:])
                break
            else:
                outcomes.append(_Outcome(message_id, attempts, True))
                sent += 1
            if len(outcomes) >= RECORD_EVERY:
                _record(outcomes)
    finally:
        _close(smtp)
        _record(outcomes)
    return sent


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
    message.next_attempt_at = utcnow()
    message.last_error = None
    return True
