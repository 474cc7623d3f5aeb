"""Friendly error pages, in the layout or as a fragment for htmx requests.

Every 4xx and 5xx the app produces goes through here, so a user never sees
Werkzeug's English default page. A failed request never leaves half a unit
of work behind: the request hook in transaction.py rolls back every response
of 400 and above, these pages included; an unexpected error discards the
unit of work before its page is drawn, since the session may be unusable.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.web import bp, transaction
from portal.web.rendering import render


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("The request could not be processed"), _("Something in the request was not valid. Please check your input and try again.")),
        403: (_("No access"), _("You do not have permission to open this page.")),
        404: (_("Page not found"), _("The page you were looking for does not exist or has been moved.")),
        405: (_("Not possible"), _("This page cannot be used in this way.")),
        410: (_("This link has expired"), _("The link is no longer valid. Please ask us for a new one.")),
        413: (_("Too much data"), _("What you sent is larger than we accept. Please shorten it and try again.")),
        429: (_("Too many attempts"), _("Please wait a moment before trying again.")),
        500: (_("Something went wrong"), _("An unexpected error occurred on our side. We have been notified; please try again later.")),
    }


def error_response(status: int, detail: str | None = None):
    title, message = _messages().get(status, _messages()[500 if status >= 500 else 400])
    if request.path.startswith("/api/"):
        return jsonify(error={"status": status, "title": title, "message": detail or message}), status
    return render("web/error.html", "error", status=status, title=title, message=detail or message, code=status)


@bp.app_errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    return error_response(400, _("Your form has expired. Please reload the page and try again."))


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.response is not None:  # abort(response): the view already built the answer
        return error.response
    status = error.code or 500
    response = error_response(status)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response = current_app.make_response(response)
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429:
        response = current_app.make_response(response)
        retry = getattr(error, "retry_after", None)
        if retry:
            response.headers["Retry-After"] = str(retry)
    return response


@bp.app_errorhandler(InternalServerError)
def server_error(error: InternalServerError):
    transaction.discard()
    current_app.logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=error.original_exception)
    return error_response(500)
