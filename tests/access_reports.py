"""Access-matrix rows of the reports, exports and the dashboard (format: see tests/test_access.py)."""

from tests.access_roles import ADMIN, AM, ANON, EDITOR, MANAGER  # noqa: F401

ROUTES: list = []


def placeholders(account) -> dict:
    """Records the paths above name, on ``account`` (an account managed by someone else)."""
    return {}
