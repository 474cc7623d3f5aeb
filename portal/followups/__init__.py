"""The closed loop: alert rules turn low or falling scores into follow-up tasks
for the account manager; activities are logged on the task; resolving it
schedules a follow-up survey whose answer says whether the customer recovered.

The services are split by job (portal/README.md names them): rules.py (the
rules and the rule engine), evaluation.py (an answer becomes a task),
workflow.py, lists.py (who sees which tasks, the lists), titles.py,
taskpage.py, recovery.py (the follow-up survey), digest.py, loop.py (the loop
report); services.py is what other packages use. subscribers.py reacts to
``response_recorded`` and adds the "open follow-up" suppression check to the
surveys package; jobs.py sends due follow-up surveys, checks account drops and
sends the daily digest of overdue tasks; emails.py writes the notifications.
"""

from flask import Blueprint

bp = Blueprint("followups", __name__, template_folder="templates", url_prefix="/staff")

from portal.followups import models, subscribers, views  # noqa: E402,F401
