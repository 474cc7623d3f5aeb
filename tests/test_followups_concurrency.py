"""Many answers at once over real HTTP: never two tasks for one response, and
one notification. Runs on SQLite by default and on PostgreSQL with
PORTAL_TEST_DATABASE_URL (where the race is real: concurrent transactions)."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import func, select

from portal.auth.models import Role
from portal.followups.models import AlertRule, RuleKind, Task, TaskRule
from portal.mail.models import OutboxMessage
from portal.surveys import services as surveys
from portal.surveys.models import Response
from tests.test_surveys_concurrency import hammer


def count(db, model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_50_concurrent_low_answers_make_one_task_and_one_email(app, db, live_server, make_invitation, make_staff, make_account, make_contact):
    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    invitation, token = make_invitation(kind="nps", contact=make_contact(make_account(account_manager_id=anna.id)))
    body = urlencode({"question": invitation.survey.questions[0].id, "answer": "3"}).encode()
    statuses = hammer(live_server, "POST", f"/s/{token}", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert set(statuses) == {303}
    assert count(db, Response) == 1 and count(db, Task) == 1
    task = db.session.scalar(select(Task))
    assert task.rule_kinds == [RuleKind.DETRACTOR] and task.assignee_id == anna.id
    assert count(db, TaskRule) == 1
    assert count(db, AlertRule) == len(RuleKind.ALL)  # the rules seeded lazily, once, under the race
    assert count(db, OutboxMessage, OutboxMessage.kind == "followup_task") == 1


def test_50_concurrent_comments_that_first_make_the_task_make_one(app, db, live_server, make_invitation, make_staff, make_account, make_contact):
    anna = make_staff(role=Role.ACCOUNT_MANAGER)
    invitation, token = make_invitation(kind="nps", contact=make_contact(make_account(account_manager_id=anna.id)))
    survey = invitation.survey
    surveys.record_answer(invitation, survey, survey.questions[0], surveys.parse_answer(survey.questions[0], ["8"]))  # a passive: no task yet
    db.session.commit()
    assert count(db, Task) == 0
    body = urlencode({"question": survey.questions[1].id, "answer": "Wir werden zum Jahresende kündigen."}).encode()
    statuses = hammer(live_server, "POST", f"/s/{token}", body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert set(statuses) == {303}
    assert count(db, Task) == 1 and count(db, TaskRule) == 1
    assert db.session.scalar(select(Task)).rule_kinds == [RuleKind.KEYWORDS]
    assert count(db, OutboxMessage, OutboxMessage.kind == "followup_task") == 1
