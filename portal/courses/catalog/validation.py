"""Checks of the front matter of courses, lessons and quizzes, reported as file:line problems."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from portal.config import SUPPORTED_LOCALES
from portal.courses.catalog.documents import Document
from portal.courses.catalog.model import (
    AUDIENCES,
    COURSE_KEYS,
    COURSE_OPTIONAL_KEYS,
    COURSE_SLUG,
    ERROR,
    LESSON_KEYS,
    LESSON_OPTIONAL_KEYS,
    MAX_OPTIONS,
    MIN_OPTIONS,
    WARNING,
    Problem,
    Question,
    Quiz,
    QuizOption,
)

# --- validation helpers --------------------------------------------------------


class Checker:
    """Collects problems for one file."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, ERROR))

    def warning(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, WARNING))


def type_name(value: Any) -> str:
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


def _text(check: Checker, doc: Document, value: Any, path: tuple, label: str, required: bool = True) -> str | None:
    if value is None:
        if required:
            check.error(doc.line(*path), f"{label} is missing")
        return None
    if not isinstance(value, str):
        hint = "; put it in double quotes" if isinstance(value, (bool, int, float)) else ""
        check.error(doc.line(*path), f"{label} must be text, not {type_name(value)}{hint}")
        return None
    if not value.strip():
        check.error(doc.line(*path), f"{label} must not be empty")
        return None
    return value.strip()


def _integer(check: Checker, doc: Document, value: Any, path: tuple, label: str, low: int, high: int | None = None) -> int | None:
    if value is None:
        check.error(doc.line(*path), f"{label} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        check.error(doc.line(*path), f"{label} must be a whole number, not {type_name(value)}")
        return None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        check.error(doc.line(*path), f"{label} must be {bounds}, not {value}")
        return None
    return value


def _keys(check: Checker, doc: Document, mapping: dict, path: tuple, required: set[str], optional: set[str], what: str) -> None:
    for key in mapping:
        if key not in required | optional:
            known = ", ".join(sorted(required | optional))
            check.error(doc.line(*path, key), f"unknown key '{key}' in {what} (known keys: {known})")
    for key in sorted(required - set(mapping)):
        check.error(doc.line(*path), f"'{key}' is missing in {what}")


def _front_matter(check: Checker, doc: Document, example: str) -> dict | None:
    """The front matter as a mapping (None if it is not one), duplicate keys reported."""
    data = doc.data
    if not isinstance(data, dict):
        check.error(2, f"the front matter must be keys and values ({example})")
        return None
    for line, key in doc.duplicate_keys:
        check.error(line, f"'{key}' appears twice")
    return data


def read_course_meta(check: Checker, doc: Document) -> dict[str, Any] | None:
    data = _front_matter(check, doc, "title: ..., summary: ...")
    if data is None:
        return None
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
        check.error(doc.line("draft"), f"draft must be true or false, not {type_name(draft_flag)}")
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


def read_lesson_meta(check: Checker, doc: Document) -> dict[str, Any] | None:
    data = _front_matter(check, doc, "title: ..., minutes: ..., version: ...")
    if data is None:
        return None
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


def _quiz(check: Checker, doc: Document, raw: Any) -> Quiz | None:
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
