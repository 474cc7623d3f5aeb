"""Security headers on every response (DESIGN.md §7)."""

from __future__ import annotations

from flask import current_app, request

from portal.web import bp
from portal.web.theme import brand


#: Where staff pages and their exports live.
STAFF_PREFIX = "/staff/"


def content_security_policy(html: bool = True) -> str:
    """``html``: a page, which may show the brand's logo from another site
    (only pages read the brand: /healthz and the like touch nothing else)."""
    img_sources = ["'self'", "data:"]
    logo_origin = brand().logo_origin if html else None
    if logo_origin:
        img_sources.append(logo_origin)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(img_sources)}",
            "connect-src 'self'",
            "font-src 'self'",
            "form-action 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


@bp.after_app_request
def set_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(response.mimetype == "text/html"))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if current_app.config["PORTAL_HTTPS"]:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if "Cache-Control" not in headers and request.endpoint != "web.static":
        if request.path.startswith(STAFF_PREFIX):
            # Staff pages and exports hold other people's data: not even on a shared computer's disk.
            headers["Cache-Control"] = "no-store"
        elif request.endpoint:
            # Pages carry personal data and CSRF tokens: never store them in shared caches.
            headers["Cache-Control"] = "private, no-cache"
    return response


def token_page_headers(response):
    """For pages reached through a secret link: no referrer leak, no caching."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
