"""One content file: front matter (with line numbers for messages) and its Markdown body rendered
once per distinct content; and :class:`Draft`, a course folder as parsed, before links are resolved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from portal.courses.catalog.model import ADMONITION_TITLES
from portal.web.markdown import render_markdown_report

# --- front matter ----------------------------------------------------------


class FrontMatterError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Document:
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
def parse_document(text: str) -> Document:
    """Split and parse one file; cached by content."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise FrontMatterError(1, "the file must start with front matter: a line '---', the YAML keys, and another '---'")
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            end = index
            break
    else:
        raise FrontMatterError(1, "the front matter is not closed: add a line '---' after the YAML keys")
    source = "\n".join(lines[1:end])
    loader = yaml.SafeLoader(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = (mark.line + 2) if mark else 2
        hint = " (put texts that contain a colon in double quotes)" if "mapping values" in str(error.problem) else ""
        raise FrontMatterError(line, f"the front matter is not valid YAML: {error.problem}{hint}") from error
    except yaml.YAMLError as error:
        raise FrontMatterError(2, f"the front matter is not valid YAML: {error}") from error
    finally:
        loader.dispose()
    body = "\n".join(lines[end + 1 :])
    return Document(data=data, node=node, body=body, body_line=end + 2, duplicate_keys=tuple(_duplicate_keys(node)))


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

ADMONITION = re.compile(r"^(?P<indent>\s*)!!!\s+(?P<kind>[\w-]+)(?P<rest>.*)$")


@dataclass(frozen=True)
class RenderedBody:
    html: str
    removed: tuple[str, ...]
    heading_ids: frozenset[str]


@lru_cache(maxsize=1024)
def render_body(body: str, language: str) -> RenderedBody:
    """Markdown → sanitized HTML, once per distinct body (the expensive step)."""
    titles = ADMONITION_TITLES.get(language, ADMONITION_TITLES["en"])

    def default_title(match: re.Match) -> str:
        kind, rest = match.group("kind"), match.group("rest")
        if kind in titles and not rest.strip():
            return f'{match.group("indent")}!!! {kind} "{titles[kind]}"'
        return match.group(0)

    prepared = "\n".join(ADMONITION.sub(default_title, line) for line in body.splitlines())
    rendered = render_markdown_report(prepared)
    ids = frozenset(re.findall(r'<h[1-6] id="([^"]+)"', str(rendered.html)))
    return RenderedBody(html=str(rendered.html), removed=rendered.removed, heading_ids=ids)


@dataclass
class Draft:
    """A course folder as parsed, before links are resolved. ``meta`` is None
    when course.md has errors: the course is left out, its lessons still checked."""

    slug: str
    path: Path
    meta: dict[str, Any] | None
    doc: Document | None
    lessons: list[tuple[dict[str, Any], Document, Path, int, str]] = field(default_factory=list)
    #: Lessons whose front matter has errors: left out, but their text is still checked.
    broken: list[tuple[Document, Path, str]] = field(default_factory=list)
    #: Every lesson file with a valid name (file name → (lesson slug, document or None)).
    lesson_files: dict[str, tuple[str, Document | None]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    @property
    def language(self) -> str:
        return self.meta["language"] if self.meta else "de"

    @property
    def is_draft(self) -> bool:
        return bool(self.meta and self.meta["draft"])
