"""The JSON API: signed event intake and satisfaction read endpoints."""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, request

from portal.extensions import csrf, limiter
from portal.followups import services as followups
from portal.integrations import bp, services
from portal.integrations.models import Integration
from portal.integrations.schema import EVENT_SCHEMA
from portal.reports import services as reports
from portal.reports.query import METRICS, ParameterError, ReportQuery
from portal.web.inputs import validates_own_text
from portal.web.transaction import run_in_transaction

csrf.exempt(bp)  # machine clients authenticate with signatures and bearer tokens, not cookies


def _error(status: int, field: str, reason: str) -> Response:
    response = jsonify(error={"status": status, "field": field, "reason": reason})
    response.status_code = status
    return response


@bp.post("/events")
@limiter.limit("600 per minute")
@validates_own_text  # the body is JSON whatever its Content-Type says: parse_event names a field with NUL
def receive_event():
    """Events from the helpdesk/CRM, signed with the integration's secret."""
    integration, body = _signed_body()
    try:
        data = services.parse_event(services.load_json(body))
        result = run_in_transaction(lambda: services.ingest(integration, data))
    except services.BodyError as error:
        return _error(400, error.field, error.reason)
    except services.EventError as error:
        return _error(422, error.field, error.reason)
    return jsonify(result.as_json()), 202


def _signed_body() -> tuple[Integration, bytes]:
    """The sending integration and the raw body, or abort: too large (413),
    unknown key or bad signature (401). The size is checked before reading
    where the client declared it, and again on what was read."""
    if request.content_length is not None and request.content_length > services.MAX_BODY_BYTES:
        abort(_error(413, "body", f"must be at most {services.MAX_BODY_BYTES} bytes"))
    body = request.get_data(cache=False, as_text=False)
    if len(body) > services.MAX_BODY_BYTES:
        abort(_error(413, "body", f"must be at most {services.MAX_BODY_BYTES} bytes"))
    integration = services.integration_for_key(request.headers.get("Portal-Key"))
    if integration is None:
        abort(_error(401, "Portal-Key", "unknown or inactive key"))
    try:
        services.verify_signature(integration.signing_secret, request.headers.get("Portal-Signature"), body)
    except services.SignatureError as error:
        abort(_error(401, "Portal-Signature", str(error)))
    return integration, body


@bp.get("/schema/event.json")
def event_schema():
    """The JSON Schema of an event body, for integrators (no secrets in it)."""
    response = jsonify(EVENT_SCHEMA)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _api_integration() -> Integration:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    integration = services.integration_for_api_token(token.strip()) if scheme.lower() == "bearer" else None
    if integration is None:
        response = _error(401, "Authorization", "a valid Bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
        abort(response)
    return integration


def _read_limit() -> str:
    return current_app.config["PORTAL_API_READ_LIMIT"]


@bp.get("/tickets/<external_id>/satisfaction")
@limiter.limit(_read_limit)
def ticket_satisfaction_view(external_id: str):
    _api_integration()
    data = reports.ticket_satisfaction(external_id)
    if data is None:
        return _error(404, "external_id", "no such ticket")
    return jsonify(data)


@bp.get("/accounts/<external_id>/satisfaction")
@limiter.limit(_read_limit)
def account_satisfaction_view(external_id: str):
    _api_integration()
    data = reports.account_satisfaction(external_id)
    if data is None:
        return _error(404, "external_id", "no such account")
    data["open_tasks"] = followups.open_tasks_for_account(external_id)
    return jsonify(data)


@bp.get("/reports/<metric>")
@limiter.limit(_read_limit)
def report_view(metric: str):
    """NPS, CSAT, response rate or score distribution over a period, by interval and group (README: Reports API)."""
    _api_integration()
    if metric not in METRICS:
        return _error(404, "metric", f"must be one of {', '.join(METRICS)}")
    try:
        return jsonify(reports.report(metric, ReportQuery.from_args(request.args), compare=request.args.get("compare", "").strip() or None))
    except ParameterError as error:
        return _error(400, error.name, error.english)
