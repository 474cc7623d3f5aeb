"""Access-matrix rows of the reports: the page, the answers behind a figure,
insights and their CSV exports (format: see tests/test_access.py). Every
customer-facing role reads reports (account managers default to their
portfolio); editors read none."""

from tests.access_roles import ADMIN, AM, ANON, EDITOR, MANAGER

READ = {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}
READ_HTMX = {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}
#: A bad parameter: a 400 page naming it, for whoever may read reports.
BAD = {ANON: 302, ADMIN: 400, MANAGER: 400, AM: 400, EDITOR: 403}
BAD_HTMX = {ANON: 401, ADMIN: 400, MANAGER: 400, AM: 400, EDITOR: 403}

ROUTES: list = [
    ("reports.dashboard", "GET", "/staff/", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("reports.overview", "GET", "/staff/reports", False, READ),
    ("reports.overview", "GET", "/staff/reports?interval=month&region=Nord", True, READ_HTMX),
    ("reports.responses", "GET", "/staff/reports/responses", False, READ),
    ("reports.responses", "GET", "/staff/reports/responses?group=detractor&q=kündigen", True, READ_HTMX),
    ("reports.overview", "GET", "/staff/reports?interval=day", False, BAD),
    ("reports.overview", "GET", "/staff/reports?from=2026-13-01", True, BAD_HTMX),
    ("reports.overview", "GET", "/staff/reports?account_manager=&region=Nord", False, READ),
    ("reports.responses", "GET", "/staff/reports/responses?period=2026-W99", True, BAD_HTMX),
    ("reports.export", "GET", "/staff/reports/export.csv?view=segments", False, READ),
    ("reports.export", "GET", "/staff/reports/export.csv?view=nps&interval=month&sep=semicolon", False, READ),
    ("reports.export", "GET", "/staff/reports/export.csv?view=pie", False, BAD),
    ("reports.export_responses", "GET", "/staff/reports/responses.csv", False, READ),
    ("reports.export_responses", "GET", "/staff/reports/responses.csv?group=detractor&comments=1&q=x", False, READ),
    ("reports.insights", "GET", "/staff/reports/insights", False, READ),
    ("reports.insights", "GET", "/staff/reports/insights?region=Nord", True, READ_HTMX),
    ("reports.insights_csv", "GET", "/staff/reports/insights/ticket_category.csv", False, READ),
]


def placeholders(account) -> dict:
    return {}
