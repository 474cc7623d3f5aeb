"""Signed webhook intake from the helpdesk and CRM, the read API, integration credentials.

No forms and no templates: machines talk to this package in JSON. The event
body's JSON Schema lives in schema.py (served to integrators, used by the
fuzz tests); the satisfaction figures the read API returns come from
``portal.reports.services``.
"""

from flask import Blueprint

bp = Blueprint("integrations", __name__, url_prefix="/api/v1")

from portal.integrations import subscribers, views  # noqa: E402,F401
