"""The outbox against a real SMTP server: delivered once, retried, never lost."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.mail import services as mail
from portal.mail.models import MessageStatus, OutboxMessage
from portal.timeutil import utcnow
from portal.worker import run_jobs_once

HTMX = {"HX-Request": "true"}


def _reload(db, message):
    db.session.expire_all()
    return db.session.get(OutboxMessage, message.id)


def test_a_queued_message_arrives_as_multipart_with_a_message_id(db, smtp_server, make_message):
    recorder, _port = smtp_server
    message = make_message(to="Lena Vogel <lena@kunde.example>", subject="Ihre Meinung zählt", headers={"List-Unsubscribe": "<https://portal.example/u/x>"})
    assert mail.deliver_due() == 1
    [received] = recorder.messages
    assert received["Subject"] == "Ihre Meinung zählt"
    assert received["Message-ID"] == message.message_id
    assert received["List-Unsubscribe"] == "<https://portal.example/u/x>"
    assert received.get_body(("plain",)).get_content().startswith("Hallo,")
    assert "<strong>bitte</strong>" in received.get_body(("html",)).get_content()
    assert recorder.envelopes[0].rcpt_tos == ["lena@kunde.example"]
    sent = _reload(db, message)
    assert sent.status == MessageStatus.SENT and sent.sent_at and sent.attempts == 1
    assert mail.deliver_due() == 0  # nothing is sent twice


def test_a_message_is_found_replaced_and_cancelled_by_its_reference_only_while_queued(db, make_message):
    later = utcnow() + timedelta(minutes=10)
    message = make_message(reference="followup_task:42", send_after=later)
    make_message(reference="followup_task:7", text="Hallo,\nfollowup_task:42")  # a body naming the reference is not it
    assert mail.find("followup_task:42").id == message.id and mail.find("followup_task:1") is None
    now = utcnow()
    assert mail.replace("followup_task:42", subject="Neu", text="neu", html=None, locale="en", due_by=now)
    replaced = _reload(db, message)
    assert (replaced.subject, replaced.text_body, replaced.html_body, replaced.locale) == ("Neu", "neu", None, "en")
    assert replaced.due_at <= now and replaced.next_attempt_at <= now  # brought forward
    assert mail.cancel("followup_task:42") == 1
    assert _reload(db, message).status == MessageStatus.CANCELLED
    assert not mail.replace("followup_task:42", subject="x", text="x", html=None, locale="de")  # nothing queued any more
    assert mail.find("followup_task:42", queued_only=True) is None and mail.find("followup_task:42").id == message.id
    assert mail.find("followup_task:7").status == MessageStatus.QUEUED  # the other one untouched
    assert mail.cancel("followup_task:42") == 0


def test_a_cancelled_message_is_never_sent(db, smtp_server, make_message):
    recorder, _port = smtp_server
    make_message(reference="r:1")
    mail.cancel("r:1")
    assert mail.deliver_due() == 0 and recorder.messages == []


def test_the_worker_sends_mail(db, runner, smtp_server, make_message):
    recorder, _ = smtp_server
    make_message()
    assert run_jobs_once()["send_mail"] == 1
    make_message()
    result = runner.invoke(args=["worker", "--once"])
    assert "send_mail: 1" in result.output and len(recorder.messages) == 2


def _make_due(db):
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


@pytest.mark.parametrize(
    ("field", "value"),
    [("to", "a@b.example\r\nBcc: victim@x.example"), ("subject", "Hi\nBcc: victim@x.example"), ("to", "no address")],
)
def test_header_injection_is_refused(app, field, value):
    kwargs = {"to": "a@b.example", "subject": "ok", "text": "t", "html": None, "kind": "k", "locale": "de"}
    kwargs[field] = value
    with pytest.raises(mail.InvalidHeader):
        mail.enqueue(**kwargs)


def test_extra_header_injection_is_refused(app):
    with pytest.raises(mail.InvalidHeader):
        mail.enqueue(to="a@b.example", subject="s", text="t", html=None, kind="k", locale="de", headers={"X-A": "1\r\nBcc: x@y.example"})


def test_smtp_down_then_back_loses_nothing_and_sends_once(app, db, make_message, smtp_server):
    recorder, port = smtp_server
    messages = [make_message(to=f"kunde{n}@customer.example") for n in range(3)]
    app.config["PORTAL_SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    assert mail.deliver_due() == 0
    for message in messages:
        waiting = _reload(db, message)
        assert waiting.status == MessageStatus.QUEUED and waiting.attempts == 1
        assert waiting.next_attempt_at > utcnow() and "Error" in waiting.last_error
    assert mail.deliver_due() == 0  # backing off: not due yet

    app.config["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    _make_due(db)
    assert mail.deliver_due() == 3
    assert mail.deliver_due() == 0
    assert sorted(m["To"] for m in recorder.messages) == sorted(m.to_address for m in messages)


def test_permanent_refusal_fails_at_once_and_temporary_is_retried(db, make_message, smtp_server):
    rejected = make_message(to="reject@customer.example")
    busy = make_message(to="busy@customer.example")
    fine = make_message(to="fine@customer.example")
    assert mail.deliver_due() == 1
    assert _reload(db, rejected).status == MessageStatus.FAILED and "550" in _reload(db, rejected).last_error
    assert _reload(db, busy).status == MessageStatus.QUEUED and "451" in _reload(db, busy).last_error
    assert _reload(db, fine).status == MessageStatus.SENT


def test_backoff_grows_and_gives_up_after_the_queue_lifetime(db, app, make_message, monkeypatch):
    message = make_message()
    app.config["PORTAL_SMTP_URL"] = "smtp://127.0.0.1:9"
    delays = []
    for _ in range(8):  # what used to be the attempt limit
        _make_due(db)
        mail.deliver_due()
        current = _reload(db, message)
        delays.append((current.next_attempt_at - utcnow()).total_seconds())
    assert current.status == MessageStatus.QUEUED and current.attempts == 8
    assert delays[3] > delays[0]
    later = utcnow() + timedelta(hours=72, minutes=1)
    monkeypatch.setattr(mail, "utcnow", lambda: later)
    _make_due(db)
    mail.deliver_due()
    current = _reload(db, message)
    assert current.status == MessageStatus.FAILED and current.attempts == 9
    assert current.last_error.startswith("Gave up after 72 hours in the queue") and "Error" in current.last_error


def test_an_expired_lease_is_taken_over(db, make_message, smtp_server):
    message = make_message()
    stuck = _reload(db, message)
    stuck.status, stuck.claimed_until = MessageStatus.SENDING, utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert mail.deliver_due() == 1


def test_a_live_lease_is_left_alone(db, make_message, smtp_server):
    message = make_message()
    claimed = _reload(db, message)
    claimed.status, claimed.claimed_until = MessageStatus.SENDING, utcnow() + timedelta(minutes=1)
    db.session.commit()
    assert mail.deliver_due() == 0


def test_two_workers_never_send_the_same_message(app, db, make_message, smtp_server):
    recorder, _ = smtp_server
    for n in range(40):
        make_message(to=f"kunde{n}@customer.example")
    counts = []

    def worker():
        with app.app_context():
            from portal.extensions import write_intent

            write_intent.set(True)
            total = 0
            while (sent := mail.deliver_due(limit=5)) or total == 0:
                total += sent
                if not sent:
                    break
            counts.append(total)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(counts) == 40
    assert len(recorder.messages) == 40
    assert len({m["Message-ID"] for m in recorder.messages}) == 40
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.status != MessageStatus.SENT)) is None


# --- /staff/outbox ---------------------------------------------------------------


def test_outbox_lists_messages_with_status_filter(login_as, make_message):
    make_message(subject="Erste Nachricht")
    make_message(subject="Fehlgeschlagen", status=MessageStatus.FAILED)
    client = login_as("admin")
    page = client.get("/staff/outbox/").get_data(as_text=True)
    assert "Erste Nachricht" in page and "Fehlgeschlagen" in page and "<html" in page
    fragment = client.get("/staff/outbox/?status=failed", headers=HTMX).get_data(as_text=True)
    assert "Fehlgeschlagen" in fragment and "Erste Nachricht" not in fragment and "<html" not in fragment
    assert client.get("/staff/outbox/?status=bogus").status_code == 400


def test_the_outbox_names_each_kind_of_email_in_words(login_as, make_message):
    invitation = make_message(kind="survey_invitation")
    make_message(kind="followup_task")
    client = login_as("admin", language="de")
    page = client.get("/staff/outbox/").get_data(as_text=True)
    assert "Umfrage-Einladung" in page and "Neue Nachfassaufgabe" in page
    assert "survey_invitation" not in page and "followup_task" not in page
    assert "Umfrage-Einladung" in client.get(f"/staff/outbox/{invitation.id}").get_data(as_text=True)


def test_outbox_empty_state(login_as):
    assert "No messages yet" in login_as("admin").get("/staff/outbox/").get_data(as_text=True)


def test_message_page_shows_text_and_frames_the_html_safely(login_as, make_message):
    message = make_message(html="<p>Hallo</p><script>alert(1)</script>")
    client = login_as("admin")
    page = client.get(f"/staff/outbox/{message.id}").get_data(as_text=True)
    assert "bitte bewerten Sie uns" in page and f'src="/staff/outbox/{message.id}/html"' in page and "sandbox" in page
    html = client.get(f"/staff/outbox/{message.id}/html")
    assert html.headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert client.get("/staff/outbox/999999").status_code == 404


def test_resend_queues_a_failed_message_again(db, login_as, make_message):
    message = make_message(status=MessageStatus.FAILED)
    client = login_as("admin")
    response = client.post(f"/staff/outbox/{message.id}/resend", data={"csrf_token": client.csrf})
    assert response.status_code == 303
    assert _reload(db, message).status == MessageStatus.QUEUED


def test_resend_with_htmx_returns_the_status_fragment(db, login_as, make_message):
    message = make_message(status=MessageStatus.FAILED)
    client = login_as("admin")
    response = client.post(f"/staff/outbox/{message.id}/resend", data={"csrf_token": client.csrf}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "queued again" in html


def test_resend_leaves_sent_messages_alone(db, login_as, make_message):
    message = make_message(status=MessageStatus.SENT)
    client = login_as("admin")
    client.post(f"/staff/outbox/{message.id}/resend", data={"csrf_token": client.csrf})
    assert _reload(db, message).status == MessageStatus.SENT


def test_resend_needs_csrf(login_as, make_message):
    message = make_message(status=MessageStatus.FAILED)
    assert login_as("admin").post(f"/staff/outbox/{message.id}/resend").status_code == 400
