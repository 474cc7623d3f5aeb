"""Staff users, roles, login and logout, access decorators."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from portal.auth import views  # noqa: E402,F401
