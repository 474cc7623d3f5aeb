"""The dashboard (``/staff/``) and the insights page (``/staff/reports/insights``) with its CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, current_app, request, url_for
from flask_babel import format_decimal
from flask_login import current_user

from portal.auth.access import customer_staff_required, staff_required
from portal.reports import bp, dashboard, insights
from portal.reports.query import ParameterError
from portal.web.rendering import render


@bp.get("/dashboard-new")
@staff_required
def dashboard_new():
    return render("reports/dashboard.html", "dashboard", dashboard=dashboard.dashboard_for(current_user))


@bp.get("/reports/insights", endpoint="insights")
@customer_staff_required
def insights_page():
    try:
        query = insights.query_for(current_user, request.args)
    except ParameterError as error:
        return render("reports/insights.html", "insights", status=400, error=error, insights=None, choices=None)
    return render("reports/insights.html", "insights", insights=insights.insights(query), choices=insights.services.filter_choices())


@bp.get("/reports/insights/<table>.csv", endpoint="insights_csv")
@customer_staff_required
def insights_csv(table: str):
    if table not in insights.TABLES:
        abort(404)
    try:
        query = insights.query_for(current_user, request.args)
    except ParameterError as error:
        abort(400, description=error.message)
    header, rows = insights.csv_rows(insights.insights(query, (table,)).tables[0])
    from portal.reports import exports

    return exports.csv_response(f"insights-{table}", header, rows, what=f"insights:{table}", query=query)


@bp.app_template_global()
def url_if_exists(endpoint: str, **values) -> str | None:
    """A link to another page of the reports once it exists (None before)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.app_template_global()
def query_url(endpoint: str, query, values: dict | None = None, **extra) -> str | None:
    """A link to a reports page showing ``query`` (plus ``extra`` query arguments;
    ``values``: the route's own arguments); None before the page exists."""
    if endpoint not in current_app.view_functions:
        return None
    pairs = list(query.args()) if query is not None else []
    for name, value in extra.items():
        pairs.extend((name, v) for v in (value if isinstance(value, (list, tuple)) else [value]))
    path = url_for(endpoint, **(values or {}))
    return f"{path}?{urlencode(pairs)}" if pairs else path


@bp.app_template_global()
def decimal1(value: float | None, signed: bool = False) -> str:
    """A figure with one decimal in the reader's locale; "–" without one."""
    if value is None:
        return "–"
    text = format_decimal(round(value, 1), format="#,##0.0")
    return ("+" + text) if signed and value > 0 else text.replace("-", "−")
