"""Accounts, contacts and tickets: the portal's mirror of the CRM and helpdesk."""

from flask import Blueprint

bp = Blueprint("customers", __name__, template_folder="templates", url_prefix="/staff/accounts")

from portal.customers import views  # noqa: E402,F401
