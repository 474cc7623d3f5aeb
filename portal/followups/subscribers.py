"""What the follow-ups package adds to others: the response_recorded receiver and the survey suppression check.

- Each answer step sends ``response_recorded`` inside the survey view's
  ``run_in_transaction``; the rules run in that same transaction, so the task
  and its email exist if and only if the answer does.
- While a task is active for an account, routine surveys to its contacts are
  throttled with the reason ``open_follow_up`` (the intake says so, and the
  account's timeline shows it next to the event).
- When an answer's task has no owner (no active administrator to fall back
  on), the survey's thank-you, which may promise a call, gives way to a
  neutral one (``surveys.THANK_YOU_WITHHELD``).
"""

from portal.auth import services as auth
from portal.auth.models import Role
from portal.customers import services as customers
from portal.followups import account_signals, evaluation, lists, services, titles
from portal.reports import dashboard, health
from portal.signals import response_recorded
from portal.surveys import services as surveys
from portal.web.context import NAVIGATION_COUNTS


@response_recorded.connect
def _evaluate(response, created=False, **_):
    evaluation.evaluate_response(response, new_response=created)


if services.open_follow_up_reason not in surveys.SUPPRESSION_CHECKS:
    surveys.SUPPRESSION_CHECKS.append(services.open_follow_up_reason)

# Nobody owns the task of this answer: the thank-you must not promise that someone will be in touch.
if services.has_unowned_task not in surveys.THANK_YOU_WITHHELD:
    surveys.THANK_YOU_WITHHELD.append(services.has_unowned_task)


def _active_tasks(user) -> int | None:
    """The navigation badge on "Tasks": what needs the user (their own, or all for managers)."""
    return lists.counts_for(user).active


NAVIGATION_COUNTS["followups.tasks"] = _active_tasks

# Account managers start their day with what needs a call.
auth.LANDING_PAGES[Role.ACCOUNT_MANAGER] = "followups.tasks"


def _dashboard_panel(user, now):
    """Open and overdue tasks on the dashboard, the overdue ones named (what needs a call today)."""
    from flask import has_request_context, url_for
    from flask_babel import gettext, ngettext

    from portal.reports.dashboard import DashboardPanel

    if user.role not in Role.CUSTOMER_FACING or not has_request_context():  # a panel of links: for pages only
        return None
    counts = lists.counts_for(user, now)
    view = "mine" if user.role == Role.ACCOUNT_MANAGER else "team"
    lines = [
        (ngettext("%(num)d active task", "%(num)d active tasks", counts.active), url_for("followups.tasks", view=view)),
        (ngettext("%(num)d overdue", "%(num)d overdue", counts.overdue), url_for("followups.tasks", view="team", overdue="y") if view == "team" else None),
        (ngettext("%(num)d unassigned", "%(num)d unassigned", counts.unassigned), url_for("followups.tasks", view="team", assignee="none")),
    ]
    for task in [t for t in lists.my_tasks(user, now) if lists.is_overdue(t, now)][:5]:
        lines.append((titles.task_title(task), url_for("followups.task", task_id=task.id)))
    return DashboardPanel(title=gettext("Follow-up tasks"), lines=lines, order=10)


dashboard.DASHBOARD_PANELS.append(_dashboard_panel)

# An account's health reads cancellation words and open tasks; its page lists its tasks.
if account_signals.health_signals not in health.HEALTH_SIGNALS:
    health.HEALTH_SIGNALS.append(account_signals.health_signals)
if account_signals.account_tasks_section not in customers.ACCOUNT_SECTIONS:
    customers.ACCOUNT_SECTIONS.append(account_signals.account_tasks_section)
