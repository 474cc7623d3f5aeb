"""Staff routes of the follow-up tasks, the alert rules and the loop report.

Every task route loads the task through ``services.get_task``, which answers
None for a task the user may not see: they get a 404, fragments too. Actions
POST; with htmx they answer the changed parts of the page (the status panel,
the activity log, the navigation counter out-of-band), without it a 303 back
to the task page.
"""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import admin_required, customer_staff_required, roles_required
from portal.auth.models import Role
from portal.followups import bp, services
from portal.followups.forms import ActivityForm, AssigneeForm, RuleForm, StatusForm, TaskFilterForm
from portal.customers.models import TICKET_CATEGORIES
from portal.followups.models import ActivityKind, Priority, RuleKind, TaskStatus
from portal.timeutil import MAX_YEAR, MIN_YEAR
from portal.web.rendering import render, see_other, wants_fragment

TASK_PAGE = "followups/task.html"


@bp.app_template_filter("task_title")
def task_title(task) -> str:
    return services.task_title(task)


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
    form.set_assignees(services.assignable_users())
    if not form.validate():
        return render("followups/tasks.html", "list", form=form, listing=None, status=400)
    listing = services.task_listing(current_user, request.args.get("view"), services.filters_from(form.data))
    return render("followups/tasks.html", "list", form=form, listing=listing)


@bp.get("/tasks/<int:task_id>")
@customer_staff_required
def task(task_id: int):
    task = services.get_task(current_user, task_id) or abort(404)
    return _task_page(task, "task_panel")


@bp.post("/tasks/<int:task_id>/status")
@customer_staff_required
def change_status(task_id: int):
    task = services.get_task(current_user, task_id) or abort(404)
    form = StatusForm()
    return _act(task, form, lambda: services.change_status(task, current_user, form.status.data, form.outcome.data))


@bp.post("/tasks/<int:task_id>/activities")
@customer_staff_required
def add_activity(task_id: int):
    task = services.get_task(current_user, task_id) or abort(404)
    form = ActivityForm()
    return _act(task, form, lambda: services.log_activity(task, current_user, form.kind.data, form.body.data))


@bp.post("/tasks/<int:task_id>/assignee")
@customer_staff_required
def reassign(task_id: int):
    task = services.get_task(current_user, task_id) or abort(404)
    form = AssigneeForm()
    form.set_assignees(services.assignable_users())
    return _act(task, form, lambda: services.reassign(task, current_user, int(form.assignee_id.data)))


def _act(task, form, action):
    """Validate, run the action, then answer: the changed fragments (htmx) or a 303 to the task page."""
    problem = None
    if form.validate():
        try:
            action()
        except services.WorkflowError as error:
            problem = services.workflow_message(error.code)
    else:
        problem = _("Please correct the marked fields.")
    if problem:
        return _task_page(task, "task_panel", status=422, problem=problem, failed=form)
    if wants_fragment():
        return _task_page(task, ["task_panel", "nav_count"])
    flash(_("Saved."), "info")
    return see_other(url_for("followups.task", task_id=task.id) + "#task-panel")


def _task_page(task, blocks, status: int = 200, problem: str | None = None, failed=None):
    context = services.task_context(task)
    forms = services.task_forms(task, failed, StatusForm, ActivityForm, AssigneeForm)
    counts = services.counts_for(current_user)
    return render(TASK_PAGE, blocks, status=status, ctx=context, problem=problem, counts=counts, oob=not isinstance(blocks, str), **forms)


@bp.get("/tasks/rules")
@roles_required(Role.ADMIN, Role.MANAGER)
def rules():
    return render("followups/rules.html", "rules", **services.rules_page(RuleForm, current_user.role == Role.ADMIN))


@bp.post("/tasks/rules/<int:rule_id>")
@admin_required
def update_rule(rule_id: int):
    rule = services.get_rule(rule_id) or abort(404)
    form = RuleForm(prefix=f"rule{rule.id}")
    form.set_users(services.assignable_users())
    problem = services.save_rule(rule, current_user, form)
    if problem:
        return render("followups/rules.html", "rules", status=422, **services.rules_page(RuleForm, True, failed=(rule.id, form, problem)))
    if wants_fragment():
        return render("followups/rules.html", "rules", **services.rules_page(RuleForm, True, saved=rule.id))
    flash(_("The rule is saved."), "info")
    return see_other(url_for("followups.rules") + f"#rule-{rule.id}")


@bp.get("/reports/loop")
@customer_staff_required
def loop_report():
    period = services.loop_period(request.args.get("from"), request.args.get("to"))
    if period is None:  # the form again, with what was entered and what is wrong with it
        return render("followups/loop.html", "loop", status=400, report=None, years=(MIN_YEAR, MAX_YEAR))
    return render("followups/loop.html", "loop", report=services.loop_report(period.start, period.end, current_user))
