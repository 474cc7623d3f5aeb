"""SVG charts drawn on the server: pure functions from figures to geometry.

No chart JavaScript: the templates (reports/charts.html) draw what these
return, each chart with a title, a description and the same numbers as a
table beside it. Coordinates are in a fixed viewBox; the SVG scales to the
page width, so the charts work on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 36, 12, 34
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the period
    value: str  # the figure, as the table shows it
    href: str | None = None


@dataclass
class LineChart:
    points: list[Point]
    band: str = ""  # an SVG polygon's points (the confidence interval), empty without
    path: str = ""  # an SVG polyline's points
    ticks: list[Tick] = field(default_factory=list)
    x_labels: list[XLabel] = field(default_factory=list)
    zero_y: float | None = None
    width: int = WIDTH
    height: int = HEIGHT


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str
    value: str
    href: str | None = None
    key: str = ""  # what the bar stands for (its period or score): the template links it to its answers


@dataclass
class BarChart:
    bars: list[Bar]
    ticks: list[Tick] = field(default_factory=list)
    x_labels: list[XLabel] = field(default_factory=list)
    line: str = ""  # an optional polyline over the bars (the response rate)
    line_ticks: list[Tick] = field(default_factory=list)  # the line's own scale (0–100 %), on the right
    width: int = WIDTH
    height: int = HEIGHT


def _x(index: int, count: int) -> float:
    if count <= 1:
        return LEFT + PLOT_W / 2
    return LEFT + PLOT_W * index / (count - 1)


def _y(value: float, low: float, high: float) -> float:
    return TOP + PLOT_H * (high - value) / (high - low)


def _x_labels(labels: list[str], xs: list[float]) -> list[XLabel]:
    step = max(1, -(-len(labels) // MAX_X_LABELS))
    return [XLabel(x, label) for i, (x, label) in enumerate(zip(xs, labels, strict=True)) if i % step == 0 or i == len(labels) - 1]


def _format(value: float | None, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.1f}{suffix}"


def line_chart(
    periods: list[str], values: list[float | None], *, low: float, high: float, bands: list[tuple[float, float] | None] | None = None,
    hrefs: list[str | None] | None = None, suffix: str = "", tick_step: float = 50,
) -> LineChart:
    """A line over the periods (gaps where a value is missing), with an optional band."""
    count = len(periods)
    xs = [_x(i, count) for i in range(count)]
    hrefs = hrefs or [None] * count
    points = [Point(x, _y(v, low, high), p, _format(v, suffix), h) for x, p, v, h in zip(xs, periods, values, hrefs, strict=True) if v is not None]
    chart = LineChart(points=points, path=" ".join(f"{p.x:.1f},{p.y:.1f}" for p in points))
    if bands:
        upper = [(x, _y(b[1], low, high)) for x, b in zip(xs, bands, strict=True) if b is not None]
        lower = [(x, _y(b[0], low, high)) for x, b in zip(xs, bands, strict=True) if b is not None]
        if len(upper) > 1:
            chart.band = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower[::-1])
    tick = low
    while tick <= high:
        chart.ticks.append(Tick(_y(tick, low, high), f"{tick:g}"))
        tick += tick_step
    if low < 0 < high:
        chart.zero_y = _y(0, low, high)
    chart.x_labels = _x_labels(periods, xs)
    return chart


def bar_chart(labels: list[str], series: list[tuple[str, list[int]]], *, rate: list[float | None] | None = None,
              css: list[str] | None = None, hrefs: list[str | None] | None = None) -> BarChart:
    """Bars per label, one per series side by side (e.g. sent and answered), with an
    optional percentage line over them; ``css`` colours single-series bars one by one."""
    count = max(1, len(labels))
    top = max([v for _name, values in series for v in values] + [1])
    slot = PLOT_W / count
    width = slot * 0.8 / max(1, len(series))
    chart = BarChart(bars=[])
    hrefs = hrefs or [None] * len(labels)
    for i, label in enumerate(labels):
        for j, (name, values) in enumerate(series):
            value = values[i]
            height = PLOT_H * value / top
            x = LEFT + slot * i + slot * 0.1 + width * j
            colour = css[i] if css else f"series-{j}"
            chart.bars.append(Bar(x, TOP + PLOT_H - height, width, height, colour, f"{label} {name}".strip(), str(value), hrefs[i], label))
    for fraction in (0, 0.5, 1):
        chart.ticks.append(Tick(TOP + PLOT_H * (1 - fraction), f"{round(top * fraction):d}"))
    centres = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    chart.x_labels = _x_labels(labels, centres) if labels else []
    if rate:
        chart.line = " ".join(f"{x:.1f},{_y(r, 0, 100):.1f}" for x, r in zip(centres, rate, strict=True) if r is not None)
        chart.line_ticks = [Tick(_y(percent, 0, 100), f"{percent} %") for percent in (0, 50, 100)]
    return chart


#: How a 0–10 answer is coloured: by its NPS group.
def nps_group_css(score: int) -> str:
    return "promoter" if score >= 9 else ("passive" if score >= 7 else "detractor")


@dataclass
class ReportPage:
    """The reports page: the overview's figures and their charts."""

    overview: object  # services.Overview
    nps: LineChart
    csat: LineChart
    volume: BarChart
    distribution: BarChart
    csat_distribution: BarChart


def report_page(overview) -> ReportPage:
    """The page's charts (call within a request: the series names are translated)."""
    series = overview.series
    periods = [row.period for row in series]
    bands = [row.nps.interval if row.nps.responses else None for row in series]
    distribution = overview.distribution
    return ReportPage(
        overview=overview,
        nps=line_chart(periods, [row.nps.nps for row in series], low=-100, high=100, bands=bands),
        csat=line_chart(periods, [row.csat.csat for row in series], low=0, high=100, suffix=" %", tick_step=25),
        volume=bar_chart(periods, [(gettext("sent"), [row.sent for row in series]), (gettext("answered"), [row.answered for row in series])], rate=[row.rate for row in series]),
        distribution=bar_chart([str(score) for score, _n in distribution], [("", [n for _score, n in distribution])], css=[nps_group_css(score) for score, _n in distribution]),
        csat_distribution=bar_chart(
            [str(score) for score, _n in overview.csat_distribution],
            [("", [n for _score, n in overview.csat_distribution])],
            css=["satisfied" if score >= 4 else "unsatisfied" for score, _n in overview.csat_distribution],
        ),
    )
