"""Base layout, htmx rendering helper, error pages, static files, security headers."""

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

from portal.web import inputs  # noqa: E402

# First, so that every other blueprint's <int:...> is bounded (web registers first).
bp.record_once(inputs.install)

from portal.web import context, errors, markdown, security, views  # noqa: E402,F401  (routes and hooks register on import)
