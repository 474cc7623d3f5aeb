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

Customer data (a contact's name, a ticket subject) inside staff-written
Markdown is text, never Markdown or HTML: :class:`TextSlots` keeps it out of
the Markdown source altogether.

:func:`sanitize_report` returns what the sanitizer removed, so that
``flask --app portal content check`` can tell editors about it.
:func:`html_to_text` turns the sanitized HTML into the plain text of an email's
text part (no ``**``, ``[…](…)`` or tags left: links as "text (address)").
"""

from __future__ import annotations

import functools
import html
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote

import bleach
import markdown
from bleach.html5lib_shim import Filter
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


def _cleaner(check_attribute, filters=()) -> bleach.Cleaner:
    # A Cleaner holds parser state and is not thread-safe: one per call.
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=check_attribute,
        protocols=LINK_SCHEMES,
        strip=True,
        strip_comments=True,
        filters=list(filters),
    )


def sanitize_report(source: str) -> Rendered:
    """Run HTML through the allowlist and say what was taken out."""
    removed: list[str] = []

    def check_attribute(tag: str, name: str, value: str) -> bool:
        allowed = _attribute_allowed(tag, name, value)
        if not allowed:
            shown = value if len(value) <= 60 else value[:57] + "..."
            removed.append(f'attribute {name}="{shown}" on <{tag}>')
        return allowed

    cleaned = _cleaner(check_attribute).clean(source)
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


#: A slot is one lower-case word that no Markdown rule or extension changes; the
#: per-process nonce keeps staff text from looking like one by chance.
_SLOT_NONCE = secrets.token_hex(8)
_SLOT = re.compile(rf"x{_SLOT_NONCE}y([0-9]{{1,6}})z", re.IGNORECASE)


class TextSlots:
    """Plain text inside staff-written Markdown, never read as Markdown or HTML.

    A contact named ``[Passwort zurücksetzen](https://evil.example)`` or a
    ticket about ``<img src=https://evil.example/x.png>`` must show exactly
    those characters wherever staff put the placeholder: in a sentence, in
    bold, in a code span, in a heading, inside their own HTML. No escaping of
    the value for Markdown is right in all of these places, so the value never
    enters the Markdown: :meth:`slot` gives an opaque word to write in its
    place, and :meth:`render` renders the Markdown (cached: the source is the
    same for every recipient) and fills each slot into the sanitized HTML as
    text. In a link or image address a value is percent-encoded: it can be a
    part of an address the staff wrote, never a whole one, a scheme or a host.
    """

    def __init__(self) -> None:
        self._texts: list[str] = []

    def slot(self, text: str) -> str:
        """The word to write into the Markdown instead of ``text``."""
        self._texts.append(self.plain(text))
        return f"x{_SLOT_NONCE}y{len(self._texts) - 1}z"

    def plain(self, text: str) -> str:
        """``text`` with its slots turned back into their text.

        Text that holds slots was built from values already (a template
        block or macro printed again): all of it is plain text now.
        """
        return _SLOT.sub(self._text, text)

    def render(self, source: str) -> Markup:
        """``source`` as sanitized HTML, each slot filled with its text."""
        cleaner = _cleaner(_attribute_allowed, filters=[functools.partial(_SlotFiller, slots=self)])
        return Markup(cleaner.clean(str(render_markdown(source))))

    def fill_attribute(self, name: str, value: str) -> str | None:
        """An attribute value (as bleach hands it on: entities not decoded)
        with its slots filled, or None to drop an attribute made from a value."""
        raw = html.unescape(value)
        if not _SLOT.search(raw):
            return value
        if name in ("href", "src"):
            return html.escape(_SLOT.sub(lambda match: quote(self._text(match), safe=""), raw))
        if name in ("alt", "title"):
            return html.escape(_SLOT.sub(self._text, raw))
        return None  # a heading id or a code language made of customer data

    def _text(self, match: re.Match) -> str:
        index = int(match.group(1))
        return self._texts[index] if index < len(self._texts) else ""


class _SlotFiller(Filter):
    """Fills :class:`TextSlots` into the token stream after the sanitizer.

    Text goes out escaped by the serializer, so nothing in it is markup. A run
    of text holding a slot is joined first, its character references decoded:
    the sanitizer hands them on as tokens of their own (Markdown writes an
    ``<address@…>`` link's text that way).
    """

    def __init__(self, source, slots: TextSlots):
        super().__init__(source)
        self.slots = slots

    def __iter__(self):
        run: list[dict] = []
        for token in super().__iter__():
            if token["type"] in ("Characters", "SpaceCharacters", "Entity"):
                run.append(token)
                continue
            yield from self._text(run)
            run = []
            if token["type"] in ("StartTag", "EmptyTag") and token["data"]:
                filled = {key: self.slots.fill_attribute(key[1], value) for key, value in token["data"].items()}
                token["data"] = {key: value for key, value in filled.items() if value is not None}
            yield token
        yield from self._text(run)

    def _text(self, run: list[dict]) -> list[dict]:
        text = "".join(html.unescape(f"&{t['name']};") if t["type"] == "Entity" else t["data"] for t in run)
        if not _SLOT.search(text):
            return run
        return [{"type": "Characters", "data": self.slots.plain(text)}]


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


# --- plain text -------------------------------------------------------------------------------

#: Tags that end a paragraph (a blank line in the text).
_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "hr"})


class _PlainText(HTMLParser):
    """Sanitized HTML (the allowlist's tags) as plain text: paragraphs separated
    by a blank line, list items as "- " or "1. ", table cells by " | ", a link as
    its text with the address in brackets (once, when the text is not the address
    itself), an image as its alt text. Text comes out unescaped, exactly as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.lists: list[list] = []  # per open list: [ordered, next number]
        self.links: list[tuple[str, int]] = []  # href, where its text starts in the line
        self.pre = 0

    def _break(self, blank: bool) -> None:
        if self.line.strip():
            self.lines.append(self.line.rstrip())
        self.line = ""
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in _BLOCKS:
            self._break(blank=not self.lists)
            if tag in ("ul", "ol"):
                self.lists.append([tag == "ol", 1])
            elif tag == "pre":
                self.pre += 1
            elif tag == "hr":
                self.lines.extend(["----------", ""])
        elif tag == "li":
            self._break(blank=False)
            kind = self.lists[-1] if self.lists else [False, 1]
            marker = f"{kind[1]}. " if kind[0] else "- "
            kind[1] += 1
            self.line = "  " * max(len(self.lists) - 1, 0) + marker
        elif tag in ("br", "tr"):
            self._break(blank=False)
        elif tag in ("td", "th") and self.line.strip():
            self.line = self.line.rstrip() + " | "
        elif tag == "a":
            self.links.append((values.get("href") or "", len(self.line)))
        elif tag == "img":
            self.handle_data(values.get("alt") or "")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            elif tag == "pre":
                self.pre = max(self.pre - 1, 0)
            self._break(blank=not self.lists)
        elif tag == "li":
            self._break(blank=False)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = self.line[start:].strip()
            address = href.removeprefix("mailto:")
            if href and address != text:
                self.line += f" ({href})" if text else href

    def handle_data(self, data):
        if self.pre:
            *done, self.line = (self.line + data).split("\n")
            self.lines.extend(done)
            return
        text = " ".join(data.split())
        if not text:
            if data and self.line and not self.line.endswith(" "):
                self.line += " "
            return
        if data[:1].isspace() and self.line and not self.line.endswith(" "):
            text = " " + text
        if data[-1:].isspace():
            text += " "
        self.line += text

    def text(self) -> str:
        self._break(blank=False)
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines)


def html_to_text(source: str) -> str:
    """The plain text of sanitized HTML (an email's text part)."""
    parser = _PlainText()
    parser.feed(str(source))
    parser.close()
    return parser.text()


@bp.app_template_filter("markdown")
def markdown_filter(text: str | None) -> Markup:
    """``{{ text|markdown }}`` in templates: the same pipeline, nothing else."""
    return render_markdown(text or "")
