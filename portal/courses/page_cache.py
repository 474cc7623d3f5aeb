"""Rendered learner pages, kept per process.

A learner re-reading a lesson costs one query (who they are) instead of
three and a template. Nothing is ever invalidated: the key holds everything
such a page shows, so a change to any of it simply makes a new key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app, request, session
from flask_login import current_user

from portal.courses import services
from portal.courses.identity import LearnerContext, page_language
from portal.web.rendering import wants_fragment


class PageCache:
    """The newest ``size`` pages, least recently used out first.

    The key holds the catalog (a new serial after each content reload), the
    learner and their ``last_active_at`` (moved by every completion and quiz
    attempt, see services.touch), the link, the language, the session's CSRF
    secret (the forms carry a token made from it), the URL, and whether htmx
    asked for a fragment. Pages with flashed messages or for a signed-in
    staff member are not cached.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._pages: OrderedDict[tuple, tuple[bytes, int, str]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, context: LearnerContext) -> tuple | None:
        csrf_secret = session.get("csrf_token")
        if csrf_secret is None or session.get("_flashes") or current_user.is_authenticated:
            return None
        return (
            request.full_path,
            wants_fragment(),
            context.learner.id,
            context.learner.last_active_at,
            context.link.id,
            page_language(),
            csrf_secret,
            services.get_catalog().serial,
        )

    def get(self, key: tuple) -> tuple[bytes, int, str] | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: tuple[bytes, int, str]) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


pages = PageCache()


def learner_page(context: LearnerContext, build: Callable[[], object]):
    """A learner's GET page from the cache, or built and remembered."""
    key = pages.key(context)
    if key is not None and (page := pages.get(key)) is not None:
        body, status, mimetype = page
        response = current_app.response_class(body, status=status, mimetype=mimetype)
        response.vary.add("HX-Request")
        return response
    response = build()
    if key is not None and response.status_code == 200:
        pages.put(key, (response.get_data(), response.status_code, response.mimetype))
    return response
