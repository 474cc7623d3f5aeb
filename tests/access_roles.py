"""The roles of the access matrix, shared by tests/test_access.py and the access_* row modules."""

from portal.auth.models import Role

ANON = "anonymous"
ADMIN, MANAGER, AM, EDITOR = Role.ADMIN, Role.MANAGER, Role.ACCOUNT_MANAGER, Role.EDITOR
HTMX = {"HX-Request": "true"}
