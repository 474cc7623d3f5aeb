"""Signed webhook intake from the helpdesk and CRM, and the read API."""

from flask import Blueprint

bp = Blueprint("integrations", __name__, template_folder="templates", url_prefix="/api/v1")

from portal.integrations import views  # noqa: E402,F401
