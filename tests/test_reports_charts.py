"""The report's SVG charts as drawn: gridlines labelled with the values they
stand at, period labels that fit side by side, gaps where a period has no
answers, and text that a phone shrinks no smaller than it can be read."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string

from portal.reports import charts
from portal.web.dates import period_label

LINE = '{% from "reports/charts.html" import line %}{{ line(chart, "c", "Title", "Description", note=note) }}'
BARS = '{% from "reports/charts.html" import bars %}{{ bars(chart, "c", "Title", "Description") }}'


def draw(template: str, **context) -> str:
    return render_template_string(template, **{"note": None, **context})


def weeks(count: int) -> list[str]:
    return [f"2026-W{week:02d}" for week in range(1, count + 1)]


def value_at(y: float, low: float, high: float) -> float:
    """The figure a y coordinate of the plot stands for (the inverse of the chart's scale)."""
    return high - (y - charts.TOP) * (high - low) / charts.PLOT_H


def texts(svg: str) -> list[tuple[float, str, str]]:
    """(x, text-anchor, text) of every axis label."""
    return [(float(x), anchor, text) for x, anchor, text in re.findall(r'<text x="([\d.]+)" y="[^"]+" class="axis[^"]*" text-anchor="(\w+)"[^>]*>([^<]*)</text>', svg)]


@pytest.mark.parametrize("top", [1, 2, 3, 4, 5, 7, 9, 13, 38, 101, 999])
def test_a_count_axis_has_whole_gridlines_labelled_with_the_value_they_stand_at(top):
    chart = charts.bar_chart(["a", "b"], [("", [top, 0])])
    values = [int(tick.label) for tick in chart.ticks]
    assert values[0] == 0 and values[-1] >= top and len(values) <= 5
    axis_top = values[-1]
    for tick in chart.ticks:
        assert value_at(tick.y, 0, axis_top) == pytest.approx(int(tick.label))  # "4" stands at 4, not at 3.5
    tallest = chart.bars[0]
    assert value_at(tallest.y, 0, axis_top) == pytest.approx(top)


def test_seven_answers_are_not_halved_into_a_gridline_labelled_4():
    assert charts.integer_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.integer_ticks(1) == [0, 1]


@pytest.mark.parametrize("count", [1, 2, 5, 8, 13, 26, 53])
def test_period_labels_fit_side_by_side_and_the_latest_is_labelled(app, count):
    periods = weeks(count)
    for chart in (charts.line_chart(periods, [10.0] * count, low=-100, high=100), charts.bar_chart(periods, [("", [1] * count)])):
        svg = draw(LINE if isinstance(chart, charts.LineChart) else BARS, chart=chart)
        shown = {period_label(period, short=True) for period in periods}  # "KW 36" in German
        labels = [(x, anchor, text) for x, anchor, text in texts(svg) if text in shown]
        assert labels[-1][2] == period_label(periods[-1], short=True)
        extents = []
        for x, anchor, text in labels:
            width = charts.label_width(text)
            start = {"middle": x - width / 2, "end": x - width, "start": x}[anchor]
            assert 0 <= start and start + width <= charts.WIDTH, text  # inside the chart
            extents.append((start, start + width))
        for (_start, end), (next_start, _end) in zip(extents, extents[1:], strict=False):
            assert end < next_start, "two period labels overlap"
        if count >= 13:
            assert len(labels) < count  # thinned out


def test_a_week_without_answers_is_a_gap_in_the_line_and_the_band(app):
    values = [10.0, 20.0, None, 30.0, 40.0, None, 50.0]
    bands = [None if v is None else (v - 15, v + 15) for v in values]
    chart = charts.line_chart(weeks(7), values, low=-100, high=100, bands=bands)
    svg = draw(LINE, chart=chart)
    lines = re.findall(r'<polyline points="([^"]+)" class="line"', svg)
    assert len(lines) == 2  # weeks 1–2 and 4–5; week 7 stands alone, as a dot
    xs = [[float(pair.split(",")[0]) for pair in points.split()] for points in lines]
    gap_x = charts._slot_centres(7, charts.LEFT, charts.WIDTH - charts.RIGHT)[2]
    assert all(not (min(run) < gap_x < max(run)) for run in xs), "a line bridges the week without answers"
    assert svg.count('class="band"') == 3  # the lone week keeps its interval, as a narrow bar
    assert svg.count('class="dot"') == 5


def test_a_missing_response_rate_breaks_its_line(app):
    chart = charts.bar_chart(weeks(4), [("sent", [4, 0, 3, 5])], rate=[50.0, None, 100.0, 60.0])
    assert len(chart.lines) == 1 and len(chart.lines[0].split()) == 2


def test_the_margins_hold_the_axis_text_at_its_largest_size():
    widest_y_label = max(charts.label_width(label) for label in ("−100", "-100", "100"))
    assert widest_y_label + 8 <= charts.LEFT
    assert charts.label_width("100 %") + 2 <= charts.RIGHT_WITH_SCALE
    assert charts.TEXT <= charts.BOTTOM - 12


def test_the_axis_text_shows_at_11_to_16_css_pixels_at_any_chart_width():
    """portal.css sizes the axis text in viewBox units by the chart's width: at every
    width from a 320 px phone's chart to a wide screen's, text × width / viewBox width
    is at least 11 px and not much more."""
    from pathlib import Path

    css = (Path(charts.__file__).parents[1] / "web" / "static" / "css" / "portal.css").read_text()
    base = float(re.search(r"\.chart-svg \.axis \{ font-size: ([\d.]+)px", css).group(1))
    rule = r"@container \((min|max)-width: ([\d.]+)px\) \{ \.chart-svg \.axis \{ font-size: ([\d.]+)px"
    steps = [(kind, float(limit), float(size)) for kind, limit, size in re.findall(rule, css)]
    assert steps and max(size for _kind, _limit, size in steps) <= charts.TEXT

    def size_at(width: int) -> float:
        size = base
        for _kind, _limit, step in sorted(s for s in steps if s[0] == "min" and width >= s[1]):
            size = step  # the widest matching min-width wins
        for _kind, _limit, step in sorted((s for s in steps if s[0] == "max" and width <= s[1]), reverse=True):
            size = step  # the narrowest matching max-width wins
        return size

    widest = 72 * 16 - 4 * 16  # the page's 72rem, less its and the card's padding
    shown = [size_at(width) * width / charts.WIDTH for width in range(272, widest + 1)]
    assert min(shown) >= 11 and max(shown) <= 16.5, (min(shown), max(shown))


def test_the_interval_band_is_explained_beside_the_nps_chart(app):
    chart = charts.line_chart(weeks(3), [10.0, 20.0, 30.0], low=-100, high=100, bands=[(0, 20), (10, 30), (20, 40)])
    svg = draw(LINE, chart=chart, note="The band shows the 95 % confidence interval.")
    assert '<figcaption class="chart-note">The band shows the 95 % confidence interval.</figcaption>' in svg


def test_two_years_of_weeks_is_a_line_without_a_dot_each_but_a_lone_week_keeps_its_dot(app):
    values = [float(i % 7) for i in range(104)] + [None, 12.0]
    chart = charts.line_chart(weeks(52) + [f"2027-W{w:02d}" for w in range(1, 55)], values, low=-100, high=100)
    assert chart.dense and [p.label for p in chart.points] == ["2027-W54"]  # the week after a gap stands alone
    svg = draw('{% from "reports/charts.html" import line %}{{ line(chart, "c", "T", "D", link=link) }}', chart=chart, link=lambda period: "/x")
    assert 'role="img"' in svg and "<a " not in svg  # one image: the periods' links are in the table
    assert svg.count('class="dot"') == 1 and len(re.findall(r'<polyline points="([^"]+)" class="line"', svg)) == 1
    assert not charts.line_chart(weeks(53), [1.0] * 53, low=-100, high=100).dense  # a year of weeks keeps its dots


def test_two_years_of_weeks_draw_their_bars_as_one_path_per_series(app):
    sent, answered = [i % 9 for i in range(105)], [i % 4 for i in range(105)]
    chart = charts.bar_chart([f"p{i}" for i in range(105)], [("sent", sent), ("answered", answered)], rate=[50.0] * 105)
    assert not chart.bars and [css for css, _d in chart.paths] == ["series-0", "series-1"]
    assert chart.paths[0][1].count("M") == sum(1 for v in sent if v)  # a bar per period with a count, none for 0
    svg = draw(BARS, chart=chart)
    assert svg.count('<path d="M') == 2 and "<rect" not in svg and 'class="line rate"' in svg
    few = charts.bar_chart(weeks(20), [("sent", sent[:20])])
    assert len(few.bars) == 20 and not few.paths
