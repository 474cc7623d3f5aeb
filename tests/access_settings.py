"""Access-matrix rows of the operator settings (format: see tests/test_access.py).
Only admins see or change the brand; the POST sends no fields, which is a
valid save of an empty brand (the configuration applies)."""

from tests.access_roles import ADMIN, AM, ANON, EDITOR, MANAGER

ROUTES: list = [
    ("settings.brand", "GET", "/staff/settings/brand", False, {ANON: 302, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("settings.brand", "GET", "/staff/settings/brand", True, {ANON: 401, ADMIN: 200, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("settings.update_brand", "POST", "/staff/settings/brand", False, {ANON: 302, ADMIN: 303, MANAGER: 403, AM: 403, EDITOR: 403}),
    ("settings.update_brand", "POST", "/staff/settings/brand", True, {ANON: 401, ADMIN: 204, MANAGER: 403, AM: 403, EDITOR: 403}),
    # Public (customers' pages show it); without an uploaded logo there is none.
    ("settings.logo", "GET", "/brand/logo", False, {ANON: 404, ADMIN: 404, MANAGER: 404, AM: 404, EDITOR: 404}),
]


def placeholders(account) -> dict:
    return {}
