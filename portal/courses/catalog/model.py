"""What a loaded catalog is made of: courses, lessons, quizzes and the problems found in content/."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from markupsafe import Markup

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
