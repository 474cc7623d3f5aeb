"""SVG charts drawn on the server: pure functions from figures to geometry.

No chart JavaScript: the templates (reports/charts.html) draw what these
return, each chart with a title, a description and the same numbers as a
table beside it. Coordinates are in a fixed viewBox and the SVG scales to the
page width; so that the axis text stays readable when a phone shrinks the
chart to half its size, portal.css sizes that text by the chart's width (never
below 11 CSS px) and the geometry here leaves room for it at its largest,
``TEXT`` viewBox units: margins fit "−100" and "100 %", and the period labels
are thinned out to those that fit side by side.

A period without answers is a gap: the line and the interval band break there
instead of bridging it.

A long series (two years of weeks) is drawn as a line without a dot per period:
dots closer than their own size overlap into a smear, and each linked dot costs
some 300 bytes of HTML. Such a chart is one image; the drill-down links to each
period's answers stay in the table under it. Coordinates are written with one
decimal (a tenth of a viewBox unit is far below a pixel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flask_babel import gettext
from portal.web.dates import period_label

WIDTH, HEIGHT = 640, 260
#: The axis text's largest size in viewBox units (portal.css, ``.chart-svg .axis``), and the
#: width of an average glyph at that size.
TEXT = 26
CHAR = 0.6 * TEXT
LEFT, RIGHT, RIGHT_WITH_SCALE, TOP, BOTTOM = 72, 24, 84, 18, 46
PLOT_H = HEIGHT - TOP - BOTTOM
LABEL_Y = HEIGHT - 12
#: Half the width of the band drawn around a period that has no neighbour to join.
LONE_BAND = 6
#: A line chart draws a dot (a link to the period's answers) per period while the dots,
#: of radius 5, keep this far apart; closer, only a period standing alone keeps its dot.
DOT_SPACING = 8


def _r(value: float) -> float:
    """A coordinate as written in the SVG: one decimal."""
    return round(value, 1)


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str
    anchor: str = "middle"  # "end" (or "start") where a centred label would leave the chart


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
    bands: list[str] = field(default_factory=list)  # SVG polygons' points (the confidence interval), one per run of periods with answers
    lines: list[str] = field(default_factory=list)  # SVG polylines' points, one per run of two or more periods with a value
    ticks: list[Tick] = field(default_factory=list)
    x_labels: list[XLabel] = field(default_factory=list)
    zero_y: float | None = None
    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT  # the plot area, between the axes
    right: float = WIDTH - RIGHT
    dense: bool = False  # too many periods for a dot each: one image, the links are in the table


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
    lines: list[str] = field(default_factory=list)  # an optional line over the bars (the response rate), broken where it has no value
    line_ticks: list[Tick] = field(default_factory=list)  # the line's own scale (0–100 %), on the right
    paths: list[tuple[str, str]] = field(default_factory=list)  # a dense chart's bars: (css, SVG path) per series
    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT
    right: float = WIDTH - RIGHT


def _slot_centres(count: int, left: float, right: float) -> list[float]:
    """Each period in the middle of its own slot, so the first and last are not on the axes."""
    slot = (right - left) / max(1, count)
    return [left + slot * (i + 0.5) for i in range(count)]


def _y(value: float, low: float, high: float) -> float:
    return TOP + PLOT_H * (high - value) / (high - low)


def runs(values: list) -> list[list[int]]:
    """The indexes of the values, in runs of consecutive ones that are not None."""
    runs: list[list[int]] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _points(pairs) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)


def polylines(xs: list[float], ys: list[float | None]) -> list[str]:
    """A polyline per run of two or more values: a missing value breaks the line."""
    return [_points((xs[i], ys[i]) for i in run) for run in runs(ys) if len(run) > 1]


def label_width(label: str) -> float:
    """How wide a label is at the axis text's largest size (an estimate that errs wide)."""
    return len(label) * CHAR


def _x_labels(labels: list[str], xs: list[float]) -> list[XLabel]:
    """The period labels that fit side by side at the largest text size: every n-th,
    counted back from the latest period (always labelled), with the smallest n at which
    none overlaps its neighbour or leaves the chart."""
    if not labels:
        return []
    labels = [period_label(label, short=True) for label in labels]  # measured as shown: "KW 36", not "2026-W36"
    spacing = xs[1] - xs[0] if len(xs) > 1 else WIDTH
    step = max(1, math.ceil((max(map(label_width, labels)) + CHAR) / spacing))
    while True:
        chosen: list[XLabel] = []
        room = float(WIDTH)  # where the label to the right begins
        for i in range(len(labels) - 1, -1, -step):
            x, width = xs[i], label_width(labels[i])
            anchor, start, end = "middle", x - width / 2, x + width / 2
            if end > WIDTH:
                anchor, start, end = "end", x - width, x
            elif start < 0:
                anchor, start, end = "start", x, x + width
            if chosen and end + CHAR > room:
                break
            chosen.append(XLabel(_r(x), labels[i], anchor))
            room = start
        else:
            return chosen[::-1]
        step += 1


def _format(value: float | None, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.1f}{suffix}"


def line_chart(
    periods: list[str], values: list[float | None], *, low: float, high: float, bands: list[tuple[float, float] | None] | None = None,
    hrefs: list[str | None] | None = None, suffix: str = "", tick_step: float = 50,
) -> LineChart:
    """A line over the periods, broken where a value is missing, with an optional band."""
    count = len(periods)
    xs = _slot_centres(count, LEFT, WIDTH - RIGHT)
    hrefs = hrefs or [None] * count
    ys = [None if v is None else _y(v, low, high) for v in values]
    dense = count > 1 and xs[1] - xs[0] < DOT_SPACING
    alone = {run[0] for run in runs(ys) if len(run) == 1}
    points = [
        Point(_r(x), _r(y), p, _format(v, suffix), h)
        for i, (x, y, p, v, h) in enumerate(zip(xs, ys, periods, values, hrefs, strict=True))
        if y is not None and (not dense or i in alone)
    ]
    chart = LineChart(points=points, lines=polylines(xs, ys), dense=dense)
    for run in runs(bands or []):
        upper = [(xs[i], _y(bands[i][1], low, high)) for i in run]
        lower = [(xs[i], _y(bands[i][0], low, high)) for i in run]
        if len(run) == 1:  # a period alone: its interval as a narrow bar
            (x, top), (_x, bottom) = upper[0], lower[0]
            upper, lower = [(x - LONE_BAND, top), (x + LONE_BAND, top)], [(x - LONE_BAND, bottom), (x + LONE_BAND, bottom)]
        chart.bands.append(_points(upper + lower[::-1]))
    tick = low
    while tick <= high:
        chart.ticks.append(Tick(_y(tick, low, high), f"{tick:g}"))
        tick += tick_step
    if low < 0 < high:
        chart.zero_y = _r(_y(0, low, high))
    chart.x_labels = _x_labels(periods, xs)
    return chart


def integer_ticks(top: int, most: int = 4) -> list[int]:
    """Whole-number gridlines from 0 to at least ``top`` at a step of 1, 2 or 5 times a power
    of ten, at most ``most`` steps: a count axis never shows 3.5, nor labels it "4"."""
    top = max(1, top)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(top / step) <= most:
                return list(range(0, step * math.ceil(top / step) + 1, step))
        magnitude *= 10


def bar_chart(labels: list[str], series: list[tuple[str, list[int]]], *, rate: list[float | None] | None = None,
              css: list[str] | None = None, hrefs: list[str | None] | None = None) -> BarChart:
    """Bars per label, one per series side by side (e.g. sent and answered), with an
    optional percentage line over them; ``css`` colours single-series bars one by one."""
    right = WIDTH - (RIGHT_WITH_SCALE if rate else RIGHT)
    count = max(1, len(labels))
    ticks = integer_ticks(max([v for _name, values in series for v in values] + [1]))
    top = ticks[-1]
    slot = (right - LEFT) / count
    width = slot * 0.8 / max(1, len(series))
    chart = BarChart(bars=[], right=right)
    hrefs = hrefs or [None] * len(labels)
    if not css and not any(hrefs) and slot < DOT_SPACING:  # too narrow for a bar of its own each: one path per series, one image
        for j, (_name, values) in enumerate(series):
            d = "".join(f"M{_r(LEFT + slot * i + slot * 0.1 + width * j)} {TOP + PLOT_H}v{-_r(PLOT_H * v / top)}h{_r(width)}v{_r(PLOT_H * v / top)}z" for i, v in enumerate(values) if v)
            chart.paths.append((f"series-{j}", d))
    for i, label in enumerate(labels if not chart.paths else ()):
        for j, (name, values) in enumerate(series):
            value = values[i]
            height = PLOT_H * value / top
            x = LEFT + slot * i + slot * 0.1 + width * j
            colour = css[i] if css else f"series-{j}"
            chart.bars.append(Bar(x, TOP + PLOT_H - height, width, height, colour, f"{label} {name}".strip(), str(value), hrefs[i], label))
    chart.ticks = [Tick(_y(tick, 0, top), str(tick)) for tick in ticks]
    centres = _slot_centres(len(labels), LEFT, right)
    chart.x_labels = _x_labels(labels, centres)
    if rate:
        chart.lines = polylines(centres, [None if r is None else _y(r, 0, 100) for r in rate])
        chart.line_ticks = [Tick(_y(percent, 0, 100), f"{percent} %") for percent in (0, 50, 100)]
    return chart


#: How a 0–10 answer is coloured: by its NPS group.
def nps_group_css(score: int) -> str:
    return "promoter" if score >= 9 else ("passive" if score >= 7 else "detractor")


#: The per-period tables under the charts ("Show the numbers") list the latest this many
#: periods; the rest behind a link (``periods=all``), so two years of weeks stay a light page.
TABLE_PERIODS = 26


@dataclass
class ReportPage:
    """The reports page: the overview's figures and their charts, and the periods its tables list."""

    overview: object  # services.Overview
    nps: LineChart
    csat: LineChart
    volume: BarChart
    distribution: BarChart
    csat_distribution: BarChart
    table: list = field(default_factory=list)  # the latest TABLE_PERIODS rows of the series (all with all_periods)
    hidden_periods: int = 0  # the earlier periods left out of the tables
    all_periods: bool = False  # asked for every period (the tables then open)


def report_page(overview, all_periods: bool = False) -> ReportPage:
    """The page's charts (call within a request: the series names are translated).
    ``all_periods``: the tables list every period, not just the latest TABLE_PERIODS."""
    series = overview.series
    table = series if all_periods else series[-TABLE_PERIODS:]
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
        table=table,
        hidden_periods=len(series) - len(table),
        all_periods=all_periods,
    )
