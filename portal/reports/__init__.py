"""NPS and CSAT over time: the maths, the figure cells, the staff dashboard,
the reports page, answers, CSV exports and the figures the read API returns.

metrics.py holds the maths (pure functions, no database); models.py the daily
figure cells that rollup.py keeps current; query.py reads the filters (page,
CSV and API alike); services.py builds the figures; forms.py the period
presets above the plain GET filter form; charts.py the SVG geometry.
"""

from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="templates", url_prefix="/staff")

from portal.reports import models, subscribers, views  # noqa: E402,F401
