"""No task without an owner: the region's fallback owner, then the rule's, then an
administrator; the unassigned queue and its count; the team list's open work by
default; the reassign choice that starts empty; the managers' daily escalation;
waiting until a day; and a thank-you that promises nothing when nobody owns the task."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.followups import digest, jobs, lists, rules as alert_rules, workflow
from portal.followups.models import RegionOwner, RuleKind, Task, TaskStatus
from portal.mail.models import OutboxMessage
from portal.timeutil import utcnow
from tests.conftest import csrf_token, login
from tests.test_followups_rules import answered, rule, task_of  # noqa: F401 - the fixture

HTMX = {"HX-Request": "true"}


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


# --- who owns a new task -----------------------------------------------------------------------


def test_without_a_manager_the_regions_owner_then_the_rules_fallback_then_an_admin_gets_the_task(
    db, answered, make_staff, make_account, make_contact
):
    zoe = make_staff(Role.ADMIN, name="Zoe Admin")
    adam = make_staff(Role.ADMIN, name="Adam Admin")
    make_staff(Role.ADMIN, name="Aaron Gone", active=False)
    # nobody else: the first active administrator by name
    assert task_of(db, answered(2, contact=make_contact(make_account(region="Süd")))).assignee_id == adam.id
    fallback = make_staff(Role.MANAGER)
    rule(db, RuleKind.DETRACTOR).fallback_user_id = fallback.id
    db.session.commit()
    assert task_of(db, answered(2, contact=make_contact(make_account(region="Süd")))).assignee_id == fallback.id
    nord = make_staff(Role.ACCOUNT_MANAGER)
    make_account(region="Nord")
    alert_rules.set_region_owner("Nord", nord.id)
    db.session.commit()
    assert task_of(db, answered(2, contact=make_contact(make_account(region="Nord")))).assignee_id == nord.id
    gone = make_staff(Role.ACCOUNT_MANAGER, active=False)
    assert task_of(db, answered(2, contact=make_contact(make_account(region="Nord", account_manager_id=gone.id)))).assignee_id == nord.id
    manager = make_staff(Role.ACCOUNT_MANAGER)
    assert task_of(db, answered(2, contact=make_contact(make_account(region="Nord", account_manager_id=manager.id)))).assignee_id == manager.id
    assert zoe.id  # never chosen while Adam comes first


def test_region_owners_take_only_known_regions_and_colleagues_who_work_with_customers(db, make_staff, make_account):
    make_account(region="Mitte")
    editor = make_staff(Role.EDITOR)
    am = make_staff(Role.ACCOUNT_MANAGER)
    with pytest.raises(workflow.WorkflowError, match="unknown_region"):
        alert_rules.set_region_owner("Atlantis", am.id)
    with pytest.raises(workflow.WorkflowError, match="invalid_assignee"):
        alert_rules.set_region_owner("Mitte", editor.id)
    alert_rules.set_region_owner("Mitte", am.id)
    assert alert_rules.region_owner("Mitte").id == am.id
    alert_rules.set_region_owner("Mitte", None)
    assert alert_rules.region_owner("Mitte") is None


def test_an_admin_sets_a_regions_owner_on_the_rules_page_and_a_manager_cannot(app, db, make_staff, make_account):
    make_account(region="Ost")
    am = make_staff(Role.ACCOUNT_MANAGER, name="Olga Ost")
    admin = signed_in(app, make_staff(Role.ADMIN))
    page = admin.get("/staff/tasks/rules").get_data(as_text=True)
    assert "Fallback owners by region" in page and 'name="region"' in page
    token = csrf_token(admin, "/staff/tasks/rules")
    response = admin.post("/staff/tasks/rules/regions", data={"csrf_token": token, "region": "Ost", "user_id": str(am.id)})
    assert response.status_code == 303 and response.location.endswith("#region-owners")
    db.session.expire_all()
    assert db.session.get(RegionOwner, "Ost").user_id == am.id
    assert "Olga Ost" in admin.get("/staff/tasks/rules").get_data(as_text=True)
    bad = admin.post("/staff/tasks/rules/regions", data={"csrf_token": token, "region": "Atlantis", "user_id": str(am.id)}, headers=HTMX)
    assert bad.status_code == 422
    manager = signed_in(app, make_staff(Role.MANAGER))
    assert manager.post("/staff/tasks/rules/regions", data={"csrf_token": csrf_token(manager, "/staff/tasks/rules"), "region": "Ost"}).status_code == 403


# --- nobody at all -------------------------------------------------------------------------------


def test_when_nobody_can_own_the_task_the_customer_is_promised_nothing(client, db, make_survey, make_invitation, make_contact, make_account):
    survey = make_survey("nps")
    invitation, token = make_invitation(survey=survey, contact=make_contact(make_account()))
    for question in survey.questions:
        client.post(f"/s/{token}", data={"question": question.id, "answer": "1" if question.type == "nps" else ""})
    page = client.get(f"/s/{token}").get_data(as_text=True)
    task = db.session.scalar(select(Task))
    assert task is not None and task.assignee_id is None
    assert "Vielen Dank für Ihre Rückmeldung" not in page and "meldet sich" not in page


def test_with_an_owner_the_survey_keeps_its_thank_you(client, db, make_staff, make_survey, make_invitation, make_contact, make_account):
    make_staff(Role.ADMIN)
    survey = make_survey("nps")
    invitation, token = make_invitation(survey=survey, contact=make_contact(make_account()))
    for question in survey.questions:
        client.post(f"/s/{token}", data={"question": question.id, "answer": "1" if question.type == "nps" else ""})
    assert "Vielen Dank für Ihre Rückmeldung" in client.get(f"/s/{token}").get_data(as_text=True)


# --- the lists -------------------------------------------------------------------------------------


@pytest.fixture
def three(db, answered, make_staff, make_account, make_contact):
    """An owned open task, an owned resolved one, an unassigned open one (as if the admin left)."""
    am = make_staff(Role.ACCOUNT_MANAGER)
    owned = task_of(db, answered(2, contact=make_contact(make_account(account_manager_id=am.id))))
    resolved = task_of(db, answered(3, contact=make_contact(make_account(account_manager_id=am.id))))
    workflow.change_status(resolved, am, TaskStatus.RESOLVED, "erledigt")
    nobodys = task_of(db, answered(1, contact=make_contact(make_account())))
    nobodys.assignee_id = None
    db.session.commit()
    return owned, resolved, nobodys


def test_the_unassigned_queue_and_its_count(db, three, make_staff):
    owned, _resolved, nobodys = three
    boss = make_staff(Role.MANAGER)
    assert [t.id for t in lists.list_tasks(boss, lists.TaskFilters(unassigned=True)).items] == [nobodys.id]
    assert lists.counts_for(boss).unassigned == 1 and lists.counts_for(owned.assignee).unassigned == 0


def test_the_team_view_shows_open_work_by_default_and_keeps_the_choice_in_the_url(app, db, three, make_staff):
    owned, resolved, nobodys = three
    boss = signed_in(app, make_staff(Role.MANAGER))
    default = boss.get("/staff/tasks/?view=team").get_data(as_text=True)
    assert f'id="task-{owned.id}"' in default and f'id="task-{nobodys.id}"' in default and f'id="task-{resolved.id}"' not in default
    assert '<option selected value="active">' in default
    everything = boss.get("/staff/tasks/?view=team&status=all").get_data(as_text=True)
    assert f'id="task-{resolved.id}"' in everything and '<option selected value="all">' in everything
    closed = boss.get("/staff/tasks/?view=team&status=closed", headers=HTMX).get_data(as_text=True)
    assert f'id="task-{resolved.id}"' in closed and f'id="task-{owned.id}"' not in closed
    queue = boss.get("/staff/tasks/?view=team&assignee=none").get_data(as_text=True)
    assert f'id="task-{nobodys.id}"' in queue and f'id="task-{owned.id}"' not in queue
    assert "1 unassigned" in default  # the count links to the queue
    assert boss.get("/staff/tasks/?view=team&status=nonsense").status_code == 400


def test_the_dashboard_counts_the_unassigned_tasks(app, db, three, make_staff):
    page = signed_in(app, make_staff(Role.MANAGER)).get("/staff/").get_data(as_text=True)
    assert "1 unassigned" in page and "/staff/tasks/?view=team&amp;assignee=none" in page


def test_the_reassign_choice_starts_empty(app, db, three, make_staff):
    owned, _resolved, _nobodys = three
    boss = make_staff(Role.MANAGER)
    page = signed_in(app, boss).get(f"/staff/tasks/{owned.id}").get_data(as_text=True)
    reassign = page[page.index('name="assignee_id"'):]
    reassign = reassign[: reassign.index("</select>")]
    assert reassign.split("<option", 2)[1].startswith(' value="">') and "selected" not in reassign  # the empty choice shows first
    client = signed_in(app, boss)
    token = csrf_token(client, f"/staff/tasks/{owned.id}")
    assert client.post(f"/staff/tasks/{owned.id}/assignee", data={"csrf_token": token, "assignee_id": ""}).status_code == 422
    db.session.expire_all()
    assert db.session.get(Task, owned.id).assignee_id == owned.assignee_id


# --- waiting ------------------------------------------------------------------------------------------


def test_waiting_takes_a_day_on_the_task_page_and_the_task_is_due_again_then(app, db, three):
    owned, _resolved, _nobodys = three
    client = signed_in(app, owned.assignee)
    token = csrf_token(client, f"/staff/tasks/{owned.id}")
    page = client.get(f"/staff/tasks/{owned.id}").get_data(as_text=True)
    assert 'name="wait_until"' in page and 'type="date"' in page
    refused = client.post(f"/staff/tasks/{owned.id}/status", data={"csrf_token": token, "status": "waiting"})
    assert refused.status_code == 422 and "day to wait until" in refused.get_data(as_text=True)
    day = utcnow().date() + timedelta(days=5)
    done = client.post(f"/staff/tasks/{owned.id}/status", data={"csrf_token": token, "status": "waiting", "wait_until": day.isoformat()})
    assert done.status_code == 303
    db.session.expire_all()
    task = db.session.get(Task, owned.id)
    assert task.status == TaskStatus.WAITING and task.waiting_until == day and task.due_at == datetime.combine(day, time())
    assert not lists.is_overdue(task, datetime.combine(day, time()) - timedelta(minutes=1))
    assert lists.is_overdue(task, datetime.combine(day, time()) + timedelta(minutes=1))
    assert "Waiting until" in client.get(f"/staff/tasks/{owned.id}").get_data(as_text=True)


# --- the managers' escalation --------------------------------------------------------------------------


def test_the_managers_get_one_escalation_a_day_naming_unassigned_and_overdue_tasks(db, three, make_staff):
    owned, _resolved, nobodys = three
    boss = make_staff(Role.MANAGER, name="Berta Boss")
    make_staff(Role.MANAGER, active=False)
    owned.due_at = utcnow() - timedelta(hours=3)
    db.session.commit()
    now = (utcnow() + timedelta(days=1)).replace(hour=digest.DIGEST_HOUR - 1)
    assert digest.send_escalations(now) == 0  # before the hour
    now = now.replace(hour=digest.DIGEST_HOUR + 1)
    assert digest.send_escalations(now) == 1
    assert digest.send_escalations(now + timedelta(hours=1)) == 0  # once a day
    db.session.commit()
    [message] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "followup_escalation")).all()
    assert message.to_address == boss.email and message.reference == f"followup_escalation:{boss.id}:{now.date().isoformat()}"
    assert f"/staff/tasks/{nobodys.id}" in message.text_body and f"/staff/tasks/{owned.id}" in message.text_body
    assert "assignee=none" in message.text_body and owned.assignee.name in message.text_body
    assert "<" not in message.text_body.replace("<http", "")  # plain text
    assert jobs.escalation(now + timedelta(days=1)) == 1  # the worker's job, the next day


def test_no_escalation_when_nothing_is_unassigned_or_overdue_and_admins_when_there_is_no_manager(db, answered, make_staff, make_account, make_contact):
    admin = make_staff(Role.ADMIN)
    task = task_of(db, answered(2, contact=make_contact(make_account())))
    assert task.assignee_id == admin.id
    later = (utcnow() + timedelta(days=1)).replace(hour=digest.DIGEST_HOUR + 1)  # before the task's 48 hours are up
    assert digest.send_escalations(later) == 0
    task.due_at = later - timedelta(hours=1)
    db.session.commit()
    assert digest.send_escalations(later) == 1
    db.session.commit()
    assert db.session.scalar(select(OutboxMessage.to_address).where(OutboxMessage.kind == "followup_escalation")) == admin.email
