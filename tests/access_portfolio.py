"""The access matrix's record rows: what each role reads of an account
manager's own portfolio and of another's (the rule in README, "Roles").

Account managers see figures for every account, but single answers (comments,
contacts), account and task pages and every CSV file only for the accounts
they manage; managers and admins see everything. An account or task outside
the portfolio is not found (404), whatever route leads to it.

Each row: (surface, path, how to tell a record is shown, {who: (own shown, other's shown)}).
Paths name "{mine}" (an account of the signed-in account manager), "{theirs}"
(an account of another account manager), their tasks "{my_task}", "{their_task}",
"{external_id}" (the record's account), "{other_email}" (the other account
manager). A row checks that the record's text appears (its comment, contact,
name...; or a literal such as "n = 1"), or that its page opens ("status": 200
or 404).
"""

from tests.access_roles import ADMIN, AM, MANAGER

ALL = {ADMIN: (True, True), MANAGER: (True, True), AM: (True, True)}
OWN = {ADMIN: (True, True), MANAGER: (True, True), AM: (True, False)}

ROWS: list = [
    # figures: everyone's, for every role
    ("reports page: one account's figures", "/staff/reports?account={external_id}", "n = 1", ALL),
    ("reports page: one account's figures, htmx", "/staff/reports?account={external_id}&interval=month", "n = 1", ALL),
    # single answers: comments and contacts
    ("answers page", "/staff/reports/responses?account_manager=", "comment", OWN),
    ("answers page, htmx", "/staff/reports/responses?account_manager=&comments=1", "comment", OWN),
    ("answers page: the other portfolio asked for", "/staff/reports/responses?account_manager={other_email}", "comment", {ADMIN: (False, True), MANAGER: (False, True), AM: (False, False)}),
    ("answers page: a detractor drill-down", "/staff/reports/responses?account_manager=&group=detractor", "contact", OWN),
    ("dashboard: latest comments", "/staff/", "comment", OWN),
    # files
    ("answers CSV", "/staff/reports/responses.csv?account_manager=", "comment", OWN),
    ("figures CSV by account", "/staff/reports/export.csv?view=nps&group_by=account&account_manager=", "external_id", OWN),
    ("segments CSV", "/staff/reports/export.csv?view=segments&account_manager=", "manager", OWN),
    ("insights CSV by service type", "/staff/reports/insights/service_type.csv?account_manager=", "service", OWN),
    # records
    ("accounts list", "/staff/accounts/", "name", OWN),
    ("account page", "/staff/accounts/{account}", "status", OWN),
    ("account page, htmx", "/staff/accounts/{account}?tickets=40", "status", OWN),
    ("course progress of the account", "/staff/courses/accounts/{account}", "status", OWN),
    ("task page", "/staff/tasks/{task}", "status", OWN),
    ("team task list", "/staff/tasks/?view=team", "task", OWN),
]
