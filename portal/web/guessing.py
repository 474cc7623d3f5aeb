"""Against token guessing: unknown secret links count per address, and an
address over the limit is refused (429) on every secret-link page for a while.

Only misses count, so customers answering surveys never use up the limit.
This talks to Flask-Limiter's storage directly (memory or Redis, as
configured) instead of decorating the views: the decorator's per-request
bookkeeping cost a fifth of the survey page's time.
"""

from __future__ import annotations

import functools

from flask import abort, current_app, request
from limits import RateLimitItem, parse_many

from portal.extensions import limiter

SCOPE = "secret-link-misses"


@functools.lru_cache(maxsize=8)
def _limits(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


def _key() -> str:
    return request.remote_addr or "unknown"


def refuse_blocked_address() -> None:
    """Call before looking a token up."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    for item in _limits(current_app.config["PORTAL_TOKEN_LIMIT_PER_IP"]):
        if not limiter.limiter.test(item, SCOPE, _key()):
            abort(429)


def count_miss() -> None:
    """Call when a token was not found."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    for item in _limits(current_app.config["PORTAL_TOKEN_LIMIT_PER_IP"]):
        limiter.limiter.hit(item, SCOPE, _key())
