"""What the follow-ups package adds to others: the response_recorded receiver and the survey suppression check.

- Each answer step sends ``response_recorded`` inside the survey view's
  ``run_in_transaction``; the rules run in that same transaction, so the task
  and its email exist if and only if the answer does.
- While a task is active for an account, routine surveys to its contacts are
  throttled with the reason ``open_follow_up`` (the intake says so, and the
  account's timeline shows it next to the event).
"""

from portal.auth import services as auth
from portal.auth.models import Role
from portal.followups import services
from portal.signals import response_recorded
from portal.surveys import services as surveys
from portal.web.context import NAVIGATION_COUNTS


@response_recorded.connect
def _evaluate(response, **_):
    services.evaluate_response(response)


if services.open_follow_up_reason not in surveys.SUPPRESSION_CHECKS:
    surveys.SUPPRESSION_CHECKS.append(services.open_follow_up_reason)


def _active_tasks(user) -> int | None:
    """The navigation badge on "Tasks": what needs the user (their own, or all for managers)."""
    return services.counts_for(user).active


NAVIGATION_COUNTS["followups.tasks"] = _active_tasks

# Account managers start their day with what needs a call.
auth.LANDING_PAGES[Role.ACCOUNT_MANAGER] = "followups.tasks"
