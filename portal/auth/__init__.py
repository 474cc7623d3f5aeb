"""Staff users, roles, login and logout, access decorators.

Beside the usual files, access.py holds the decorators every package's views
use (``staff_required``, ``roles_required``...): who may open a route.
"""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from portal.auth import views  # noqa: E402,F401
