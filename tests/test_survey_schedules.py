"""Worker schedules: expiry, one reminder, periodic NPS waves."""

from datetime import timedelta

from sqlalchemy import func, select

from portal.mail import services as mail
from portal.mail.models import OutboxMessage
from portal.surveys import services as surveys
from portal.surveys.models import Invitation, InvitationStatus
from portal.timeutil import utcnow


def _sent(db, invitation, days_ago: float):
    invitation = db.session.get(Invitation, invitation.id)
    invitation.status = InvitationStatus.SENT
    invitation.sent_at = utcnow() - timedelta(days=days_ago)
    invitation.created_at = invitation.sent_at
    invitation.expires_at = invitation.sent_at + timedelta(days=14)
    db.session.commit()
    return invitation


def test_expiry(db, make_invitation):
    invitation, _ = make_invitation()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert surveys.expire_invitations() == 1
    assert db.session.get(Invitation, invitation.id).status == InvitationStatus.EXPIRED


def test_one_reminder_after_the_delay_and_both_links_work(client, db, make_invitation, smtp_server):
    recorder, _ = smtp_server
    invitation, first_token = make_invitation(kind="nps")
    _sent(db, invitation, days_ago=2)
    assert surveys.send_reminders() == 0  # the survey waits 5 days
    _sent(db, invitation, days_ago=6)
    assert surveys.send_reminders() == 1
    db.session.commit()
    assert surveys.send_reminders() == 0  # only one
    assert mail.deliver_due() >= 1
    reminder = [m for m in recorder.messages if m["Subject"].startswith("Erinnerung")]  # a German contact
    assert reminder, [m["Subject"] for m in recorder.messages]
    import re

    second_token = re.search(r"/s/([A-Za-z0-9_-]+)", reminder[0].get_body(("plain",)).get_content()).group(1)
    assert second_token != first_token
    assert client.get(f"/s/{first_token}").status_code == 200
    assert client.get(f"/s/{second_token}").status_code == 200


def test_no_reminder_for_answered_or_opted_out(client, db, make_invitation):
    answered, token = make_invitation(kind="nps")
    client.post(f"/s/{token}", data={"question": answered.survey.questions[0].id, "answer": "8"})
    opted, _ = make_invitation(kind="nps")
    _sent(db, opted, days_ago=6)
    opted.contact.survey_opt_out = True
    db.session.commit()
    assert surveys.send_reminders() == 0


def test_nps_waves_respect_interval_cap_and_throttling(db, make_survey, make_contact, make_account):
    survey = make_survey("nps", daily_cap=3, interval_days=180)
    contacts = [make_contact() for _ in range(5)]
    contacts[0].survey_opt_out = True
    db.session.commit()
    assert surveys.run_nps_waves() == 3
    db.session.commit()
    assert surveys.run_nps_waves() == 0  # the daily cap is used up
    invited = set(db.session.scalars(select(Invitation.contact_id)))
    assert contacts[0].id not in invited and len(invited) == 3
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
    # the next day, the rest; nobody twice within the interval
    tomorrow = utcnow() + timedelta(days=1)
    assert surveys.run_nps_waves(now=tomorrow) == 1
    db.session.commit()
    assert surveys.run_nps_waves(now=tomorrow + timedelta(days=1)) == 0
    assert survey.id


def test_the_worker_runs_the_survey_schedules(runner, db, make_survey, make_contact):
    make_survey("nps", daily_cap=10)
    make_contact()
    result = runner.invoke(args=["worker", "--once"])
    assert "nps_waves: 1" in result.output and "expire_invitations: 0" in result.output
