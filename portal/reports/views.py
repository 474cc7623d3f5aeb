"""The staff dashboard (``/staff/``), the reports page, the answers behind a
figure, insights, and their CSV exports.

Every reports route reads its question with ``services.query_for`` (the same
ReportQuery the API reads); a bad parameter is a 400 page that names it. Figures
are everyone's; single answers and CSV files are narrowed by
``services.readable_by`` (an account manager's portfolio).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, current_app, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import customer_staff_required, staff_required
from portal.reports import answers, bp, charts, dashboard, exports, forms, health, insights, services
from portal.reports.query import FILTERS, ParameterError
from portal.web.errors import error_response
from portal.web.rendering import render
from portal.web.i18n import N_


@bp.get("/", endpoint="dashboard")
@staff_required
def dashboard_page():
    return render("reports/dashboard.html", "dashboard", dashboard=dashboard.dashboard_for(current_user))


@bp.get("/reports")
@customer_staff_required
def overview():
    try:
        query = services.query_for(current_user, request.args)
    except ParameterError as error:
        return render("reports/reports.html", "results", status=400, error=error, page=None, choices=services.filter_choices())
    directory = services.account_directory()  # read once for the figures and the filters' choices
    page = charts.report_page(services.overview(query, directory=directory), all_periods=request.args.get("periods") == "all")
    return render("reports/reports.html", "results", page=page, choices=services.filter_choices(directory), presets=forms.period_presets(page.overview.query))


@bp.get("/reports/responses")
@customer_staff_required
def responses():
    try:
        query, filters = _readable_query(), answers.AnswerFilters.from_args(request.args)
        page = answers.list_answers(query, filters)
    except ParameterError as error:
        return render("reports/responses.html", "answers", status=400, error=error, page=None, query=None, filters=None, choices=None)
    return render("reports/responses.html", "answers", page=page, query=query, filters=filters, choices=services.filter_choices())


@bp.get("/reports/export.csv")
@customer_staff_required
def export():
    view = request.args.get("view", "series")
    try:
        query = _readable_query()
        if view not in exports.VIEWS:
            raise ParameterError("view", N_("must be one of %(values)s"), values=", ".join(exports.VIEWS))
    except ParameterError as error:
        return _cannot_export(error)
    header, rows = exports.report_rows(view, query)
    return exports.csv_response(f"report-{view}", header, rows, what=f"report:{view}", query=query, style=exports.CsvStyle.from_args(request.args))


@bp.get("/reports/responses.csv")
@customer_staff_required
def export_responses():
    try:
        query, filters = _readable_query(), answers.AnswerFilters.from_args(request.args)
        found = answers.export(query, filters)
    except ParameterError as error:
        return _cannot_export(error)
    return exports.csv_response(
        "answers", answers.EXPORT_HEADER, found.rows, count=found.count, what="responses", query=query, style=exports.CsvStyle.from_args(request.args)
    )


def _readable_query():
    """The query string's question, narrowed to what the user may read answer by
    answer and export (an account manager: their portfolio). Raises ParameterError."""
    return services.readable_by(current_user, services.query_for(current_user, request.args))


def _cannot_export(error: ParameterError):
    """The 400 page naming the parameter (a download link is followed without htmx)."""
    return error_response(400, _("This export cannot be made: %(problem)s", problem=f"{error.name}: {error.message}"))


@bp.get("/reports/insights", endpoint="insights")
@customer_staff_required
def insights_page():
    try:
        query = services.query_for(current_user, request.args)
    except ParameterError as error:
        return render("reports/insights.html", "insights", status=400, error=error, insights=None, choices=None)
    directory = services.account_directory()  # read once for the tables and the filters' choices
    return render("reports/insights.html", "insights", insights=insights.insights(query, directory=directory), choices=services.filter_choices(directory))


@bp.get("/reports/insights/<table>.csv", endpoint="insights_csv")
@customer_staff_required
def insights_csv(table: str):
    if table not in insights.TABLES:
        abort(404)
    try:
        query = _readable_query()
    except ParameterError as error:
        return _cannot_export(error)
    header, rows = insights.csv_rows(insights.insights(query, (table,)).tables[0])
    return exports.csv_response(f"insights-{table}", header, rows, what=f"insights:{table}", query=query, style=exports.CsvStyle.from_args(request.args))


# --- template helpers ---------------------------------------------------------------------------


@bp.app_template_global()
def url_if_exists(endpoint: str, **values) -> str | None:
    """A link to another page once it exists (None before)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.app_template_global()
def query_url(endpoint: str, query, values: dict | None = None, **extra) -> str | None:
    """A link to a reports page showing ``query`` (plus ``extra`` query arguments;
    ``values``: the route's own arguments).

    A query without any filter says so with an empty ``account_manager=``: without
    it an account manager's link would fall back to their portfolio, and the
    answers behind a figure of the whole company would be theirs only."""
    if endpoint not in current_app.view_functions:
        return None
    pairs = list(query.args()) if query is not None else []
    if query is not None and not any(name in FILTERS for name, _value in pairs):
        pairs.append(("account_manager", ""))
    for name, value in extra.items():
        if value is None:
            continue
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


bp.add_app_template_global(health.change_text, "change_interval")
