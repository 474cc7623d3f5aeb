"""Health probes, the language switch, the brand stylesheet."""

from __future__ import annotations

from flask import Response, abort, current_app, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.config import SUPPORTED_LOCALES
from portal.extensions import csrf, db, limiter
from portal.web import bp
from portal.web.rendering import safe_next, see_other
from portal.web.theme import brand, brand_stylesheet


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("reports.dashboard"))
    return redirect(url_for("auth.login"))


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Liveness: the process answers. Touches nothing else (the benchmark baseline)."""
    return Response("ok\n", mimetype="text/plain")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Readiness: the database answers too (a 503 rolls the failed transaction back)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        current_app.logger.exception("readiness check failed")
        return Response("database unavailable\n", status=503, mimetype="text/plain")
    return Response("ok\n", mimetype="text/plain")


@bp.post("/language")
def switch_language():
    lang = request.form.get("lang", "")
    if lang not in SUPPORTED_LOCALES:
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        from portal.auth.services import set_preferred_language

        set_preferred_language(current_user, lang)
    return see_other(safe_next(request.form.get("next"), url_for("web.index")))


@bp.get("/brand.css")
@csrf.exempt
def brand_css():
    """At ``?v=<brand version>`` (the layout's link) cached for good: a new
    colour is a new URL. Otherwise revalidated on each use, so that a saved
    colour shows at once."""
    current = brand()
    response = Response(brand_stylesheet(current.color), mimetype="text/css")
    if request.args.get("v") == current.version:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(current.version)
    return response.make_conditional(request)
