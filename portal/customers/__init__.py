"""Accounts, contacts, tickets and projects: the portal's mirror of the CRM and
helpdesk. Their tables and upserts (the event intake calls them), the accounts
list and the account page.

Other packages add to an account's timeline through
``services.TIMELINE_SOURCES``, so this package imports none of them.
"""

from flask import Blueprint

bp = Blueprint("customers", __name__, template_folder="templates", url_prefix="/staff/accounts")

from portal.customers import views  # noqa: E402,F401
