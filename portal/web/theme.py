"""The operator's brand colour as CSS custom properties.

The colour comes from configuration; text on it is white or near-black,
whichever has the higher WCAG contrast (black when neither reaches 4.5:1),
so any brand colour stays readable.
"""

from __future__ import annotations


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
