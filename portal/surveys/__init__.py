"""Survey definitions, triggers and throttling, invitations and tokens,
the public survey pages and the responses."""

from flask import Blueprint

bp = Blueprint("surveys", __name__, template_folder="templates")

from portal.surveys import views  # noqa: E402,F401
from portal.surveys import staff_views  # noqa: E402,F401
