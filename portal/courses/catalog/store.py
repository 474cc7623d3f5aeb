"""The app's one catalog, reloaded in development when a file under content/ changes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from portal.courses.catalog.loader import load_catalog
from portal.courses.catalog.model import Catalog


class CatalogStore:
    """The app's catalog: loaded at start; in development reloaded when a file changes.

    Rebuilding is cheap after the first load because rendering is cached by
    file content; only changed files are rendered again.
    """

    CHECK_INTERVAL = 1.0  # seconds between looks at the files in development

    def __init__(self, content_dir: str | os.PathLike, auto_reload: bool = False) -> None:
        self.content_dir = Path(content_dir)
        self.auto_reload = auto_reload
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._fingerprint = self._scan()
        self._catalog = load_catalog(self.content_dir)

    def get(self) -> Catalog:
        if self.auto_reload and time.monotonic() - self._checked_at >= self.CHECK_INTERVAL:
            self._reload_if_changed()
        return self._catalog

    def reload(self) -> Catalog:
        with self._lock:
            self._fingerprint = self._scan()
            self._catalog = load_catalog(self.content_dir)
            self._checked_at = time.monotonic()
        return self._catalog

    def _reload_if_changed(self) -> None:
        with self._lock:
            self._checked_at = time.monotonic()
            fingerprint = self._scan()
            if fingerprint != self._fingerprint:
                self._fingerprint = fingerprint
                self._catalog = load_catalog(self.content_dir)

    def _scan(self) -> tuple:
        """Names, sizes and modification times of everything under content/."""
        entries = []
        try:
            for folder, dirs, files in os.walk(self.content_dir):
                dirs.sort()
                for name in sorted(files):
                    try:
                        stat = os.stat(os.path.join(folder, name))
                    except OSError:
                        continue
                    entries.append((folder, name, stat.st_size, stat.st_mtime_ns))
        except OSError:
            return ()
        return tuple(entries)
