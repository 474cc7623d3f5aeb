"""The operator's brand: name, sender, logo, and the colour as CSS custom properties.

:func:`brand` is what every page, email and header reads. The ``PORTAL_BRAND_*``
and ``PORTAL_MAIL_FROM`` configuration is the fallback; a feature package
(``portal.settings``, where admins edit the brand) registers itself as
:data:`BRAND_PROVIDER`, so that this shared base depends on no feature package.

Text on the brand colour is white or near-black, whichever has the higher WCAG
contrast (black when neither reaches 4.5:1), so any brand colour stays readable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def darken(hex_color: str, factor: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{max(0, int(c * factor)):02x}" for c in (r, g, b))


#: The darkest background that links and other brand-ink text sit on in
#: portal.css (the tint of info flashes, tags and notes); white cards and the
#: page (--page: #f4f6f8) are lighter, so ink readable here is readable there.
INK_BACKGROUND = "#e8f0fe"


def on_brand_color(color: str) -> str:
    """Text on the brand colour: white or near-black, whichever reads better;
    black for mid-tones where neither reaches 4.5:1 (black always does then)."""
    on_brand = "#ffffff" if contrast_ratio(color, "#ffffff") >= contrast_ratio(color, "#111111") else "#111111"
    return on_brand if contrast_ratio(color, on_brand) >= 4.5 else "#000000"


def brand_stylesheet(color: str) -> str:
    on_brand = on_brand_color(color)
    # Links and outlines on the page need 4.5:1; darken until they have it.
    ink = color
    while contrast_ratio(ink, INK_BACKGROUND) < 4.5:
        ink = darken(ink, 0.9)
    # The staff navigation and hovered buttons: a darker shade, but never so
    # dark that dark text on a light brand colour becomes hard to read.
    strong = next(s for s in (darken(color, f) for f in (0.8, 0.85, 0.9, 0.95, 1.0)) if contrast_ratio(s, on_brand) >= 4.5)
    return (
        ":root {\n"
        f"  --brand: {color};\n"
        f"  --on-brand: {on_brand};\n"
        f"  --brand-ink: {ink};\n"
        f"  --brand-ink-strong: {darken(ink, 0.8)};\n"
        f"  --brand-strong: {strong};\n"
        "}\n"
    )


# --- the brand --------------------------------------------------------------


def one_line(value: str | None) -> str:
    """Text for a header or a title: control characters and line or paragraph
    separators become spaces, runs of spacing one space."""
    text = "".join(" " if (ord(c) < 32 or ord(c) == 127 or c in "\u0085\u2028\u2029") else c for c in value or "")
    return " ".join(text.split())


@dataclass(frozen=True)
class Brand:
    """The operator as customers and staff see it. Values are already clean:
    one line each, the colour ``#rrggbb``, the sender address a plain address.

    Immutable, so what is derived from it (the colours, the stylesheet's
    version) is computed once per brand: pages keep one brand per process
    (see ``portal.settings.services``)."""

    name: str
    sender_name: str
    sender_email: str
    logo_url: str
    color: str
    #: The logo for emails: an absolute address a mail client can fetch (an uploaded logo
    #: under PORTAL_BASE_URL, which must be reachable by the recipients), or empty.
    email_logo_url: str = ""

    @cached_property
    def on_color(self) -> str:
        """Text on the brand colour (see :func:`on_brand_color`)."""
        return on_brand_color(self.color)

    @cached_property
    def contrast(self) -> float:
        """The WCAG contrast of :attr:`on_color` on :attr:`color` (at least 4.5)."""
        return contrast_ratio(self.color, self.on_color)

    @cached_property
    def sender(self) -> str:
        """The From header: ``Name <address>``, the name quoted where it must be,
        never with a line break in it."""
        name, address = one_line(self.sender_name), one_line(self.sender_email)
        if not name:
            return address
        if _SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{address}>"

    @cached_property
    def sender_domain(self) -> str:
        return self.sender_email.rpartition("@")[2] or "portal.invalid"

    @cached_property
    def logo_origin(self) -> str | None:
        """``https://host`` of a logo on another site (the CSP must allow it), else None."""
        if not self.logo_url.startswith("https://"):
            return None
        return f"https://{urlsplit(self.logo_url).netloc}"

    @cached_property
    def version(self) -> str:
        """Changes when the stylesheet does (a new colour, or new rules here):
        put it in brand.css's URL and browsers fetch the new colours at once."""
        return hashlib.sha256(brand_stylesheet(self.color).encode()).hexdigest()[:12]


#: Characters that make a display name need quotes (RFC 5322 specials).
_SPECIALS = re.compile(r'[][()<>@,:;.\\"]')

#: Set by the package where admins edit the brand; None: configuration only.
BRAND_PROVIDER: Callable[[], Brand] | None = None


def brand() -> Brand:
    """The operator's brand now: the registered provider's, else the configuration's."""
    if BRAND_PROVIDER is not None:
        return BRAND_PROVIDER()
    return brand_from_config()


def brand_from_config(config=None) -> Brand:
    """The brand as ``PORTAL_BRAND_*`` and ``PORTAL_MAIL_FROM`` describe it."""
    config = current_app.config if config is None else config
    name = one_line(config["PORTAL_BRAND_NAME"])
    sender_name, sender_email = parseaddr(config["PORTAL_MAIL_FROM"])
    logo_url = one_line(config["PORTAL_BRAND_LOGO_URL"])
    return Brand(
        name=name,
        sender_name=one_line(sender_name) or name,
        sender_email=one_line(sender_email),
        logo_url=logo_url,
        color=config["PORTAL_BRAND_COLOR"],
        email_logo_url=absolute_url(logo_url, config["PORTAL_BASE_URL"]),
    )


def absolute_url(url: str, base_url: str) -> str:
    """``url`` as an address that works outside the portal (in an email): an
    ``https://``/``http://`` one as it is, a path (``/static/logo.png``) under
    ``base_url`` (PORTAL_BASE_URL); anything else (``//host``, ``data:``) empty."""
    if url.startswith(("https://", "http://")):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return base_url.rstrip("/") + url
    return ""
