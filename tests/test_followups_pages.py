"""The staff pages of the follow-up loop: an account manager's "My tasks", the
team view, the task page and its actions with and without htmx, the rules and
the loop report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.followups.models import Activity, AlertRule, RuleChange, RuleKind, Task, TaskStatus
from portal.timeutil import utcnow
from tests.conftest import login
from tests.test_followups_rules import answered  # noqa: F401 - the fixture

HTMX = {"HX-Request": "true"}


@pytest.fixture
def am_task(db, make_staff, make_account, make_contact, answered):  # noqa: F811
    manager = make_staff(Role.ACCOUNT_MANAGER, email="anna@operator.example", name="Anna Keller")
    account = make_account(name="Müller Logistik GmbH", account_manager=manager)
    response = answered(3, "Ständig Ausfälle, wir überlegen zu kündigen", contact=make_contact(account=account, name="Lena Vogel"))
    task = db.session.scalar(select(Task).where(Task.response_id == response.id))
    return manager, task


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


def test_an_account_manager_lands_on_my_tasks_with_what_needs_a_call(app, db, am_task):
    manager, task = am_task
    client = app.test_client()
    from tests.conftest import PASSWORD, csrf_token

    response = client.post("/login", data={"csrf_token": csrf_token(client), "email": manager.email, "password": PASSWORD})
    assert response.status_code == 303 and response.location == "/staff/tasks/"
    html = client.get("/staff/tasks/").get_data(as_text=True)
    assert "Follow up with Müller Logistik GmbH" in html and "Lena Vogel" in html
    assert f'href="/staff/tasks/{task.id}"' in html
    assert 'id="nav-count-followups-tasks"' in html  # the badge in the navigation


def test_overdue_tasks_come_first_and_are_marked(app, db, am_task):
    manager, task = am_task
    task.due_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    html = signed_in(app, manager).get("/staff/tasks/").get_data(as_text=True)
    assert "is-overdue" in html and "overdue since" in html


def test_the_team_view_filters_with_and_without_htmx(app, db, am_task, make_staff):
    _manager, task = am_task
    boss = signed_in(app, make_staff(Role.MANAGER))
    page = boss.get("/staff/tasks/?view=team&status=open").get_data(as_text=True)
    assert "<html" in page and f"/staff/tasks/{task.id}" in page
    fragment = boss.get("/staff/tasks/?view=team&status=resolved", headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and f"/staff/tasks/{task.id}" not in html and "No tasks match" in html
    assert boss.get("/staff/tasks/?view=team&status=bogus").status_code == 400


def test_the_task_page_shows_the_whole_context(app, db, am_task):
    manager, task = am_task
    html = signed_in(app, manager).get(f"/staff/tasks/{task.id}").get_data(as_text=True)
    for expected in ("Ständig Ausfälle, wir überlegen zu kündigen", "Lena Vogel", "Müller Logistik GmbH", "Account NPS, last 90 days", "Contract renewal", "Onboarding courses"):
        assert expected in html


def test_working_a_task_without_javascript(app, db, am_task):
    manager, task = am_task
    client = signed_in(app, manager)
    from tests.conftest import csrf_token

    token = csrf_token(client, f"/staff/tasks/{task.id}")
    logged = client.post(f"/staff/tasks/{task.id}/activities", data={"csrf_token": token, "kind": "call", "body": "Angerufen, Techniker kommt morgen."})
    assert logged.status_code == 303 and logged.location.startswith(f"/staff/tasks/{task.id}")
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.status == TaskStatus.IN_PROGRESS and task.first_action_at is not None

    refused = client.post(f"/staff/tasks/{task.id}/status", data={"csrf_token": token, "status": "resolved", "outcome": ""})
    assert refused.status_code == 422 and "Write the outcome" in refused.get_data(as_text=True)
    resolved = client.post(f"/staff/tasks/{task.id}/status", data={"csrf_token": token, "status": "resolved", "outcome": "Störung behoben"})
    assert resolved.status_code == 303
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.status == TaskStatus.RESOLVED and task.follow_up_due_at is not None
    page = client.get(f"/staff/tasks/{task.id}").get_data(as_text=True)
    assert "Störung behoben" in page and "A recovery survey goes to the contact" in page


def test_a_status_change_with_htmx_updates_the_panel_and_the_navigation_count(app, db, am_task):
    manager, task = am_task
    client = signed_in(app, manager)
    from tests.conftest import csrf_token

    token = csrf_token(client, f"/staff/tasks/{task.id}")
    response = client.post(f"/staff/tasks/{task.id}/status", data={"csrf_token": token, "status": "dismissed", "outcome": "Kunde hat sich entschuldigt"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "dismissed" in html and 'id="nav-count-followups-tasks"' in html and 'hx-swap-oob="true"' in html
    assert '>0<span class="visually-hidden">' in html  # no active task left


def test_reassigning_hands_the_task_over(app, db, am_task, make_staff):
    manager, task = am_task
    colleague = make_staff(Role.ACCOUNT_MANAGER, email="jonas@operator.example", name="Jonas Wolf")
    client = signed_in(app, manager)
    from tests.conftest import csrf_token

    token = csrf_token(client, f"/staff/tasks/{task.id}")
    assert client.post(f"/staff/tasks/{task.id}/assignee", data={"csrf_token": token, "assignee_id": str(colleague.id)}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee_id == colleague.id
    assert db.session.scalar(select(Activity).where(Activity.task_id == task.id, Activity.kind == "reassign")) is not None


def test_another_portfolios_task_is_not_found(app, db, am_task, make_staff):
    _manager, task = am_task
    stranger = signed_in(app, make_staff(Role.ACCOUNT_MANAGER))
    assert stranger.get(f"/staff/tasks/{task.id}").status_code == 404
    assert stranger.get(f"/staff/tasks/{task.id}", headers=HTMX).status_code == 404
    assert f"/staff/tasks/{task.id}" not in stranger.get("/staff/tasks/?view=team").get_data(as_text=True)


def test_admins_edit_rules_and_every_change_is_audited(app, db, am_task, make_staff):
    admin_user = make_staff(Role.ADMIN, name="Alexandra Admin")
    client = signed_in(app, admin_user)
    rule = db.session.scalar(select(AlertRule).where(AlertRule.kind == RuleKind.KEYWORDS))
    from tests.conftest import csrf_token

    token = csrf_token(client, "/staff/tasks/rules")
    prefix = f"rule{rule.id}-"
    data = {"csrf_token": token, prefix + "enabled": "y", prefix + "keywords": "kündigen\nAnbieter wechseln\nkonkurrenz", prefix + "priority": "urgent",
            prefix + "due_hours": "12", prefix + "fallback_user_id": "", prefix + "notify_email": "y", prefix + "follow_up_days": "21"}  # fmt: skip
    response = client.post(f"/staff/tasks/rules/{rule.id}", data=data, headers=HTMX)
    assert response.status_code == 200 and "The rule is saved." in response.get_data(as_text=True)
    db.session.expire_all()
    rule = db.session.get(AlertRule, rule.id)
    assert rule.due_hours == 12 and rule.follow_up_days == 21 and "konkurrenz" in rule.keywords
    change = db.session.scalar(select(RuleChange).where(RuleChange.rule_id == rule.id))
    assert change.user_id == admin_user.id and change.changes["due_hours"][1] == 12
    audit = client.get("/staff/tasks/rules").get_data(as_text=True).split('id="audit-title"')[1]
    assert "Alexandra Admin" in audit and "Words in a comment" in audit  # who changed which rule
    assert "Due after (hours): 24 → 12" in audit and "Priority: urgent → urgent" not in audit  # what changed, readable

    manager_page = signed_in(app, make_staff(Role.MANAGER)).get("/staff/tasks/rules").get_data(as_text=True)
    assert "Save the rule" not in manager_page and "konkurrenz" in manager_page


def test_the_loop_report_counts_first_actions_and_recoveries(app, db, am_task, make_staff):
    manager, task = am_task
    html = signed_in(app, make_staff(Role.MANAGER)).get("/staff/reports/loop").get_data(as_text=True)
    assert "By account manager" in html and "Anna Keller" in html and "By rule" in html
    assert signed_in(app, manager).get("/staff/reports/loop?from=2026-13-01").status_code == 400


def test_the_dashboard_shows_open_and_overdue_tasks(app, db, am_task):
    manager, task = am_task
    task.due_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    html = signed_in(app, manager).get("/staff/").get_data(as_text=True)
    assert "Follow-up tasks" in html and "1 active task" in html and "1 overdue" in html
    assert f'href="/staff/tasks/{task.id}"' in html


@pytest.mark.parametrize("htmx", [False, True])
def test_the_task_page_and_its_panel_fragment(app, db, am_task, htmx):
    manager, task = am_task
    response = signed_in(app, manager).get(f"/staff/tasks/{task.id}", headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert ("<html" in html) is not htmx  # htmx gets the status panel only
    assert "Change status" in html and "Log it" in html and "Reassign" in html
    assert ("What the customer said" in html) is not htmx


@pytest.mark.parametrize("htmx", [False, True])
def test_the_rules_page_and_its_fragment(app, db, am_task, make_staff, htmx):
    response = signed_in(app, make_staff(Role.ADMIN)).get("/staff/tasks/rules", headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and ("<html" in html) is not htmx
    assert "Save the rule" in html and "Changes" in html


@pytest.mark.parametrize("htmx", [False, True])
def test_the_loop_report_and_its_fragment_flag_small_samples(app, db, am_task, make_staff, htmx):
    response = signed_in(app, make_staff(Role.MANAGER)).get("/staff/reports/loop?from=2020-01-01", headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and ("<html" in html) is not htmx
    assert "Anna Keller" in html and "small sample" in html  # one task is no basis for a rate


def test_a_task_links_to_the_accounts_other_tasks(app, db, am_task, make_staff, answered):  # noqa: F811
    _manager, task = am_task
    elsewhere = answered(2, "", contact=None)  # a task on another account
    other = db.session.scalar(select(Task).where(Task.response_id == elsewhere.id))
    boss = signed_in(app, make_staff(Role.MANAGER))
    page = boss.get(f"/staff/tasks/{task.id}").get_data(as_text=True)
    link = f"/staff/tasks/?view=team&amp;account={task.account_id}"
    assert link in page
    listing = boss.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'href="/staff/tasks/{task.id}"' in listing and f'href="/staff/tasks/{other.id}"' not in listing
    assert "Müller Logistik GmbH" in listing and "all accounts" in listing


def test_a_status_the_workflow_refuses_answers_422_in_the_users_language(app, db, am_task):
    manager, task = am_task
    manager.preferred_language = "de"
    db.session.commit()
    client = signed_in(app, manager)
    from tests.conftest import csrf_token

    token = csrf_token(client, f"/staff/tasks/{task.id}")
    response = client.post(f"/staff/tasks/{task.id}/status", data={"csrf_token": token, "status": "resolved", "outcome": ""}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert "Tragen Sie das Ergebnis ein" in html and 'role="alert"' in html
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.OPEN
