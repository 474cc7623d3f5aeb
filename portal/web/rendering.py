"""One URL, one template: the full page, or just one of its blocks for htmx.

A view passes the template and the name of the block that is its fragment.
The fragment is returned only for a real htmx request: not a boosted
navigation and not a history restore, both of which need the whole page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block, render_blocks


def wants_fragment() -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, block: str | Sequence[str], status: int = 200, **context: Any) -> Response:
    """The whole page, or for htmx the named block(s) of the same template.

    With several blocks, the first is the swap target's content and the
    others carry ``hx-swap-oob`` for the other parts of the page that changed.
    """
    if wants_fragment():
        if isinstance(block, str):
            body = render_block(template, block, **context)
        else:
            body = render_blocks(template, list(block), **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def see_other(location: str) -> Response:
    """POST-redirect-GET. htmx follows a 303 transparently, so for htmx
    callers that want the fragment, views render instead of redirecting."""
    return redirect(location, code=303)


def safe_next(target: str | None, fallback: str) -> str:
    """Only local paths: never redirect a user to another site.

    Control characters are refused too: browsers drop tabs and line breaks
    inside URLs (so "/<tab>/evil.example" leads off-site), and a line break
    cannot go into a Location header."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    if any(c < " " or c == "\x7f" for c in target):
        return fallback
    return target
