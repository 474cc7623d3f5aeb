"""Lessons become pages: their HTML checked, and links and images written as file names rewritten
to URLs relative to the page that shows them (learner pages and the staff preview alike)."""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path

from markupsafe import Markup

from portal.courses.catalog.documents import ADMONITION, Document, Draft, render_body
from portal.courses.catalog.model import (
    COURSE_FILE,
    IMAGE_EXTENSIONS,
    Course,
    Lesson,
    Problem,
)
from portal.courses.catalog.validation import Checker
from portal.web.markdown import ADMONITION_TYPES

# --- links -------------------------------------------------------------------------

_URL_ATTRIBUTE = re.compile(r'\b(href|src)="([^"]*)"')
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def assemble(draft: Draft, drafts: dict[str, Draft], problems: list[Problem]) -> Course | None:
    meta = draft.meta
    language = draft.language
    for doc, path, slug in draft.broken:  # left out, but editors hear about everything at once
        _finish_html(draft, doc, path, slug, drafts, problems, language)
    if meta is None:
        for _meta, doc, path, _number, slug in draft.lessons:
            _finish_html(draft, doc, path, slug, drafts, problems, language)
        return None
    intro = _finish_html(draft, draft.doc, draft.path / COURSE_FILE, None, drafts, problems, language)
    lessons = []
    for lesson_meta, doc, path, number, slug in draft.lessons:
        lessons.append(
            Lesson(
                course_slug=draft.slug,
                slug=slug,
                number=number,
                title=lesson_meta["title"],
                minutes=lesson_meta["minutes"],
                version=lesson_meta["version"],
                quiz=lesson_meta["quiz"],
                html=_finish_html(draft, doc, path, slug, drafts, problems, language),
                path=path,
            )
        )
    return Course(
        slug=draft.slug,
        title=meta["title"],
        summary=meta["summary"],
        language=language,
        audience=meta["audience"],
        order=meta["order"],
        draft=meta["draft"],
        translation_of=meta["translation_of"],
        intro_html=intro,
        lessons=tuple(lessons),
        path=draft.path,
        files=frozenset(draft.files),
    )


def _finish_html(
    draft: Draft, doc: Document, path: Path, lesson_slug: str | None, drafts: dict[str, Draft], problems: list[Problem], language: str
) -> Markup:
    """Render (cached), report what the sanitizer removed, check and rewrite links and images."""
    check = Checker(path, problems)
    rendered = render_body(doc.body, language)
    for item in rendered.removed:
        if item.startswith('attribute class="admonition '):
            continue  # reported below as an unknown admonition, on its line
        needle = re.search(r"<(\w+)>|attribute (\w[\w:-]*)=", item)
        hint = ""
        if needle:
            hint = f"<{needle.group(1)}" if needle.group(1) else f"{needle.group(2)}="
        check.error(doc.body_line_of(hint), f"the sanitizer removed {item}: write Markdown, not HTML")
    for line_number, text in enumerate(doc.body.splitlines(), start=doc.body_line):
        match = ADMONITION.match(text)
        if match and match.group("kind") not in ADMONITION_TYPES:
            check.error(line_number, f"unknown admonition '{match.group('kind')}': use note, tip or warning")
    for match in re.finditer(r"!\[\s*\]\(([^)]*)\)", doc.body):
        check.warning(doc.body_line_of(match.group(0)), "an image needs a description: ![what the image shows](file.png)")

    def rewrite(match: re.Match) -> str:
        attribute, raw = match.group(1), html.unescape(match.group(2))
        resolved = _resolve(attribute, raw, draft, lesson_slug, drafts, rendered.heading_ids, check, doc)
        return f'{attribute}="{html.escape(resolved, quote=True)}"'

    return Markup(_URL_ATTRIBUTE.sub(rewrite, rendered.html))


def _resolve(
    attribute: str,
    url: str,
    draft: Draft,
    lesson_slug: str | None,
    drafts: dict[str, Draft],
    own_ids: frozenset[str],
    check: Checker,
    doc: Document,
) -> str:
    """The URL to put in the page for a link or image written in a lesson."""
    line = doc.body_line_of(url)
    on_lesson_page = lesson_slug is not None
    if _SCHEME.match(url) or url.startswith("//"):
        if attribute == "src":
            check.error(line, f"external image {url}: the portal shows only images stored beside the lesson")
        return url
    if url.startswith("#"):
        if url[1:] and url[1:] not in own_ids:
            check.warning(line, f"no heading with the anchor {url} in this file")
        return url
    if url.startswith("/"):
        check.error(line, f"{url}: link to a lesson by its file name (02-lesson.md) or use a full https:// address")
        return url
    target, _, fragment = url.partition("#")
    normalised = posixpath.normpath(posixpath.join(draft.slug, target))
    parts = normalised.split("/")
    to_course = "../" if on_lesson_page else ""  # from the page to <prefix>/<course>/
    if attribute == "src" or (len(parts) == 2 and Path(parts[1]).suffix.lower() in IMAGE_EXTENSIONS):
        if len(parts) != 2 or parts[0] != draft.slug:
            check.error(line, f"image {url}: images must be stored beside the lesson, in the course folder")
            return url
        if parts[1] not in draft.files:
            check.error(line, f"image not found: {url}")
            return url
        return f"{to_course}files/{parts[1]}"
    if len(parts) != 2 or not parts[1].endswith(".md"):
        check.error(line, f"link target not found: {url} (link to a lesson by its file name, e.g. 02-lesson.md)")
        return url
    course_slug, file_name = parts
    target_course = drafts.get(course_slug)
    if target_course is None:
        check.error(line, f"link to a course that does not exist: {url}")
        return url
    suffix = f"#{fragment}" if fragment else ""
    if not draft.is_draft and target_course.is_draft:
        check.warning(line, f"link to the draft course {course_slug}: learners cannot open it yet")
    same_course = course_slug == draft.slug
    course_base = to_course if same_course else f"{to_course}../{course_slug}/"
    if file_name == COURSE_FILE:
        return (course_base or "./") + suffix
    target = target_course.lesson_files.get(file_name)
    if target is None:
        check.error(line, f"link to a lesson that does not exist: {url}")
        return url
    target_slug, target_doc = target
    if fragment and target_doc is not None:
        if fragment not in render_body(target_doc.body, target_course.language).heading_ids:
            check.warning(line, f"{file_name} has no heading with the anchor #{fragment}")
    if same_course and on_lesson_page:
        return f"{target_slug}{suffix}"
    return f"{course_base}lessons/{target_slug}{suffix}"
