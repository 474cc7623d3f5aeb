"""The one Markdown pipeline: Markdown → HTML → bleach (one pinned allowlist) → Markup.

Lessons, survey intros and email bodies all go through :func:`render_markdown`
(DESIGN.md §7). Nothing else in the portal may mark editor- or user-written
HTML as safe. The allowlist below is deliberately small and pinned here as
constants; widening it is a security decision and needs a test in
tests/test_markdown.py.

Rules the sanitizer enforces, whatever the Markdown produced:

- only the tags in :data:`ALLOWED_TAGS`; everything else is stripped (its text
  stays, escaped), comments too;
- no ``style``, no event handlers, no ``hx-*``/``data-*`` attributes: only the
  attributes listed per tag, and ``class`` only with the values the Markdown
  extensions produce (admonitions, table of contents, a code block's language);
- links only ``http``, ``https``, ``mailto`` or relative (a lesson links to
  another lesson by its file name; the course catalog rewrites those);
- images only ``https`` or relative (the catalog serves them from the course
  folder);
- heading ids only in the shape the table-of-contents extension makes.

:func:`sanitize_report` returns what the sanitizer removed, so that
``flask --app portal content check`` can tell editors about it.
"""

from __future__ import annotations

import functools
import html
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

import bleach
import markdown
from markupsafe import Markup

from portal.web import bp

#: Markdown extensions: tables, fenced code, admonitions, heading anchors and [TOC].
MARKDOWN_EXTENSIONS = ("tables", "fenced_code", "admonition", "toc", "sane_lists")
MARKDOWN_EXTENSION_CONFIGS = {
    # align="left" instead of style="text-align: left" (no style attributes at all)
    "tables": {"use_align_attribute": True},
    "toc": {"toc_depth": "2-4"},
}

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "img", "li", "ol", "p", "pre", "strong", "b", "i", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
    }
)  # fmt: skip

#: Attributes per tag; ``class``, ``id``, ``href`` and ``src`` are further checked by value.
ALLOWED_ATTRIBUTES = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "th": frozenset({"align"}),
    "td": frozenset({"align"}),
    "ol": frozenset({"start"}),
    "code": frozenset({"class"}),
    "div": frozenset({"class"}),
    "p": frozenset({"class"}),
    **{f"h{n}": frozenset({"id"}) for n in range(1, 7)},
}

#: The only admonition types editors may use (content/README.md).
ADMONITION_TYPES = frozenset({"note", "tip", "warning"})

#: ``class`` values allowed per tag: the whole attribute value must be one of these.
ALLOWED_CLASSES = {
    "div": frozenset({"toc"} | {f"admonition {kind}" for kind in ADMONITION_TYPES}),
    "p": frozenset({"admonition-title"}),
}
_CODE_CLASS = re.compile(r"^language-[a-z0-9_+-]{1,30}$")
_HEADING_ID = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_ALIGN = frozenset({"left", "center", "right"})

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"https"})

# Browsers ignore ASCII whitespace and control characters in a URL's scheme
# ("java\tscript:", " javascript:"); so do we before looking at it.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_SCHEME = re.compile(r"^([^/?#]*?):")


def url_allowed(value: str, schemes: frozenset[str] = LINK_SCHEMES, allow_relative: bool = True) -> bool:
    """Whether a link or image address may stay.

    Character references are decoded first, as a browser would
    (``&#106;avascript:``, ``javascript&colon;``). Anything with a colon before
    the first ``/?#`` is an absolute URL and needs an allowed scheme;
    protocol-relative (``//``) and backslash tricks (``/\\evil.example``) are
    refused.
    """
    compact = _URL_IGNORED.sub("", html.unescape(value))
    if not compact:
        return False
    if "\\" in compact:
        return False
    match = _SCHEME.match(compact)
    if match:
        return match.group(1).lower() in schemes
    if compact.startswith("//"):
        return False
    return allow_relative


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name == "href":
        return url_allowed(value, LINK_SCHEMES)
    if name == "src":
        return url_allowed(value, IMAGE_SCHEMES)
    if name == "class":
        if tag == "code":
            return bool(_CODE_CLASS.match(value))
        return value in ALLOWED_CLASSES.get(tag, ())
    if name == "id":
        return bool(_HEADING_ID.match(value))
    if name == "align":
        return value in _ALIGN
    if name == "start":
        return value.isdigit() and len(value) <= 6
    return True  # title, alt: plain text, escaped on output


@dataclass(frozen=True)
class Rendered:
    """Sanitized HTML and a description of everything the sanitizer removed."""

    html: Markup
    removed: tuple[str, ...]


def _markdown_to_html(text: str) -> str:
    # A Markdown instance keeps state between conversions: one per call.
    md = markdown.Markdown(extensions=list(MARKDOWN_EXTENSIONS), extension_configs=MARKDOWN_EXTENSION_CONFIGS)
    return md.convert(text)


def sanitize_report(source: str) -> Rendered:
    """Run HTML through the allowlist and say what was taken out."""
    removed: list[str] = []

    def check_attribute(tag: str, name: str, value: str) -> bool:
        allowed = _attribute_allowed(tag, name, value)
        if not allowed:
            shown = value if len(value) <= 60 else value[:57] + "..."
            removed.append(f'attribute {name}="{shown}" on <{tag}>')
        return allowed

    # A Cleaner holds parser state and is not thread-safe: one per call.
    cleaner = bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=check_attribute,
        protocols=LINK_SCHEMES,
        strip=True,
        strip_comments=True,
    )
    cleaned = cleaner.clean(source)
    before, after = _TagCounter.count(source), _TagCounter.count(cleaned)
    for tag, count in sorted((before - after).items()):
        label = "HTML comment" if tag == "!--" else f"<{tag}> element"
        removed.append(label if count == 1 else f"{label} ({count}×)")
    return Rendered(html=Markup(cleaned), removed=tuple(removed))


def render_markdown_report(text: str) -> Rendered:
    """Markdown to sanitized HTML, with what the sanitizer removed (for ``content check``)."""
    return sanitize_report(_markdown_to_html(text or ""))


@functools.lru_cache(maxsize=1024)
def render_markdown(text: str) -> Markup:
    """Markdown to HTML that is safe to put in a page or an email.

    Pure, so results are cached: survey intros and email bodies repeat on
    every request and every message.
    """
    return render_markdown_report(text).html


def sanitize_html(source: str) -> Markup:
    """Already-built HTML through the same allowlist."""
    return sanitize_report(source).html


class _TagCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1

    def handle_comment(self, data):
        self.tags["!--"] += 1

    @classmethod
    def count(cls, source: str) -> Counter[str]:
        parser = cls()
        parser.feed(source)
        parser.close()
        return parser.tags


@bp.app_template_filter("markdown")
def markdown_filter(text: str | None) -> Markup:
    """``{{ text|markdown }}`` in templates: the same pipeline, nothing else."""
    return render_markdown(text or "")
