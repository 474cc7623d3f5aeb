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
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from portal.extensions import db
from portal.mail.models import MessageStatus, OutboxMessage
from portal.pagination import Page, paginate
from portal.timeutil import utcnow

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


def render_email(template: str, locale: str, **context) -> tuple[str, str, str]:
    """Render ``<template>.subject.txt``, ``.txt`` and ``.html`` in ``locale``."""
    with force_locale(locale):
        subject = render_template(f"{template}.subject.txt", **context).strip()
        text = render_template(f"{template}.txt", **context)
        html = render_template(f"{template}.html", **context)
    return subject, text, html


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at.replace(tzinfo=UTC))
    email["Auto-Submitted"] = "auto-generated"
    for name, value in (message.headers or {}).items():
        email[name] = value
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    return email


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


def _record(message_id: int, *, sent: bool = False, error: str | None = None, permanent: bool = False) -> None:
    message = db.session.get(OutboxMessage, message_id)
    message.claimed_until = None
    if sent:
        message.status = MessageStatus.SENT
        message.sent_at = utcnow()
        message.attempts += 1
        message.last_error = None
    else:
        message.attempts += 1
        message.last_error = (error or "")[:1000]
        if permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = MessageStatus.FAILED
        else:
            message.status = MessageStatus.QUEUED
            message.next_attempt_at = utcnow() + _retry_delay(message.attempts)
    db.session.commit()


def deliver_due(limit: int = BATCH_SIZE) -> int:
    """Send what is due; returns how many messages were sent."""
    ids = claim_due(limit)
    if not ids:
        return 0
    settings = SmtpSettings.from_url(current_app.config["PORTAL_SMTP_URL"])
    sender = current_app.config["PORTAL_MAIL_FROM"]
    sent = 0
    smtp: smtplib.SMTP | None = None
    try:
        for position, message_id in enumerate(ids):
            message = db.session.get(OutboxMessage, message_id)
            try:
                if smtp is None:
                    smtp = settings.connect()
                smtp.send_message(build_email(message, sender), from_addr=parseaddr(sender)[1], to_addrs=[message.to_address])
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                _record(message_id, error=f"{code} {text!r}", permanent=code >= 500)
            except smtplib.SMTPResponseException as error:
                _record(message_id, error=f"{error.smtp_code} {error.smtp_error!r}", permanent=error.smtp_code >= 500)
                if error.smtp_code in (421,):
                    smtp = _close(smtp)
            except (smtplib.SMTPException, OSError, socket.timeout) as error:
                # The connection is gone: this and every other claimed message
                # go back to the queue for a later attempt.
                smtp = _close(smtp)
                for pending in ids[position:]:
                    _record(pending, error=f"{type(error).__name__}: {error}")
                break
            else:
                _record(message_id, sent=True)
                sent += 1
    finally:
        _close(smtp)
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
