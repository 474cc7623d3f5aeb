"""The one Markdown → bleach → Markup pipeline, against hostile input (DESIGN.md §7)."""

import re

import pytest
from markupsafe import Markup

from portal.web.markdown import (
    ALLOWED_TAGS,
    html_to_text,
    render_markdown,
    render_markdown_report,
    sanitize_html,
    sanitize_report,
    url_allowed,
)

SCRIPTY = re.compile(r"<\s*(script|style|iframe|object|embed|svg|math|form|input|base|meta|link|template|noscript)\b", re.I)


def assert_harmless(html: str) -> None:
    assert not SCRIPTY.search(html), html
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), html
    assert not re.search(r"\s(data-)?hx-[\w:-]*\s*=", html, re.I), html
    assert not re.search(r"\sstyle\s*=", html, re.I), html
    for href in re.findall(r'(?:href|src)="([^"]*)"', html):
        assert not re.match(r"\s*(javascript|vbscript|data|file):", href, re.I), html


def test_markdown_features_render():
    html = str(
        render_markdown(
            "Intro\n\n[TOC]\n\n## Codecs und Bandbreite\n\n| Codec | kbit/s |\n|:--|--:|\n| G.711 | 100 |\n\n"
            "```ini\n[trunk]\ntype=endpoint\n```\n\n"
            '!!! note "Gut zu wissen"\n    Hinweis.\n\n!!! tip\n    Tipp.\n\n!!! warning "Achtung"\n    Vorsicht.\n\n'
            "**fett** *kursiv* `code` [Link](https://example.net/a?b=1&c=2) [Mail](mailto:a@example.net)"
        )
    )
    assert '<div class="toc">' in html and '<a href="#codecs-und-bandbreite">' in html
    assert '<h2 id="codecs-und-bandbreite">' in html
    assert "<table>" in html and '<th align="left">' in html and '<td align="right">' in html
    assert '<code class="language-ini">[trunk]' in html
    for kind in ("note", "tip", "warning"):
        assert f'<div class="admonition {kind}">' in html
    assert '<p class="admonition-title">Gut zu wissen</p>' in html
    assert "<strong>fett</strong>" in html and "<em>kursiv</em>" in html
    assert '<a href="https://example.net/a?b=1&amp;c=2">' in html and '<a href="mailto:a@example.net">' in html


def test_the_result_is_markup_and_empty_input_is_fine():
    assert isinstance(render_markdown("x"), Markup)
    assert str(render_markdown("")) == ""
    assert "&lt;b&gt;" in str(render_markdown("`<b>`"))


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<scr<script>ipt>alert(1)</script>",
        "<style>body{display:none}</style>",
        '<p style="background:url(javascript:alert(1))">x</p>',
        '<img src="x" onerror="alert(1)">',
        '<a href="https://ok.example" onclick="alert(1)" onmouseover=alert(1)>x</a>',
        '<div onload="alert(1)">x</div>',
        '<body onload=alert(1)>',
        '<details open ontoggle=alert(1)>',
        '<div hx-get="/staff/" hx-trigger="load" hx-target="body">x</div>',
        '<div data-hx-post="/learn/sign-out" data-hx-trigger="load">x</div>',
        '<button hx-on:click="alert(1)" hx-on::after-request="alert(2)">x</button>',
        "<div hx-vals='js:{a: alert(1)}'>x</div>",
        '<iframe src="https://evil.example"></iframe>',
        '<object data="evil.swf"></object><embed src="evil.swf">',
        '<form action="https://evil.example"><input name="password"></form>',
        '<base href="https://evil.example/">',
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        "<svg onload=alert(1)><circle r=10 /></svg>",
        '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
        "<svg><script>alert(1)</script></svg>",
        '<svg><foreignObject><iframe src="javascript:alert(1)"></iframe></foreignObject></svg>',
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
        "<template><script>alert(1)</script></template>",
        "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
        "<!-- <script>alert(1)</script> -->",
        "<![CDATA[<script>alert(1)</script>]]>",
        '<p class="admonition warning x" id="main">x</p>',
    ],
)
def test_hostile_html_is_neutralised(hostile):
    for html in (str(render_markdown(hostile)), str(sanitize_html(hostile))):
        assert_harmless(html)


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;&#x61;&#x76;&#x61;script:alert(1)",
        "&#0000106&#0000097vascript:alert(1)",
        "javascript&colon;alert(1)",
        "javascript&#58;alert(1)",
        "\x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "DATA:text/html,<script>alert(1)</script>",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "file:///etc/passwd",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
    ],
)
def test_dangerous_link_targets_are_removed_in_every_spelling(href):
    raw = f'<a href="{href}">x</a> <img src="{href}" alt="y">'
    for html in (str(sanitize_html(raw)), str(render_markdown(raw))):
        assert "href=" not in html and "src=" not in html, html
    markdown_link = href.replace("\t", "").replace("\n", "")
    assert "href=" not in str(render_markdown(f"[x]({markdown_link}) ![y]({markdown_link})")).replace('href="#', "")


@pytest.mark.parametrize(
    ("url", "link", "image"),
    [
        ("https://example.net/x", True, True),
        ("http://example.net/x", True, False),
        ("mailto:support@example.net", True, False),
        ("02-rufnummern.md#notruf", True, True),
        ("#abschnitt", True, True),
        ("diagram.png", True, True),
        ("ftp://example.net/x", False, False),
        ("tel:+49301234", False, False),
    ],
)
def test_allowed_schemes(url, link, image):
    from portal.web.markdown import IMAGE_SCHEMES, LINK_SCHEMES

    assert url_allowed(url, LINK_SCHEMES) is link
    assert url_allowed(url, IMAGE_SCHEMES) is image


def test_only_allowed_classes_and_ids_survive():
    html = str(
        sanitize_html(
            '<div class="admonition note">a</div><div class="admonition danger">b</div><div class="toc">c</div>'
            '<code class="language-bash">d</code><code class="language-x onload">e</code><p class="lead">f</p>'
            '<h2 id="ok-id">g</h2><h2 id="bad id">h</h2><p id="x">i</p><td align="left">j</td><td align="justify">k</td>'
        )
    )
    assert '<div class="admonition note">' in html and '<div class="toc">' in html
    assert "danger" not in html and "lead" not in html and "onload" not in html
    assert '<code class="language-bash">' in html
    assert '<h2 id="ok-id">' in html and "bad id" not in html and 'id="x"' not in html
    assert "justify" not in html


def test_no_tag_outside_the_allowlist_survives():
    everything = "".join(f"<{tag}>x</{tag}>" for tag in ("script", "style", "svg", "math", "iframe", "video", "audio", "source", "track", "canvas", "dialog", "select", "textarea", "button", "label", "span", "font", "center", "marquee"))
    html = str(sanitize_html(everything))
    assert set(re.findall(r"<([a-z0-9]+)", html)) <= ALLOWED_TAGS


def test_the_report_says_what_was_removed():
    report = render_markdown_report('Hallo <span onclick="x()">Welt</span>\n\n<script>alert(1)</script>\n\n[a](javascript:alert(1))')
    removed = " | ".join(report.removed)
    assert "<span> element" in removed and "<script> element" in removed
    assert 'href="javascript:alert(1)"' in removed
    assert render_markdown_report("Nur **Markdown**").removed == ()
    assert sanitize_report("<!-- hidden -->").removed == ("HTML comment",)


def test_the_markdown_filter_uses_the_same_pipeline(app):
    template = app.jinja_env.from_string("{{ text|markdown }}")
    html = template.render(text="**ok** <script>alert(1)</script>")
    assert "<strong>ok</strong>" in html and "<script" not in html


# --- plain text (an email's text part) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("Guten Tag **Lena**,\n\nwir haben Ihr *Anliegen* abgeschlossen.", "Guten Tag Lena,\n\nwir haben Ihr Anliegen abgeschlossen."),
        ("[zur Umfrage](https://portal.example/s/1) oder <https://portal.example/s/1>", "zur Umfrage (https://portal.example/s/1) oder https://portal.example/s/1"),
        ("<mailto:hilfe@operator.example>", "hilfe@operator.example"),
        ("- eins\n- zwei\n    - zwei a\n\n1. erst\n2. dann", "- eins\n- zwei\n  - zwei a\n\n1. erst\n2. dann"),
        ("# Titel\n\nText mit `code` & <b>fett</b>  \nneue Zeile", "Titel\n\nText mit code & fett\nneue Zeile"),
        ("    eingerückt\n      bleibt", "eingerückt\n  bleibt"),
        ("| A | B |\n|---|---|\n| 1 | 2 |", "A | B\n1 | 2"),
        ("![Logo](https://cdn.example/logo.png) Text", "Logo Text"),
        ("a &lt;script&gt; &amp; b", "a <script> & b"),
    ],
)
def test_sanitized_html_becomes_plain_text(source, text):
    assert html_to_text(render_markdown(source)) == text
