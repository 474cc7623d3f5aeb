"""NPS and CSAT maths, the staff dashboard, the satisfaction figures the read API returns.

metrics.py holds the maths (pure functions, no database); services.py the
figures built from other packages' tables. No models of its own (it reads
survey responses, accounts and tickets) and no forms yet.
"""

from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="templates", url_prefix="/staff")

from portal.reports import models, subscribers, views  # noqa: E402,F401
