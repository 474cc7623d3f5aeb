"""E-learning: courses from content/, access links for customer teams, learners' progress.

Learner pages live under /learn/..., staff pages under /staff/courses/...
"""

from flask import Blueprint

bp = Blueprint("courses", __name__, template_folder="templates")


@bp.record_once
def _load_catalog(state) -> None:
    """The catalog is loaded when the app is built; development reloads it on change."""
    from portal.courses.catalog import CatalogStore

    app = state.app
    auto_reload = bool(app.debug or app.config.get("PORTAL_ENV") == "development")
    store = CatalogStore(app.config["PORTAL_CONTENT_DIR"], auto_reload=auto_reload)
    for problem in store.get().errors:
        app.logger.warning("content: %s", problem)
    app.extensions["courses_catalog"] = store


from portal.courses import models, staff_views, views  # noqa: E402,F401
