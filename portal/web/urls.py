"""Absolute URLs for links that leave the portal (emails, CLI output).

Built from PORTAL_BASE_URL, so they are right in the worker and on the
command line, where there is no request to take the host from.
"""

from __future__ import annotations

from flask import current_app, url_for


def external_url(endpoint: str, **values) -> str:
    base = current_app.config["PORTAL_BASE_URL"]
    with current_app.test_request_context("/", base_url=base):
        return url_for(endpoint, _external=True, **values)
