"""The whole loop, end to end, the real way: a signed ticket.closed event → the
survey email at the SMTP server → a low answer on the survey page → a task and
its notification email at the SMTP server → an activity → resolved → the
recovery survey sent 14 days later (time travel: the jobs take ``now``),
naming the concern → its answer → counted as recovered in the loop report,
never as satisfaction. And the suppression the open task causes, on the
intake and on the account's timeline."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from portal.auth.models import Role
from portal.customers.models import Account
from portal.followups import lists, loop, recovery as followup_recovery, taskpage, workflow
from portal.followups.models import ActivityKind, RuleKind, Task, TaskStatus
from portal.mail import services as mail
from portal.mail.models import OutboxMessage
from portal.surveys.models import Invitation, Response, SurveyKind
from portal.timeutil import utcnow
from portal.web.transaction import unit_of_work
from portal.worker import run_jobs_once
from tests.conftest import post_event, ticket_closed_event

SURVEY_LINK = re.compile(r"http://localhost/s/([A-Za-z0-9_-]+)")


def text_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def survey_token(recorder, address: str) -> str:
    message = [m for m in recorder.messages if m["To"] == address][-1]
    return SURVEY_LINK.search(text_of(message)).group(1)


def answer(client, token: str, survey, position: int, value: str):
    question = survey.questions[position - 1]
    response = client.post(f"/s/{token}", data={"question": question.id, "answer": value})
    assert response.status_code == 303, response.get_data(as_text=True)


def deliver(db) -> int:
    """The worker's round: every job (follow-ups too), the outbox drained at the SMTP server."""
    db.session.commit()
    done = run_jobs_once()
    assert all(count >= 0 for count in done.values()), done
    db.session.expire_all()
    return done["send_mail"]


def test_a_low_answer_is_followed_up_and_the_recovery_is_measured(app, db, client, smtp_server, integration, make_staff, make_survey):
    from tests.conftest import login

    recorder, _port = smtp_server
    survey = make_survey("post_ticket")
    anna = make_staff(role=Role.ACCOUNT_MANAGER, name="Anna Keller", email="anna@staff.example", language="en")
    event = ticket_closed_event("loop-1")
    event["account"]["account_manager_email"] = anna.email
    event["account"]["name"] = "Müller Logistik GmbH"
    contact_email = event["contact"]["email"]

    # 1. Event in: the contact is invited, the email arrives.
    reply = post_event(client, integration, event)
    assert reply.status_code == 202 and reply.get_json()["outcome"] == "invited"
    deliver(db)
    token = survey_token(recorder, contact_email)

    # 2. A low answer on the survey page, then the comment.
    answer(client, token, survey, 1, "1")
    answer(client, token, survey, 2, "no")
    answer(client, token, survey, 3, "Dreimal angerufen, nichts passiert. <b>Wir überlegen zu kündigen.</b>")
    task = db.session.scalar(select(Task))
    assert task is not None and task.assignee_id == anna.id
    assert task.rule_kinds == [RuleKind.LOW_CSAT, RuleKind.KEYWORDS]
    original = task.response
    assert original.csat_score == 1

    # 3. The notification reaches the assignee: the score, the comment, the link to the task page.
    deliver(db)
    [notification] = [m for m in recorder.messages if m["To"] == anna.email]
    body = text_of(notification)
    assert "Müller Logistik GmbH" in notification["Subject"]
    assert f"http://localhost/staff/tasks/{task.id}" in body
    assert "Satisfaction (1–5): 1" in body
    assert "Wir überlegen zu kündigen." in body
    html = html_of(notification)
    assert "&lt;b&gt;Wir überlegen zu kündigen.&lt;/b&gt;" in html  # the customer's text is text, never markup
    assert "<b>Wir" not in html
    assert f'href="http://localhost/staff/tasks/{task.id}"' in html

    # 4. While the task is open, routine surveys to the account's contacts wait, and the timeline says why.
    second = ticket_closed_event("loop-2", contact={"external_id": "CON-2", "email": "jan.weber@mueller-logistik.example", "name": "Jan Weber", "language": "de"})
    reply = post_event(client, integration, second)
    assert reply.get_json()["outcome"] == "throttled" and reply.get_json()["reason"] == "open_follow_up"
    staff_client = app.test_client()
    assert login(staff_client, anna).status_code == 303
    account_page = staff_client.get(f"/staff/accounts/{task.account_id}").get_data(as_text=True)
    from portal.integrations.models import EventOutcome

    assert str(EventOutcome.REASON_LABELS["open_follow_up"]) in account_page

    # 5. Act and resolve.
    start = utcnow()
    with unit_of_work():
        task = db.session.get(Task, task.id)
        workflow.log_activity(task, anna, ActivityKind.CALL, "Mit Frau Vogel telefoniert, Techniker für Donnerstag eingeplant.", now=start + timedelta(hours=2))
        workflow.change_status(task, anna, TaskStatus.RESOLVED, "Echo behoben, Gutschrift über einen Monat.", now=start + timedelta(days=1))
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.status == TaskStatus.RESOLVED and task.first_action_at <= task.due_at
    assert task.follow_up_due_at == start + timedelta(days=15)

    # 6. Time travel: nothing goes out before 14 days have passed, then the follow-up survey does.
    from portal.followups import jobs

    with unit_of_work():
        assert jobs.follow_up_surveys(now=start + timedelta(days=14)) == 0
    with unit_of_work():
        assert jobs.follow_up_surveys(now=start + timedelta(days=15, minutes=1)) == 1
    with unit_of_work():
        assert jobs.follow_up_surveys(now=start + timedelta(days=16)) == 0  # once
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    follow_up = task.follow_up_invitation
    assert follow_up is not None and follow_up.contact_id == original.contact_id
    assert follow_up.survey.kind == SurveyKind.RECOVERY and follow_up.ticket_id is None
    assert task.follow_up_due_at is None
    # The clock reaches the day the email was queued for.
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == follow_up.outbox_message_id).values(next_attempt_at=utcnow(), due_at=utcnow()))
    before = len(recorder.messages)
    deliver(db)
    assert len(recorder.messages) == before + 1
    email = recorder.messages[-1]
    assert email["Subject"] == "Hat sich Ihr Anliegen erledigt?"  # Lena reads German: no "(Ticket )", no post-ticket question
    text = text_of(email)
    assert "vor einigen Tagen haben wir uns um Ihr Anliegen „Echo bei Gesprächen“ gekümmert." in text
    assert "**" not in text and "„“" not in text and "ersten Kontakt" not in text
    follow_up_token = survey_token(recorder, contact_email)
    assert follow_up_token != token

    # 7. The answer shows on the task, and counts as recovered: in the loop report, never as satisfaction.
    recovery_survey = db.session.get(Invitation, follow_up.id).survey
    assert f"  Ja, es ist erledigt: http://localhost/s/{follow_up_token}?score=yes" in text  # one tap on a phone
    assert f'href="http://localhost/s/{follow_up_token}?score=yes"' in html_of(email)
    page = client.get(f"/s/{follow_up_token}?score=yes").get_data(as_text=True)
    assert "Hat sich Ihr Anliegen erledigt?" in page and "ersten Kontakt" not in page
    assert re.search(r'value="yes"\s+checked', page)  # marked, not saved: mail scanners fetch links
    answer(client, follow_up_token, recovery_survey, 1, "yes")
    answer(client, follow_up_token, recovery_survey, 2, "4")
    answer(client, follow_up_token, recovery_survey, 3, "Läuft wieder, danke.")
    db.session.expire_all()
    assert db.session.scalar(select(Task).where(Task.id != task.id)) is None  # a good answer makes no new task
    context = taskpage.task_context(db.session.get(Task, task.id), "en")
    assert context.follow_up_response is not None and context.follow_up_response.csat_score == 4
    assert context.recovered is True
    outcome = context.follow_up_outcome
    assert (outcome.resolved, outcome.resolved_label, outcome.score, outcome.comment) == ("yes", "Yes, it has been resolved", 4, "Läuft wieder, danke.")
    task_page = staff_client.get(f"/staff/tasks/{task.id}").get_data(as_text=True)
    assert "Yes, it has been resolved" in task_page and "Läuft wieder, danke." in task_page
    from portal.reports import services as reports
    from portal.reports.query import ReportQuery

    assert reports.report("csat", ReportQuery.last_days(30))["total"]["responses"] == 1  # the original answer, not the recovery answer
    assert [(line.survey_kind, line.later) for line in context.previous_scores] == [(SurveyKind.RECOVERY, True)]
    report = loop.loop_report(start.date() - timedelta(days=1), start.date() + timedelta(days=30), anna)
    assert report.total.tasks == 1 and report.total.within_sla == 1 and report.total.sla_share == 100.0
    assert report.total.followed_up == 1 and report.total.recovered == 1 and report.total.recovery_rate == 100.0
    assert report.total.recovery_score == 4.0
    loop_page = staff_client.get(f"/staff/reports/loop?from={start.date() - timedelta(days=1)}&to={start.date() + timedelta(days=30)}").get_data(as_text=True)
    assert "Recovery score (1–5)" in loop_page and re.search(r"<td[^>]*>4.0</td>", loop_page)
    assert report.total.median_hours is not None and report.total.median_hours < 3
    [row] = report.by_assignee
    assert row.label == "Anna Keller" and row.recovered == 1
    assert {r.key: (r.tasks, r.recovered) for r in report.by_rule} == {RuleKind.LOW_CSAT: (1, 1), RuleKind.KEYWORDS: (1, 1)}

    # 8. With the task closed, routine surveys go out again.
    reply = post_event(client, integration, ticket_closed_event("loop-3", contact=second["contact"]))
    assert reply.get_json()["outcome"] == "invited"


def test_a_recovery_answer_that_is_not_resolved_is_not_recovered_and_makes_a_new_task(db, make_survey, make_contact, make_invitation, make_staff, make_account):
    from portal.surveys import services as surveys

    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    contact = make_contact(make_account(account_manager_id=anna.id))
    survey = make_survey("nps")
    invitation, _ = make_invitation(survey=survey, contact=contact)
    question = survey.questions[0]
    surveys.record_answer(invitation, survey, question, surveys.parse_answer(question, ["5"]))
    db.session.commit()
    task = db.session.scalar(select(Task))
    now = utcnow()
    workflow.change_status(task, anna, TaskStatus.RESOLVED, "Angerufen", now=now)
    assert followup_recovery.send_due_follow_ups(now + timedelta(days=14)) == 1  # a portal without a recovery survey gets the default one
    db.session.commit()
    follow_up = db.session.get(Invitation, task.follow_up_invitation_id)
    recovery = follow_up.survey
    assert recovery.kind == SurveyKind.RECOVERY and recovery.active
    assert follow_up.concern.startswith("Ihre Rückmeldung vom ")  # no ticket: the day of the feedback names the concern
    for position, value in ((1, "no"), (2, "2"), (3, "Immer noch Abbrüche.")):
        asked = recovery.questions[position - 1]
        surveys.record_answer(follow_up, recovery, asked, surveys.parse_answer(asked, [value]))
    db.session.commit()
    report = loop.loop_report(now.date(), now.date(), anna)
    assert report.total.followed_up == 1 and report.total.recovered == 0 and report.total.recovery_rate == 0.0
    assert report.total.recovery_score == 2.0
    assert report.total.within_sla == 1  # resolving within the SLA is an action
    context = taskpage.task_context(task, "de")
    assert context.recovered is False and context.follow_up_outcome.resolved_label == "Nein, noch nicht"
    # The unhappy answer to the recovery survey is a task of its own, for a new call; its own
    # recovery survey names the same concern.
    new_task = db.session.scalar(select(Task).where(Task.response_id == db.session.scalar(select(Response.id).where(Response.invitation_id == follow_up.id))))
    assert new_task is not None
    workflow.change_status(new_task, anna, TaskStatus.RESOLVED, "Nochmals angerufen", now=now)
    followup_recovery.send_due_follow_ups(now + timedelta(days=30))
    assert db.session.get(Invitation, new_task.follow_up_invitation_id).concern == follow_up.concern


def test_a_follow_up_of_the_original_survey_is_still_judged_by_its_score(db, make_survey, make_contact, make_invitation, make_staff, make_account):
    """Follow-ups sent before the recovery survey existed were the original survey again."""
    from portal.surveys import services as surveys

    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    contact = make_contact(make_account(account_manager_id=anna.id))
    survey = make_survey("nps")
    invitation, _ = make_invitation(survey=survey, contact=contact)
    question = survey.questions[0]
    surveys.record_answer(invitation, survey, question, surveys.parse_answer(question, ["5"]))
    task = db.session.scalar(select(Task))
    workflow.change_status(task, anna, TaskStatus.RESOLVED, "Angerufen")
    old_style, _ = make_invitation(survey=survey, contact=contact)
    task.follow_up_invitation_id = old_style.id
    surveys.record_answer(old_style, survey, question, surveys.parse_answer(question, ["6"]))
    db.session.commit()
    assert taskpage.task_context(task, "en").recovered is True  # higher than before


def test_a_switched_off_recovery_survey_sends_nothing(db, make_survey, make_contact, make_invitation, make_staff, make_account):
    from portal.surveys import services as surveys

    make_survey("recovery", active=False)
    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    contact = make_contact(make_account(account_manager_id=anna.id))
    survey = make_survey("nps")
    invitation, _ = make_invitation(survey=survey, contact=contact)
    surveys.record_answer(invitation, survey, survey.questions[0], surveys.parse_answer(survey.questions[0], ["3"]))
    task = db.session.scalar(select(Task))
    now = utcnow()
    workflow.change_status(task, anna, TaskStatus.RESOLVED, "Angerufen", now=now)
    assert followup_recovery.send_due_follow_ups(now + timedelta(days=14)) == 0
    assert task.follow_up_invitation_id is None and task.follow_up_due_at is None


def test_the_loop_report_is_scoped_to_what_the_reader_may_see(db, make_staff, make_account, make_contact, make_survey, make_invitation):
    from portal.surveys import services as surveys

    anna, jonas, manager = make_staff(role=Role.ACCOUNT_MANAGER), make_staff(role=Role.ACCOUNT_MANAGER), make_staff(role=Role.MANAGER)
    survey = make_survey("nps")
    for owner in (anna, jonas):
        invitation, _ = make_invitation(survey=survey, contact=make_contact(make_account(account_manager_id=owner.id)))
        surveys.record_answer(invitation, survey, survey.questions[0], surveys.parse_answer(survey.questions[0], ["2"]))
    db.session.commit()
    today = utcnow().date()
    assert loop.loop_report(today, today, anna).total.tasks == 1
    assert loop.loop_report(today, today, manager).total.tasks == 2
    assert {row.label for row in loop.loop_report(today, today, manager).by_assignee} == {anna.name, jonas.name}
    assert loop.loop_report(today - timedelta(days=10), today - timedelta(days=1), manager).total.tasks == 0


HOSTILE_NAME = "[Passwort zurücksetzen](https://evil.example/phish)"
HOSTILE_COMMENT = '<img src=https://evil.example/x.png> <a href="https://evil.example">hier</a> **fett**'


def test_customer_text_in_the_notification_is_text_never_markup(db, smtp_server, make_staff, make_account, make_contact, make_survey, make_invitation):
    from portal.surveys import services as surveys

    recorder, _port = smtp_server
    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    contact = make_contact(make_account(name=HOSTILE_NAME + "\r\nBcc: x@evil.example", account_manager_id=anna.id), name="<b>Lena</b>")
    survey = make_survey("nps")
    invitation, _ = make_invitation(survey=survey, contact=contact)
    for question, value in zip(survey.questions, ["2", HOSTILE_COMMENT], strict=True):
        surveys.record_answer(invitation, survey, question, surveys.parse_answer(question, [value]))
    db.session.commit()
    assert mail.deliver_due() == 2  # the survey invitation and the notification
    [message] = [m for m in recorder.messages if m["To"] == anna.email]
    assert "\n" not in message["Subject"] and message["Bcc"] is None
    html = html_of(message)
    assert "evil.example" not in "".join(re.findall(r'(?:href|src)="([^"]*)"', html))
    assert "<img" not in html and "<b>Lena" not in html and "<strong>fett" not in html
    assert "&lt;img src=https://evil.example/x.png&gt;" in html
    assert HOSTILE_COMMENT in text_of(message)


def test_the_demo_has_tasks_in_every_state_and_seeds_once(app, db):
    import random

    from portal.demo import seed
    from portal.followups.demo import seed_followups

    with unit_of_work():
        seed()  # the demo seed makes the follow-up tasks too
    assert db.session.scalar(select(func.count()).select_from(Task)) > 20
    with unit_of_work():
        assert seed_followups(random.Random(2026)) == 0
    tasks = list(db.session.scalars(select(Task)))
    assert {t.status for t in tasks} == set(TaskStatus.ALL)
    assert any(lists.is_overdue(t) for t in tasks) and any(t.is_active and not lists.is_overdue(t) for t in tasks)
    assert all(t.assignee is not None and t.assignee.email.endswith("@demo.example") for t in tasks)
    today = utcnow().date()
    from portal.auth.models import StaffUser

    admin = db.session.scalar(select(StaffUser).where(StaffUser.role == Role.ADMIN))
    report = loop.loop_report(today - timedelta(days=200), today, admin)
    assert report.total.followed_up > 0 and 0 < report.total.recovered
    assert db.session.scalar(select(Account.id)) is not None
