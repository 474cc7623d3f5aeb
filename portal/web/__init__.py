"""What every page shares: base layout, rendering helper, the one unit of work
(transaction.py), error pages, static files, security headers, the Markdown
pipeline.

Not a feature package: no models, services or forms. One module a job:
rendering.py (page or fragment), transaction.py (commit once), errors.py,
security.py, markdown.py, i18n.py, dates.py (dates and times as staff read
them), search.py (spelling-free text search), context.py (template context), inputs.py
(hostile input), guessing.py (token guessing), theme.py, urls.py; views.py serves the
health probes, the language switch and the brand stylesheet.
"""

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")

from portal.web import inputs  # noqa: E402

# First, so that every other blueprint's <int:...> is bounded (web registers first).
bp.record_once(inputs.install)

from portal.web import context, dates, errors, markdown, security, views  # noqa: E402,F401  (routes and hooks register on import)
