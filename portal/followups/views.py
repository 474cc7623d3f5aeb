"""Staff routes of the follow-up tasks, the alert rules and the loop report.

Every task route loads the task through ``lists.get_task``, which answers
None for a task the user may not see: they get a 404, fragments too. Actions
POST; with htmx they answer the changed parts of the page (the status panel,
the activity log, the navigation counter out-of-band), without it a 303 back
to the task page.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import admin_required, customer_staff_required, roles_required
from portal.auth.models import Role
from portal.customers.models import TICKET_CATEGORIES
from portal.followups import bp, lists, loop, taskpage, titles, workflow
from portal.followups import rules as alert_rules
from portal.followups.forms import ActivityForm, AssigneeForm, RegionOwnerForm, RuleForm, StatusForm, TaskFilterForm
from portal.followups.models import ActivityKind, Priority, RuleKind, TaskStatus
from portal.timeutil import MAX_YEAR, MIN_YEAR
from portal.web.rendering import render, see_other, wants_fragment

TASK_PAGE = "followups/task.html"


@bp.app_template_filter("task_title")
def task_title(task) -> str:
    return titles.task_title(task)


@bp.app_template_filter("isodate")
def isodate(value: str) -> date:
    return date.fromisoformat(value)


@bp.context_processor
def labels() -> dict:
    return {
        "status_labels": TaskStatus.LABELS,
        "priority_labels": Priority.LABELS,
        "rule_labels": RuleKind.LABELS,
        "activity_labels": ActivityKind.LABELS,
        "category_labels": TICKET_CATEGORIES,
    }


@bp.get("/tasks/")
@customer_staff_required
def tasks():
    form = TaskFilterForm(request.args)
    form.set_assignees(workflow.assignable_users())
    if not form.validate():
        return render("followups/tasks.html", "list", form=form, listing=None, status=400)
    listing = lists.task_listing(current_user, request.args.get("view"), form.filters())
    return render("followups/tasks.html", "list", form=form, listing=listing)


@bp.get("/tasks/<int:task_id>")
@customer_staff_required
def task(task_id: int):
    task = lists.get_task(current_user, task_id) or abort(404)
    return _task_page(task, "task_panel")


@bp.post("/tasks/<int:task_id>/status")
@customer_staff_required
def change_status(task_id: int):
    task = lists.get_task(current_user, task_id) or abort(404)
    form = StatusForm()
    return _act(task, form, lambda: workflow.change_status(task, current_user, form.status.data, form.outcome.data, wait_until=form.wait_until.data))


@bp.post("/tasks/<int:task_id>/activities")
@customer_staff_required
def add_activity(task_id: int):
    task = lists.get_task(current_user, task_id) or abort(404)
    form = ActivityForm()
    return _act(task, form, lambda: workflow.log_activity(task, current_user, form.kind.data, form.body.data))


@bp.post("/tasks/<int:task_id>/assignee")
@customer_staff_required
def reassign(task_id: int):
    task = lists.get_task(current_user, task_id) or abort(404)
    form = AssigneeForm()
    form.set_assignees(workflow.assignable_users())
    return _act(task, form, lambda: workflow.reassign(task, current_user, int(form.assignee_id.data)))


def _act(task, form, action):
    """Validate, run the action, then answer: the changed fragments (htmx) or a 303 to the task page."""
    problem = None
    if form.validate():
        try:
            action()
        except workflow.WorkflowError as error:
            problem = workflow.workflow_message(error.code)
    else:
        problem = _("Please correct the marked fields.")
    if problem:
        return _task_page(task, "task_panel", status=422, problem=problem, failed=form)
    if wants_fragment():
        return _task_page(task, ["task_panel", "nav_count"])
    flash(_("Saved."), "info")
    return see_other(url_for("followups.task", task_id=task.id) + "#task-panel")


def _task_page(task, blocks, status: int = 200, problem: str | None = None, failed=None):
    context = taskpage.task_context(task)
    forms = _task_forms(task, failed)
    counts = lists.counts_for(current_user)
    return render(TASK_PAGE, blocks, status=status, ctx=context, problem=problem, counts=counts, oob=not isinstance(blocks, str), **forms)


def _task_forms(task, failed) -> dict:
    """The task page's three forms; the one that failed keeps what was typed and its errors.
    The reassign choice starts empty: nobody is preselected by accident."""
    users = workflow.assignable_users()
    forms = {"status_form": StatusForm(formdata=None), "activity_form": ActivityForm(formdata=None), "assignee_form": AssigneeForm(formdata=None)}
    if failed is not None:
        forms[{StatusForm: "status_form", ActivityForm: "activity_form", AssigneeForm: "assignee_form"}[type(failed)]] = failed
    forms["status_form"].set_statuses(workflow.allowed_statuses(task))
    forms["assignee_form"].set_assignees(users)
    return forms


@bp.get("/tasks/rules")
@roles_required(Role.ADMIN, Role.MANAGER)
def rules():
    return render("followups/rules.html", "rules", **_rules_page(current_user.role == Role.ADMIN))


@bp.post("/tasks/rules/<int:rule_id>")
@admin_required
def update_rule(rule_id: int):
    rule = alert_rules.get_rule(rule_id) or abort(404)
    form = RuleForm(prefix=f"rule{rule.id}")
    form.set_users(workflow.assignable_users())
    problem = None
    if form.validate():
        try:
            alert_rules.update_rule(rule, current_user, form.values())
        except workflow.WorkflowError as error:
            problem = workflow.workflow_message(error.code)
    else:
        problem = _("Please correct the marked fields.")
    if problem:
        return render("followups/rules.html", "rules", status=422, **_rules_page(True, failed=(rule.id, form, problem)))
    if wants_fragment():
        return render("followups/rules.html", "rules", **_rules_page(True, saved=rule.id))
    flash(_("The rule is saved."), "info")
    return see_other(url_for("followups.rules") + f"#rule-{rule.id}")


@bp.post("/tasks/rules/regions")
@admin_required
def set_region_owner():
    form = RegionOwnerForm()
    form.set_choices(alert_rules.known_regions(), workflow.assignable_users())
    problem = None
    if form.validate():
        try:
            alert_rules.set_region_owner(form.region.data, int(form.user_id.data) if form.user_id.data else None)
        except workflow.WorkflowError as error:
            problem = workflow.workflow_message(error.code)
    else:
        problem = _("Please correct the marked fields.")
    if problem:
        return render("followups/rules.html", "rules", status=422, **_rules_page(True, region_form=form, region_problem=problem))
    if wants_fragment():
        return render("followups/rules.html", "rules", **_rules_page(True, region_saved=True))
    flash(_("The fallback owner is saved."), "info")
    return see_other(url_for("followups.rules") + "#region-owners")


def _rules_page(editable: bool, failed: tuple | None = None, saved: int | None = None, region_form=None, **region) -> dict:
    """Every rule with its form (admins edit; managers read), the regions' fallback owners, and the audit."""
    users = workflow.assignable_users()
    entries = []
    for rule in alert_rules.rules():
        if failed and failed[0] == rule.id:
            form, problem = failed[1], failed[2]
        else:
            form, problem = RuleForm.for_rule(rule, users), None
        entries.append({"rule": rule, "form": form, "problem": problem, "saved": saved == rule.id})
    if region_form is None:
        region_form = RegionOwnerForm(formdata=None)
        region_form.set_choices(alert_rules.known_regions(), users)
    return {
        "entries": entries, "editable": editable, "changes": alert_rules.rule_changes(), "users": {u.id: u for u in users},
        "region_form": region_form, "region_owners": alert_rules.region_owners(), **region,
    }  # fmt: skip


@bp.get("/reports/loop")
@customer_staff_required
def loop_report():
    period = loop.loop_period(request.args.get("from"), request.args.get("to"))
    if period is None:  # the form again, with what was entered and what is wrong with it
        return render("followups/loop.html", "loop", status=400, report=None, years=(MIN_YEAR, MAX_YEAR))
    return render("followups/loop.html", "loop", report=loop.loop_report(period.start, period.end, current_user))
