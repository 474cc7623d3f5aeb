"""URLs: absolute ones for links that leave the portal (emails, CLI
output), and this page's own URL with other query arguments."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import current_app, request, url_for


def external_url(endpoint: str, **values) -> str:
    """Built from PORTAL_BASE_URL, so it is right in the worker and on the
    command line, where there is no request to take the host from."""
    base = current_app.config["PORTAL_BASE_URL"]
    with current_app.test_request_context("/", base_url=base):
        return url_for(endpoint, _external=True, **values)


def this_url(**changes: str) -> str:
    """This page's path with some query arguments replaced (the others kept):
    ``this_url(lang="en")``. Cheaper than url_for, and keeps unknown ones."""
    args = request.args.to_dict()
    args.update(changes)
    return f"{quote(request.script_root + request.path)}?{urlencode(args)}"


#: The keywords url_for takes for itself: query arguments with these names
#: cannot be passed on as values (``?_scheme=x`` would make url_for fail).
URL_FOR_KEYWORDS = frozenset({"endpoint", "_anchor", "_method", "_scheme", "_external"})


def url_with_args(endpoint: str, args: dict[str, str], **changes) -> str:
    """url_for with this page's query arguments (for pagers), some changed."""
    values = {key: value for key, value in args.items() if key not in URL_FOR_KEYWORDS}
    values.update(changes)
    return url_for(endpoint, **values)
