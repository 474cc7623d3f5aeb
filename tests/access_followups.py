"""Access-matrix rows of the follow-up tasks and alert rules (format: see tests/test_access.py).

"{task}" is a task on an account managed by someone else: an account manager
who is not its assignee gets 404 on every task route, fragments too."""

from tests.access_roles import ADMIN, AM, ANON, EDITOR, MANAGER

TASK = {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}
TASK_HTMX = {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 404, EDITOR: 403}
# POSTs without their fields: 422 (the form says what is missing), never a change.
ACTION = {ANON: 302, ADMIN: 422, MANAGER: 422, AM: 404, EDITOR: 403}
ACTION_HTMX = {ANON: 401, ADMIN: 422, MANAGER: 422, AM: 404, EDITOR: 403}

ROUTES: list = [
    ("followups.tasks", "GET", "/staff/tasks/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("followups.tasks", "GET", "/staff/tasks/?view=team&status=open", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("followups.task", "GET", "/staff/tasks/{task}", False, TASK),
    ("followups.task", "GET", "/staff/tasks/{task}", True, TASK_HTMX),
    ("followups.change_status", "POST", "/staff/tasks/{task}/status", False, ACTION),
    ("followups.change_status", "POST", "/staff/tasks/{task}/status", True, ACTION_HTMX),
    ("followups.add_activity", "POST", "/staff/tasks/{task}/activities", False, ACTION),
    ("followups.add_activity", "POST", "/staff/tasks/{task}/activities", True, ACTION_HTMX),
    ("followups.reassign", "POST", "/staff/tasks/{task}/assignee", False, ACTION),
    ("followups.reassign", "POST", "/staff/tasks/{task}/assignee", True, ACTION_HTMX),
    ("followups.rules", "GET", "/staff/tasks/rules", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("followups.rules", "GET", "/staff/tasks/rules", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("followups.update_rule", "POST", "/staff/tasks/rules/{rule}", False, {ANON: 302, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("followups.update_rule", "POST", "/staff/tasks/rules/{rule}", True, {ANON: 401, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("followups.set_region_owner", "POST", "/staff/tasks/rules/regions", False, {ANON: 302, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("followups.set_region_owner", "POST", "/staff/tasks/rules/regions", True, {ANON: 401, ADMIN: 422, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("followups.tasks", "GET", "/staff/tasks/?view=team&status=all&assignee=none", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("followups.loop_report", "GET", "/staff/reports/loop", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("followups.loop_report", "GET", "/staff/reports/loop?from=2026-01-01", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
]


def placeholders(account) -> dict:
    """A task on ``account`` (managed by another account manager) and a rule."""
    from datetime import timedelta

    from portal.extensions import db
    from portal.followups import rules as alert_rules
    from portal.followups.models import Task
    from portal.timeutil import utcnow

    rule = alert_rules.rules()[0]
    task = Task(account_id=account.id, title_values={"reason": "nps", "account": account.name, "score": 3}, rule_kinds=[rule.kind],
                assignee_id=account.account_manager_id, due_at=utcnow() + timedelta(days=1))  # fmt: skip
    db.session.add(task)
    db.session.commit()
    return {"task": task.id, "rule": rule.id}
