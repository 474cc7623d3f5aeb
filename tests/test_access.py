"""Who may open what: every staff route (fragments too) × anonymous and each role.

A new route with a role decorator must be added to ROUTES, or
test_every_protected_route_is_in_the_matrix fails.
"""

import pytest

from portal.auth.models import Role

ANON = "anonymous"
ADMIN, MANAGER, AM, EDITOR = Role.ADMIN, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.EDITOR
HTMX = {"HX-Request": "true"}

# (endpoint, method, path, htmx, {who: expected status}). "{account}" is an
# account managed by someone else, so account managers hit the record check.
ROUTES = [
    ("reports.dashboard", "GET", "/staff/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("customers.accounts", "GET", "/staff/accounts/", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("customers.accounts", "GET", "/staff/accounts/?q=a", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 403}),
    ("customers.account", "GET", "/staff/accounts/{account}", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("customers.account", "GET", "/staff/accounts/{account}?tickets=40", True, {ANON: 401, ADMIN: 200, MANAGER: 200, AM: 403, EDITOR: 403}),
    ("auth.profile", "GET", "/staff/profile", False, {ANON: 302, ADMIN: 200, MANAGER: 200, AM: 200, EDITOR: 200}),
    ("auth.update_profile", "POST", "/staff/profile", False, {ANON: 302, ADMIN: 422, MANAGER: 422, AM: 422, EDITOR: 422}),
    ("auth.change_password", "POST", "/staff/profile/password", False, {ANON: 302, ADMIN: 422, MANAGER: 422, AM: 422, EDITOR: 422}),
    ("mail.outbox", "GET", "/staff/outbox/", False, {ANON: 302, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.outbox", "GET", "/staff/outbox/?status=failed", True, {ANON: 401, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.message", "GET", "/staff/outbox/{message}", False, {ANON: 302, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.message_html", "GET", "/staff/outbox/{message}/html", False, {ANON: 302, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.resend", "POST", "/staff/outbox/{message}/resend", False, {ANON: 302, ADMIN: 303, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("mail.resend", "POST", "/staff/outbox/{message}/resend", True, {ANON: 401, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
]

WHO = [ANON, ADMIN, MANAGER, AM, EDITOR]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("endpoint", "method", "path", "htmx", "expected"), ROUTES, ids=[f"{r[1]} {r[2]}{' htmx' if r[3] else ''}" for r in ROUTES])
def test_access_matrix(app, login_as, make_account, make_staff, make_message, who, endpoint, method, path, htmx, expected):
    account = make_account(account_manager=make_staff(AM))
    message = make_message(status="failed")
    if who == ANON:
        client = app.test_client()
        token = None
    else:
        client = login_as(who)
        token = client.csrf
    url = path.format(account=account.id, message=message.id)
    headers = HTMX if htmx else {}
    if method == "GET":
        response = client.get(url, headers=headers)
    else:
        from tests.conftest import csrf_token

        token = token or csrf_token(client)
        response = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
    assert response.status_code == expected[who], response.get_data(as_text=True)[:500]


def test_every_protected_route_is_in_the_matrix(app):
    covered = {endpoint for endpoint, *_ in ROUTES}
    protected = {name for name, view in app.view_functions.items() if hasattr(view, "allowed_roles")}
    assert protected - covered == set(), "add these routes to the access matrix"


def test_every_staff_url_is_protected(app):
    unprotected = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff") and not hasattr(app.view_functions[rule.endpoint], "allowed_roles")
    ]
    assert unprotected == []
