"""NPS and CSAT maths, time series, segments and the staff dashboard."""

from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="templates", url_prefix="/staff")

from portal.reports import views  # noqa: E402,F401
