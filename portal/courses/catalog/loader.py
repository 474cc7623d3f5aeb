"""content/ → :class:`Catalog`: read every course folder, check it, then assemble the courses."""

from __future__ import annotations

import os
from pathlib import Path

from portal.courses.catalog.documents import Draft, FrontMatterError, parse_document
from portal.courses.catalog.links import assemble
from portal.courses.catalog.model import (
    COURSE_FILE,
    COURSE_SLUG,
    IMAGE_EXTENSIONS,
    LESSON_FILE,
    WARNING,
    Catalog,
    Problem,
)
from portal.courses.catalog.validation import (
    Checker,
    read_course_meta,
    read_lesson_meta,
)


def load_catalog(content_dir: str | os.PathLike) -> Catalog:
    """Parse, validate and render every course under ``content_dir``."""
    root = Path(content_dir)
    problems: list[Problem] = []
    if not root.is_dir():
        return Catalog(root, {}, (Problem(root, 1, "the content folder does not exist"),))
    drafts: dict[str, Draft] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_file():
            if entry.name != "README.md":
                problems.append(Problem(entry, 1, "files directly in the content folder are ignored; a course is a folder", WARNING))
            continue
        if not COURSE_SLUG.match(entry.name):
            problems.append(Problem(entry, 1, f"course folder name '{entry.name}' is not a valid slug: use lowercase a-z, 0-9 and hyphens"))
            continue
        draft = _load_course(entry, problems)
        if draft is not None:
            drafts[draft.slug] = draft
    _check_translations(drafts, problems)
    courses = {}
    for slug, draft in drafts.items():
        course = assemble(draft, drafts, problems)
        if course is not None:
            courses[slug] = course
    ordered = dict(sorted(courses.items(), key=lambda item: (item[1].order, item[1].title, item[0])))
    problems.sort(key=lambda p: (str(p.path), p.line))
    return Catalog(root, ordered, tuple(problems))


def _read(path: Path, check: Checker) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        check.error(1, "the file is not UTF-8 text")
    except OSError as error:
        check.error(1, f"cannot read the file: {error.strerror}")
    return None


def _load_course(folder: Path, problems: list[Problem]) -> Draft | None:
    course_path = folder / COURSE_FILE
    check = Checker(course_path, problems)
    if not course_path.is_file():
        check.error(1, f"the course folder '{folder.name}' has no {COURSE_FILE}")
        return None
    text = _read(course_path, check)
    doc = meta = None
    if text is not None:
        try:
            doc = parse_document(text)
        except FrontMatterError as error:
            check.error(error.line, error.message)
        else:
            meta = read_course_meta(check, doc)
    draft = Draft(slug=folder.name, path=folder, meta=meta, doc=doc)

    numbers: dict[int, str] = {}
    slugs: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == COURSE_FILE:
            continue
        if entry.is_dir():
            problems.append(Problem(entry, 1, "folders inside a course are ignored; put images beside the lessons", WARNING))
            continue
        if entry.suffix.lower() in IMAGE_EXTENSIONS:
            draft.files.add(entry.name)
            continue
        if entry.suffix != ".md":
            problems.append(Problem(entry, 1, "this file is ignored: only lessons (.md) and images (png, jpg, gif, webp) belong in a course", WARNING))
            continue
        lesson_check = Checker(entry, problems)
        match = LESSON_FILE.match(entry.name)
        if not match:
            lesson_check.error(1, "lesson file names look like 01-lesson-name.md: two digits, a hyphen, then lowercase a-z, 0-9 and hyphens")
            continue
        number, slug = int(match.group(1)), match.group(2)
        if number in numbers:
            lesson_check.error(1, f"lesson number {number:02d} is also used by {numbers[number]}")
            continue
        if slug in slugs:
            lesson_check.error(1, f"lesson slug '{slug}' is also used by {slugs[slug]}: slugs must be unique in a course")
            continue
        numbers[number] = entry.name
        slugs[slug] = entry.name
        draft.lesson_files[entry.name] = (slug, None)
        lesson_text = _read(entry, lesson_check)
        if lesson_text is None:
            continue
        try:
            lesson_doc = parse_document(lesson_text)
        except FrontMatterError as error:
            lesson_check.error(error.line, error.message)
            continue
        draft.lesson_files[entry.name] = (slug, lesson_doc)
        lesson_meta = read_lesson_meta(lesson_check, lesson_doc)
        if lesson_meta is not None:
            draft.lessons.append((lesson_meta, lesson_doc, entry, number, slug))
        else:
            draft.broken.append((lesson_doc, entry, slug))

    if numbers:
        expected = set(range(1, max(numbers) + 1))
        missing = sorted(expected - set(numbers))
        if missing or 0 in numbers:
            gaps = ", ".join(f"{n:02d}" for n in missing) or "00"
            check.error(1, f"lessons must be numbered 01, 02, 03 ... without gaps (check {gaps})")
    else:
        check.error(1, "the course has no lessons (files named 01-lesson-name.md)")
    draft.lessons.sort(key=lambda item: item[3])
    if draft.lessons:
        quizzes = [item for item in draft.lessons if item[0]["quiz"] is not None]
        last = draft.lessons[-1]
        if last[0]["quiz"] is None:
            problems.append(Problem(last[2], 1, "by our convention the last lesson of a course has a quiz", WARNING))
        elif len(draft.lessons) > 1 and len(quizzes) < 2:
            problems.append(Problem(course_path, 1, "by our convention one more lesson besides the last has a quiz", WARNING))
    return draft


def _check_translations(drafts: dict[str, Draft], problems: list[Problem]) -> None:
    for draft in drafts.values():
        original_slug = draft.meta["translation_of"] if draft.meta else None
        if original_slug is None:
            continue
        check = Checker(draft.path / COURSE_FILE, problems)
        line = draft.doc.line("translation_of")
        original = drafts.get(original_slug)
        if original is None or original.meta is None:
            check.error(line, f"translation_of names a course that does not exist: {original_slug}")
            draft.meta["translation_of"] = None
        elif original_slug == draft.slug:
            check.error(line, "a course cannot be a translation of itself")
            draft.meta["translation_of"] = None
        elif original.meta["translation_of"] is not None:
            check.error(line, f"{original_slug} is itself a translation; name the original course")
            draft.meta["translation_of"] = None
        elif original.meta["language"] == draft.meta["language"]:
            check.error(line, f"a translation must be in another language than {original_slug} ({draft.meta['language']})")
            draft.meta["translation_of"] = None
        elif len(original.lessons) != len(draft.lessons):
            check.warning(line, f"the translation has {len(draft.lessons)} lessons, the original {len(original.lessons)}: keep the same lessons in the same order")
