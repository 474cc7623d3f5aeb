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
"""

from __future__ import annotations

import html
import itertools
import os
import posixpath
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup

from portal.config import SUPPORTED_LOCALES
from portal.web.markdown import ADMONITION_TYPES, render_markdown_report

COURSE_FILE = "course.md"
COURSE_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LESSON_FILE = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$")
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
#: Service types a course can be meant for (portal.customers.models.SERVICE_TYPES).
AUDIENCES = ("sip_trunk", "hosted_pbx", "ucaas", "connectivity")
MIN_OPTIONS, MAX_OPTIONS = 2, 5

COURSE_KEYS = {"title", "summary", "language", "audience", "order", "draft"}
COURSE_OPTIONAL_KEYS = {"translation_of"}
LESSON_KEYS = {"title", "minutes", "version"}
LESSON_OPTIONAL_KEYS = {"quiz"}

#: The title an admonition gets when the editor gives none, in the course's language.
ADMONITION_TITLES = {
    "de": {"note": "Hinweis", "tip": "Tipp", "warning": "Achtung"},
    "en": {"note": "Note", "tip": "Tip", "warning": "Warning"},
}

ERROR, WARNING = "error", "warning"


# --- the catalog -----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something wrong in content/, as a file:line message."""

    path: Path
    line: int
    message: str
    level: str = ERROR

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}: {self.level}: {self.message}"


@dataclass(frozen=True)
class QuizOption:
    text: str
    correct: bool = False


@dataclass(frozen=True)
class Question:
    prompt: str
    options: tuple[QuizOption, ...]
    explanation: str = ""

    @property
    def correct_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class QuizResult:
    """A scored quiz: which answers were right, the percentage, and whether it passed."""

    answers: dict[int, int]
    correct: tuple[bool, ...]
    score_percent: int
    passed: bool


@dataclass(frozen=True)
class Quiz:
    pass_mark: int
    questions: tuple[Question, ...]

    def score(self, answers: dict[int, int]) -> QuizResult:
        """``answers`` maps a question's index to the chosen option's index."""
        correct = tuple(answers.get(i) == q.correct_index for i, q in enumerate(self.questions))
        percent = round(100 * sum(correct) / len(self.questions)) if self.questions else 0
        return QuizResult(answers=dict(answers), correct=correct, score_percent=percent, passed=percent >= self.pass_mark)


@dataclass(frozen=True)
class Lesson:
    course_slug: str
    slug: str
    number: int
    title: str
    minutes: int
    version: int
    html: Markup
    path: Path
    quiz: Quiz | None = None


@dataclass(frozen=True)
class Course:
    slug: str
    title: str
    summary: str
    language: str
    audience: tuple[str, ...]
    order: int
    draft: bool
    intro_html: Markup
    lessons: tuple[Lesson, ...]
    path: Path
    translation_of: str | None = None
    files: frozenset[str] = frozenset()

    @cached_property
    def _by_slug(self) -> dict[str, Lesson]:
        return {lesson.slug: lesson for lesson in self.lessons}

    def lesson(self, slug: str) -> Lesson | None:
        return self._by_slug.get(slug)

    def neighbours(self, lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
        index = self.lessons.index(lesson)
        previous = self.lessons[index - 1] if index > 0 else None
        following = self.lessons[index + 1] if index + 1 < len(self.lessons) else None
        return previous, following

    @property
    def family(self) -> str:
        """Translations share the original's slug as their family."""
        return self.translation_of or self.slug

    @property
    def minutes(self) -> int:
        return sum(lesson.minutes for lesson in self.lessons)


_serials = itertools.count(1)


@dataclass(frozen=True)
class Catalog:
    content_dir: Path
    courses: dict[str, Course] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    #: Unique per loaded catalog in this process (a version for caches of rendered pages).
    serial: int = field(default_factory=lambda: next(_serials))

    def course(self, slug: str) -> Course | None:
        return self.courses.get(slug)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == WARNING]

    def published(self) -> list[Course]:
        return [course for course in self.courses.values() if not course.draft]

    def variant(self, course: Course, language: str, include_drafts: bool = False) -> Course:
        """The course in ``language`` if a translation exists, else the course itself."""
        if course.language == language:
            return course
        for other in self.courses.values():
            if other.family == course.family and other.language == language and (include_drafts or not other.draft):
                return other
        return course

    def for_audience(
        self, service_types: Iterable[str], language: str, only: Iterable[str] | None = None
    ) -> list[Course]:
        """Published courses for an account: the chosen ones (``only``: slugs,
        translations included), or else those meant for its services; one per
        translation family, in ``language`` where it exists."""
        services = set(service_types)
        chosen = None if only is None else set(only)
        families: dict[str, list[Course]] = {}
        for course in self.published():
            if chosen is not None:
                if course.slug not in chosen and course.family not in chosen:
                    continue
            elif services and not services.intersection(course.audience):
                continue
            families.setdefault(course.family, []).append(course)
        picked = []
        for variants in families.values():
            preferred = [c for c in variants if c.language == language] or [c for c in variants if c.translation_of is None] or variants
            picked.append(preferred[0])
        return sorted(picked, key=lambda c: (c.order, c.title))


def display_path(path: Path) -> str:
    """Paths relative to the working directory when below it (as editors type them)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


# --- front matter ----------------------------------------------------------


class _FrontMatterError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class _Document:
    """A file split into its front matter (with line numbers) and Markdown body."""

    data: Any
    node: Any  # the YAML node tree, for line numbers
    body: str
    body_line: int  # the file line the body starts on
    duplicate_keys: tuple[tuple[int, str], ...] = ()

    def line(self, *path: str | int) -> int:
        """The file line of a front-matter key (or list item), as deep as it exists."""
        node = self.node
        if node is None:
            return 1
        line = node.start_mark.line
        for key in path:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == key:
                        line, node = key_node.start_mark.line, value_node
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line
            else:
                break
        return line + 2  # the front matter starts on line 2, after "---"

    def body_line_of(self, needle: str) -> int:
        """The first body line that contains ``needle`` (the body's start if none)."""
        if needle:
            lowered = needle.lower()
            for offset, text in enumerate(self.body.splitlines()):
                if lowered in text.lower():
                    return self.body_line + offset
        return self.body_line


@lru_cache(maxsize=1024)
def _parse_document(text: str) -> _Document:
    """Split and parse one file; cached by content."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise _FrontMatterError(1, "the file must start with front matter: a line '---', the YAML keys, and another '---'")
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            end = index
            break
    else:
        raise _FrontMatterError(1, "the front matter is not closed: add a line '---' after the YAML keys")
    source = "\n".join(lines[1:end])
    loader = yaml.SafeLoader(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = (mark.line + 2) if mark else 2
        hint = " (put texts that contain a colon in double quotes)" if "mapping values" in str(error.problem) else ""
        raise _FrontMatterError(line, f"the front matter is not valid YAML: {error.problem}{hint}") from error
    except yaml.YAMLError as error:
        raise _FrontMatterError(2, f"the front matter is not valid YAML: {error}") from error
    finally:
        loader.dispose()
    body = "\n".join(lines[end + 1 :])
    return _Document(data=data, node=node, body=body, body_line=end + 2, duplicate_keys=tuple(_duplicate_keys(node)))


def _duplicate_keys(node: Any) -> Iterator[tuple[int, str]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                yield key_node.start_mark.line + 2, str(key_node.value)
            seen.add(key_node.value)
            yield from _duplicate_keys(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


# --- rendering ---------------------------------------------------------------

_ADMONITION = re.compile(r"^(?P<indent>\s*)!!!\s+(?P<kind>[\w-]+)(?P<rest>.*)$")


@dataclass(frozen=True)
class _RenderedBody:
    html: str
    removed: tuple[str, ...]
    heading_ids: frozenset[str]


@lru_cache(maxsize=1024)
def _render_body(body: str, language: str) -> _RenderedBody:
    """Markdown → sanitized HTML, once per distinct body (the expensive step)."""
    titles = ADMONITION_TITLES.get(language, ADMONITION_TITLES["en"])

    def default_title(match: re.Match) -> str:
        kind, rest = match.group("kind"), match.group("rest")
        if kind in titles and not rest.strip():
            return f'{match.group("indent")}!!! {kind} "{titles[kind]}"'
        return match.group(0)

    prepared = "\n".join(_ADMONITION.sub(default_title, line) for line in body.splitlines())
    rendered = render_markdown_report(prepared)
    ids = frozenset(re.findall(r'<h[1-6] id="([^"]+)"', str(rendered.html)))
    return _RenderedBody(html=str(rendered.html), removed=rendered.removed, heading_ids=ids)


# --- validation helpers --------------------------------------------------------


class _Checker:
    """Collects problems for one file."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, ERROR))

    def warning(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, WARNING))


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return type(value).__name__


def _text(check: _Checker, doc: _Document, value: Any, path: tuple, label: str, required: bool = True) -> str | None:
    if value is None:
        if required:
            check.error(doc.line(*path), f"{label} is missing")
        return None
    if not isinstance(value, str):
        hint = "; put it in double quotes" if isinstance(value, (bool, int, float)) else ""
        check.error(doc.line(*path), f"{label} must be text, not {_type_name(value)}{hint}")
        return None
    if not value.strip():
        check.error(doc.line(*path), f"{label} must not be empty")
        return None
    return value.strip()


def _integer(check: _Checker, doc: _Document, value: Any, path: tuple, label: str, low: int, high: int | None = None) -> int | None:
    if value is None:
        check.error(doc.line(*path), f"{label} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        check.error(doc.line(*path), f"{label} must be a whole number, not {_type_name(value)}")
        return None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        check.error(doc.line(*path), f"{label} must be {bounds}, not {value}")
        return None
    return value


def _keys(check: _Checker, doc: _Document, mapping: dict, path: tuple, required: set[str], optional: set[str], what: str) -> None:
    for key in mapping:
        if key not in required | optional:
            known = ", ".join(sorted(required | optional))
            check.error(doc.line(*path, key), f"unknown key '{key}' in {what} (known keys: {known})")
    for key in sorted(required - set(mapping)):
        check.error(doc.line(*path), f"'{key}' is missing in {what}")


# --- loading ----------------------------------------------------------------------


@dataclass
class _Draft:
    """A course folder as parsed, before links are resolved. ``meta`` is None
    when course.md has errors: the course is left out, its lessons still checked."""

    slug: str
    path: Path
    meta: dict[str, Any] | None
    doc: _Document | None
    lessons: list[tuple[dict[str, Any], _Document, Path, int, str]] = field(default_factory=list)
    #: Lessons whose front matter has errors: left out, but their text is still checked.
    broken: list[tuple[_Document, Path, str]] = field(default_factory=list)
    #: Every lesson file with a valid name (file name → (lesson slug, document or None)).
    lesson_files: dict[str, tuple[str, _Document | None]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    @property
    def language(self) -> str:
        return self.meta["language"] if self.meta else "de"

    @property
    def is_draft(self) -> bool:
        return bool(self.meta and self.meta["draft"])


def load_catalog(content_dir: str | os.PathLike) -> Catalog:
    """Parse, validate and render every course under ``content_dir``."""
    root = Path(content_dir)
    problems: list[Problem] = []
    if not root.is_dir():
        return Catalog(root, {}, (Problem(root, 1, "the content folder does not exist"),))
    drafts: dict[str, _Draft] = {}
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
        course = _assemble(draft, drafts, problems)
        if course is not None:
            courses[slug] = course
    ordered = dict(sorted(courses.items(), key=lambda item: (item[1].order, item[1].title, item[0])))
    problems.sort(key=lambda p: (str(p.path), p.line))
    return Catalog(root, ordered, tuple(problems))


def _read(path: Path, check: _Checker) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        check.error(1, "the file is not UTF-8 text")
    except OSError as error:
        check.error(1, f"cannot read the file: {error.strerror}")
    return None


def _load_course(folder: Path, problems: list[Problem]) -> _Draft | None:
    course_path = folder / COURSE_FILE
    check = _Checker(course_path, problems)
    if not course_path.is_file():
        check.error(1, f"the course folder '{folder.name}' has no {COURSE_FILE}")
        return None
    text = _read(course_path, check)
    doc = meta = None
    if text is not None:
        try:
            doc = _parse_document(text)
        except _FrontMatterError as error:
            check.error(error.line, error.message)
        else:
            meta = _course_meta(check, doc)
    draft = _Draft(slug=folder.name, path=folder, meta=meta, doc=doc)

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
        lesson_check = _Checker(entry, problems)
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
            lesson_doc = _parse_document(lesson_text)
        except _FrontMatterError as error:
            lesson_check.error(error.line, error.message)
            continue
        draft.lesson_files[entry.name] = (slug, lesson_doc)
        lesson_meta = _lesson_meta(lesson_check, lesson_doc)
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


def _course_meta(check: _Checker, doc: _Document) -> dict[str, Any] | None:
    data = doc.data
    if not isinstance(data, dict):
        check.error(2, "the front matter must be keys and values (title: ..., summary: ...)")
        return None
    for line, key in doc.duplicate_keys:
        check.error(line, f"'{key}' appears twice")
    before = len(check.problems)
    _keys(check, doc, data, (), COURSE_KEYS, COURSE_OPTIONAL_KEYS, "course.md")
    title = _text(check, doc, data.get("title"), ("title",), "title") if "title" in data else None
    summary = _text(check, doc, data.get("summary"), ("summary",), "summary") if "summary" in data else None
    if summary and re.search(r"(\*\*|__|`|\[.+\]\(|<[a-z])", summary):
        check.warning(doc.line("summary"), "the summary is shown as plain text: leave out Markdown and HTML")
    language = data.get("language")
    if "language" in data and language not in SUPPORTED_LOCALES:
        check.error(doc.line("language"), f"language must be one of {', '.join(SUPPORTED_LOCALES)}, not {language!r}")
    audience = data.get("audience")
    if "audience" in data:
        if not isinstance(audience, list) or not audience:
            check.error(doc.line("audience"), f"audience must be a list of service types, e.g. [{AUDIENCES[0]}, {AUDIENCES[1]}]")
            audience = None
        else:
            for index, item in enumerate(audience):
                if item not in AUDIENCES:
                    check.error(doc.line("audience", index), f"unknown service type {item!r} in audience (known: {', '.join(AUDIENCES)})")
    order = _integer(check, doc, data.get("order"), ("order",), "order", 0) if "order" in data else None
    draft_flag = data.get("draft")
    if "draft" in data and not isinstance(draft_flag, bool):
        check.error(doc.line("draft"), f"draft must be true or false, not {_type_name(draft_flag)}")
    translation_of = data.get("translation_of")
    if translation_of is not None and (not isinstance(translation_of, str) or not COURSE_SLUG.match(translation_of)):
        check.error(doc.line("translation_of"), "translation_of must be the slug (folder name) of the original course")
        translation_of = None
    if len(check.problems) > before and any(p.level == ERROR for p in check.problems[before:]):
        return None
    return {
        "title": title,
        "summary": summary,
        "language": language,
        "audience": tuple(audience),
        "order": order,
        "draft": draft_flag,
        "translation_of": translation_of,
    }


def _lesson_meta(check: _Checker, doc: _Document) -> dict[str, Any] | None:
    data = doc.data
    if not isinstance(data, dict):
        check.error(2, "the front matter must be keys and values (title: ..., minutes: ..., version: ...)")
        return None
    for line, key in doc.duplicate_keys:
        check.error(line, f"'{key}' appears twice")
    before = len(check.problems)
    _keys(check, doc, data, (), LESSON_KEYS, LESSON_OPTIONAL_KEYS, "the lesson's front matter")
    title = _text(check, doc, data.get("title"), ("title",), "title") if "title" in data else None
    minutes = _integer(check, doc, data.get("minutes"), ("minutes",), "minutes", 1, 600) if "minutes" in data else None
    version = _integer(check, doc, data.get("version"), ("version",), "version", 1) if "version" in data else None
    quiz = _quiz(check, doc, data["quiz"]) if data.get("quiz") is not None else None
    if "quiz" in data and data.get("quiz") is None:
        check.error(doc.line("quiz"), "quiz is empty: remove it or add pass_mark and questions")
    if any(p.level == ERROR for p in check.problems[before:]):
        return None
    return {"title": title, "minutes": minutes, "version": version, "quiz": quiz}


def _quiz(check: _Checker, doc: _Document, raw: Any) -> Quiz | None:
    if not isinstance(raw, dict):
        check.error(doc.line("quiz"), "quiz must have pass_mark and questions")
        return None
    _keys(check, doc, raw, ("quiz",), {"pass_mark", "questions"}, set(), "the quiz")
    pass_mark = _integer(check, doc, raw.get("pass_mark"), ("quiz", "pass_mark"), "pass_mark", 1, 100) if "pass_mark" in raw else None
    raw_questions = raw.get("questions")
    if "questions" in raw and (not isinstance(raw_questions, list) or not raw_questions):
        check.error(doc.line("quiz", "questions"), "questions must be a list with at least one question")
        return None
    questions: list[Question] = []
    ok = pass_mark is not None and raw_questions is not None
    for q_index, raw_question in enumerate(raw_questions or []):
        where = ("quiz", "questions", q_index)
        label = f"question {q_index + 1}"
        if not isinstance(raw_question, dict):
            check.error(doc.line(*where), f"{label} must have prompt, options and explanation")
            ok = False
            continue
        _keys(check, doc, raw_question, where, {"prompt", "options"}, {"explanation"}, label)
        prompt = _text(check, doc, raw_question.get("prompt"), (*where, "prompt"), f"the prompt of {label}") if "prompt" in raw_question else None
        explanation = _text(check, doc, raw_question.get("explanation"), (*where, "explanation"), f"the explanation of {label}", required=False)
        if "explanation" not in raw_question:
            check.warning(doc.line(*where), f"{label} has no explanation; learners see it after answering")
        raw_options = raw_question.get("options")
        if "options" in raw_question and (not isinstance(raw_options, list) or not MIN_OPTIONS <= len(raw_options) <= MAX_OPTIONS):
            count = len(raw_options) if isinstance(raw_options, list) else 0
            check.error(doc.line(*where, "options"), f"{label} needs {MIN_OPTIONS} to {MAX_OPTIONS} options, not {count}")
            ok = False
            continue
        options: list[QuizOption] = []
        for o_index, raw_option in enumerate(raw_options or []):
            o_where = (*where, "options", o_index)
            if not isinstance(raw_option, dict):
                check.error(doc.line(*o_where), f"option {o_index + 1} of {label} must look like 'text: ...' (and 'correct: true' for the right one)")
                ok = False
                continue
            _keys(check, doc, raw_option, o_where, {"text"}, {"correct"}, f"option {o_index + 1} of {label}")
            text = _text(check, doc, raw_option.get("text"), (*o_where, "text"), f"option {o_index + 1} of {label}") if "text" in raw_option else None
            correct = raw_option.get("correct", False)
            if not isinstance(correct, bool):
                check.error(doc.line(*o_where, "correct"), f"'correct' in option {o_index + 1} of {label} must be true or false")
                ok = False
                continue
            if text is None:
                ok = False
                continue
            options.append(QuizOption(text=text, correct=correct))
        if len(options) == len(raw_options or []) and options:
            right = sum(option.correct for option in options)
            if right != 1:
                check.error(doc.line(*where, "options"), f"{label} must have exactly one option with 'correct: true', not {right}")
                ok = False
            texts = [option.text for option in options]
            if len(set(texts)) != len(texts):
                check.error(doc.line(*where, "options"), f"{label} has two options with the same text")
                ok = False
        if prompt is None or (explanation is None and "explanation" in raw_question):
            ok = False
        if ok and prompt is not None:
            questions.append(Question(prompt=prompt, options=tuple(options), explanation=explanation or ""))
    if not ok or pass_mark is None:
        return None
    return Quiz(pass_mark=pass_mark, questions=tuple(questions))


def _check_translations(drafts: dict[str, _Draft], problems: list[Problem]) -> None:
    for draft in drafts.values():
        original_slug = draft.meta["translation_of"] if draft.meta else None
        if original_slug is None:
            continue
        check = _Checker(draft.path / COURSE_FILE, problems)
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


# --- links -------------------------------------------------------------------------

_URL_ATTRIBUTE = re.compile(r'\b(href|src)="([^"]*)"')
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _assemble(draft: _Draft, drafts: dict[str, _Draft], problems: list[Problem]) -> Course | None:
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
    draft: _Draft, doc: _Document, path: Path, lesson_slug: str | None, drafts: dict[str, _Draft], problems: list[Problem], language: str
) -> Markup:
    """Render (cached), report what the sanitizer removed, check and rewrite links and images."""
    check = _Checker(path, problems)
    rendered = _render_body(doc.body, language)
    for item in rendered.removed:
        if item.startswith('attribute class="admonition '):
            continue  # reported below as an unknown admonition, on its line
        needle = re.search(r"<(\w+)>|attribute (\w[\w:-]*)=", item)
        hint = ""
        if needle:
            hint = f"<{needle.group(1)}" if needle.group(1) else f"{needle.group(2)}="
        check.error(doc.body_line_of(hint), f"the sanitizer removed {item}: write Markdown, not HTML")
    for line_number, text in enumerate(doc.body.splitlines(), start=doc.body_line):
        match = _ADMONITION.match(text)
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
    draft: _Draft,
    lesson_slug: str | None,
    drafts: dict[str, _Draft],
    own_ids: frozenset[str],
    check: _Checker,
    doc: _Document,
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
        if fragment not in _render_body(target_doc.body, target_course.language).heading_ids:
            check.warning(line, f"{file_name} has no heading with the anchor #{fragment}")
    if same_course and on_lesson_page:
        return f"{target_slug}{suffix}"
    return f"{course_base}lessons/{target_slug}{suffix}"


# --- the app's catalog ------------------------------------------------------------------


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
