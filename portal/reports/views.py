from flask_login import current_user

from portal.auth.access import staff_required
from portal.reports import bp, services
from portal.web.rendering import render


@bp.get("/")
@staff_required
def dashboard():
    return render("reports/dashboard.html", "dashboard", dashboard=services.dashboard_for(current_user))
