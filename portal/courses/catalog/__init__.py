"""The course catalog: content/ parsed, validated, rendered and sanitized.

Editors write courses as folders of Markdown files (content/README.md
describes the format). :func:`load_catalog` turns such a folder into an
immutable :class:`Catalog` and a list of :class:`Problem` (file:line
messages), which is also what ``flask --app portal content check`` prints.

Rendering is the expensive part, so it is cached by file content: a file is
parsed and rendered once per distinct content, however often the catalog is
rebuilt. The app keeps one catalog (:class:`CatalogStore`), loaded at start;
in development it is rebuilt when a file under content/ changes.

Links between lessons are written as file names (``02-rufnummern.md``) and
rewritten here to URLs relative to the page that shows them, so the same
HTML works for learners (``/learn/courses/<course>/lessons/<lesson>``) and in
the staff preview (``/staff/courses/preview/<course>/lessons/<lesson>``).

The package: ``model`` (the immutable types), ``documents`` (front matter and
rendering), ``validation`` (front-matter checks), ``links`` (link rewriting and
assembly), ``loader`` (:func:`load_catalog`) and ``store`` (:class:`CatalogStore`).
"""

from __future__ import annotations

from portal.courses.catalog.loader import load_catalog
from portal.courses.catalog.model import (
    AUDIENCES,
    ERROR,
    WARNING,
    Catalog,
    Course,
    Lesson,
    Problem,
    Question,
    Quiz,
    QuizOption,
    QuizResult,
    display_path,
)
from portal.courses.catalog.store import CatalogStore

__all__ = [
    "AUDIENCES",
    "ERROR",
    "WARNING",
    "Catalog",
    "CatalogStore",
    "Course",
    "Lesson",
    "Problem",
    "Question",
    "Quiz",
    "QuizOption",
    "QuizResult",
    "display_path",
    "load_catalog",
]
