"""The outbox: email is written in the same transaction as the change that
causes it, and the worker delivers it over SMTP."""

from flask import Blueprint

bp = Blueprint("mail", __name__, template_folder="templates", url_prefix="/staff/outbox")

from portal.mail import views  # noqa: E402,F401
