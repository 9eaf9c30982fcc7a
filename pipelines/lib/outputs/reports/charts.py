"""Server-rendered inline SVG charts for the HTML reports.

The reports are opened from disk on isolated government networks, so charts are plain SVG built
here: no JavaScript, no fonts, no network. Text inherits the page's font stack. Every chart is a
`<svg class="chart" role="img" aria-label="...">` element; every piece of text from the data is
escaped. Colours are presentation attributes, so a chart looks the same without the stylesheet.

Two kinds:
- `line_chart`: one series over census years, with an optional dashed threshold line, a marker
  year (e.g. certification) and gaps where a value is missing.
- `bar_chart`: horizontal bars (a ranking), with an optional dashed threshold line; bars may link
  to a page.

Which points and bars are drawn in the alert colour is the caller's flag (a warehouse verdict),
never a comparison made here; the numbers a chart writes carry the citation attributes the caller
gives (facts.py), so the claims test checks them like any other figure on the page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
SERIES = "#1d4ed8"
OVER = "#dc2626"
THRESHOLD = "#b91c1c"
MARKER = "#059669"
BAR = "#60a5fa"
NO_DATA = "无数据"


def clean(value: float | int | None) -> float | None:
    """A plottable number, or None for missing, NaN and infinite values."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def axis_ticks(top_value: float, intervals: int = 4) -> list[float]:
    """Ticks from 0 to the first round value at or above `top_value`.

    The step is the smallest round step (1, 2, 2.5 or 5 times a power of ten) that needs at most
    `intervals + 1` intervals, so the plot uses most of its height.
    """
    if top_value <= 0 or not math.isfinite(top_value):
        return [0.0, 1.0]
    most = intervals + 1
    magnitude = 10 ** math.floor(math.log10(top_value / most))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0, 20.0):
        step = multiple * magnitude
        count = max(1, math.ceil(top_value / step - 1e-9))
        if count <= most:
            break
    ticks = [round(i * step, 10) for i in range(count + 1)]
    # a top below the rounding (a coefficient of 1e-16 where every school has the same value)
    return ticks if ticks[-1] > 0 else [0.0, 1.0]


def tick_text(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def threshold_text(value: float) -> str:
    """Thresholds as the documents print them: 0.50, 0.65 (more decimals only when needed)."""
    return f"{value:.2f}" if round(value, 2) == value else tick_text(value)


def number_text(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _n(value: float) -> str:
    """A coordinate with one decimal (keeps the SVG small)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


# Defaults set once on the <svg> element and inherited by its text (keeps the files small).
TEXT_SIZE = 10
TEXT_FILL = MUTED


def _svg_open(width: float, height: float, label: str, extra_class: str = "") -> str:
    classes = "chart" + (f" {extra_class}" if extra_class else "")
    return (
        f'<svg xmlns="{SVG_NS}" class="{escape(classes)}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'font-size="{TEXT_SIZE}" fill="{TEXT_FILL}"><title>{escape(label)}</title>'
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = TEXT_SIZE,
    fill: str = TEXT_FILL,
    anchor: str = "start",
    cite: str = "",
    **attrs: str,
) -> str:
    """A text element; only what differs from the chart's defaults is written out. `cite` is the
    citation attributes of the figure it writes (already escaped markup)."""
    extra = "" if size == TEXT_SIZE else f' font-size="{_n(size)}"'
    extra += "" if fill == TEXT_FILL else f' fill="{fill}"'
    extra += "" if anchor == "start" else f' text-anchor="{anchor}"'
    extra += "".join(f' {key.replace("_", "-")}="{escape(value)}"' for key, value in attrs.items())
    extra += f" {cite}" if cite else ""
    return f'<text x="{_n(x)}" y="{_n(y)}"{extra}>{escape(text)}</text>'


@dataclass(frozen=True)
class LineScale:
    """Maps census years to x and values to y inside the plot area."""

    x0: float
    x1: float
    y0: float  # bottom of the plot (value 0)
    y1: float  # top of the plot (value top)
    first_year: int
    last_year: int
    top: float

    def x(self, year: int) -> float:
        if self.last_year == self.first_year:
            return (self.x0 + self.x1) / 2
        return self.x0 + (year - self.first_year) / (self.last_year - self.first_year) * (self.x1 - self.x0)

    def y(self, value: float) -> float:
        return self.y0 - value / self.top * (self.y0 - self.y1)


def line_chart(
    years: Sequence[int],
    values: Sequence[float | None],
    *,
    label: str,
    threshold: float | None = None,
    threshold_label: str = "阈值",
    threshold_cite: str = "",
    over: Sequence[bool] | None = None,
    cites: Sequence[str] | None = None,
    marker_year: int | None = None,
    marker_label: str = "",
    width: float = 300,
    height: float = 160,
    decimals: int = 3,
) -> Markup:
    """One series over census years (ascending).

    Points flagged in `over` (the caller's verdict per year) are drawn in the alert colour;
    missing values break the line. `cites` are the citation attributes of each year's value,
    `threshold_cite` the threshold's. The y axis starts at 0 and ends at a round value above the
    largest value and the threshold.
    """
    if len(years) != len(values):
        raise ValueError("years and values must have the same length")
    flags = list(over) if over is not None else [False] * len(years)
    citations = list(cites) if cites is not None else [""] * len(years)
    by_year = {int(year): (flag, cite) for year, flag, cite in zip(years, flags, citations, strict=True)}
    points = sorted((int(year), clean(value)) for year, value in zip(years, values, strict=True))
    limit = clean(threshold)
    present = [v for _, v in points if v is not None]
    parts = [_svg_open(width, height, label, "line-chart")]
    if not points or not present:
        parts.append(_text(width / 2, height / 2, NO_DATA, size=12, anchor="middle"))
        parts.append("</svg>")
        return Markup("".join(parts))

    ticks = axis_ticks(max([*present, *([limit] if limit is not None else [])]) * 1.05)
    scale = LineScale(
        x0=40,
        x1=width - 14,
        y0=height - 22,
        y1=12,
        first_year=points[0][0],
        last_year=points[-1][0],
        top=ticks[-1],
    )
    # grid and y axis labels
    grid = "".join(f"M{_n(scale.x0)} {_n(scale.y(t))}H{_n(scale.x1)}" for t in ticks)
    parts.append(
        f'<path class="grid" d="{grid}" fill="none" stroke="{GRID}" stroke-width="1"/><g text-anchor="end">'
    )
    parts.extend(_text(scale.x0 - 4, scale.y(t) + 3.5, tick_text(t)) for t in ticks)
    # x axis labels: every year when there are few, else every other year ending on the last
    every = 1 if len(points) <= 6 else 2
    parts.append('</g><g text-anchor="middle">')
    parts.extend(
        _text(scale.x(year), height - 6, str(year))
        for index, (year, _) in enumerate(reversed(points))
        if index % every == 0
    )
    parts.append("</g>")
    if marker_year is not None and scale.first_year <= marker_year <= scale.last_year:
        x = scale.x(marker_year)
        parts.append(
            f'<line class="marker" x1="{_n(x)}" y1="{_n(scale.y1)}" x2="{_n(x)}" y2="{_n(scale.y0)}" '
            f'stroke="{MARKER}" stroke-width="1" stroke-dasharray="2 3"/>'
        )
        if marker_label:
            parts.append(_text(x + 3, scale.y0 - 4, marker_label, size=9, fill=MARKER))
    if limit is not None:
        y = scale.y(limit)
        parts.append(
            f'<line class="threshold" x1="{_n(scale.x0)}" y1="{_n(y)}" x2="{_n(scale.x1)}" y2="{_n(y)}" '
            f'stroke="{THRESHOLD}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        parts.append(_text(scale.x0 + 3, y - 3, f"{threshold_label} ", size=9, fill=THRESHOLD))
        parts.append(
            _text(
                scale.x0 + 3 + 9 * len(threshold_label) + 3,
                y - 3,
                threshold_text(limit),
                size=9,
                fill=THRESHOLD,
                cite=threshold_cite,
            )
        )
    # the series: one path per unbroken run of values
    runs: list[list[tuple[int, float]]] = [[]]
    for year, value in points:
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((year, value))
    for run in runs:
        if len(run) >= 2:
            path = " ".join(
                f"{'M' if i == 0 else 'L'}{_n(scale.x(year))} {_n(scale.y(value))}"
                for i, (year, value) in enumerate(run)
            )
            parts.append(f'<path class="series" d="{path}" fill="none" stroke="{SERIES}" stroke-width="2"/>')
    parts.append(f'<g fill="{SERIES}">')
    for year, value in points:
        if value is None:
            continue
        flag, cite = by_year[year]
        look = f'class="point over" r="3.5" fill="{OVER}"' if flag else 'class="point" r="2.5"'
        title_cite = f" {cite}" if cite else ""
        parts.append(
            f'<circle {look} cx="{_n(scale.x(year))}" cy="{_n(scale.y(value))}">'
            f"<title{title_cite}>{number_text(value, decimals)}</title></circle>"
        )
    parts.append("</g>")
    last_year, last_value = next((y, v) for y, v in reversed(points) if v is not None)
    parts.append(
        _text(
            scale.x(last_year) - 4,
            scale.y(last_value) - 6,
            number_text(last_value, decimals),
            size=10,
            fill=INK,
            anchor="end",
            font_weight="600",
            cite=by_year[last_year][1],
        )
    )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Bar:
    """One bar of a ranking: its label, value (None: no data) and optional link."""

    label: str
    value: float | None
    href: str | None = None
    over: bool = False  # drawn in the alert colour (the caller's verdict)
    cite: str = ""  # citation attributes of the value (facts.py)


def _short(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    threshold: float | None = None,
    threshold_label: str = "阈值",
    threshold_cite: str = "",
    width: float = 560,
    bar_height: float = 13,
    gap: float = 4,
    label_width: float = 96,
    decimals: int = 3,
    axis_max: float | None = None,
) -> Markup:
    """Horizontal bars in the order given; the value axis starts at 0 and ends at a round value
    at or above the largest value, the threshold and `axis_max` (e.g. the number of indicators).

    Bars flagged `over` are drawn in the alert colour (class "bar over").
    """
    limit = clean(threshold)
    values = [clean(bar.value) for bar in bars]
    present = [v for v in values if v is not None]
    top_pad, bottom_pad = 18.0, 20.0
    height = top_pad + bottom_pad + max(1, len(bars)) * (bar_height + gap)
    parts = [_svg_open(width, height, label, "bar-chart")]
    if not present:
        parts.append(_text(width / 2, height / 2 + 4, NO_DATA, size=12, anchor="middle"))
        parts.append("</svg>")
        return Markup("".join(parts))

    x0, x1 = label_width, width - 44
    extent = max([*present, *([limit] if limit is not None else [])])
    if axis_max is not None and axis_max >= extent:
        # a known maximum (e.g. 7 indicators): whole steps when it is small
        ticks = axis_ticks(
            axis_max, max(1, int(axis_max)) if float(axis_max).is_integer() and axis_max <= 10 else 4
        )
    else:
        ticks = axis_ticks(extent * 1.02)
    top = ticks[-1]

    def x(value: float) -> float:
        return x0 + value / top * (x1 - x0)

    bottom = height - bottom_pad
    grid = "".join(f"M{_n(x(t))} {_n(top_pad)}V{_n(bottom)}" for t in ticks)
    parts.append(
        f'<path class="grid" d="{grid}" fill="none" stroke="{GRID}" stroke-width="1"/><g text-anchor="middle">'
    )
    parts.extend(_text(x(t), height - 6, tick_text(t)) for t in ticks)
    parts.append("</g>")
    if limit is not None:
        parts.append(
            f'<line class="threshold" x1="{_n(x(limit))}" y1="{_n(top_pad - 4)}" x2="{_n(x(limit))}" '
            f'y2="{_n(bottom)}" stroke="{THRESHOLD}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        parts.append(_text(x(limit) - 2, top_pad - 7, f"{threshold_label} ", fill=THRESHOLD, anchor="end"))
        parts.append(_text(x(limit), top_pad - 7, threshold_text(limit), fill=THRESHOLD, cite=threshold_cite))
    for index, (bar, value) in enumerate(zip(bars, values, strict=True)):
        y = top_pad + index * (bar_height + gap) + gap / 2
        over = bar.over
        pieces = [_text(x0 - 6, y + bar_height - 3, _short(bar.label, 8), size=11, fill=INK, anchor="end")]
        if value is None:
            pieces.append(_text(x0 + 4, y + bar_height - 3, "—", size=10))
        else:
            pieces.append(
                f'<rect class="{"bar over" if over else "bar"}" x="{_n(x0)}" y="{_n(y)}" '
                f'width="{_n(max(x(value) - x0, 0.5))}" height="{_n(bar_height)}" fill="{OVER if over else BAR}">'
                f"<title>{escape(bar.label)}</title></rect>"
            )
            pieces.append(  # a white halo keeps the number readable across the threshold line
                _text(
                    x(value) + 4,
                    y + bar_height - 3,
                    number_text(value, decimals),
                    fill=INK,
                    stroke="#fff",
                    stroke_width="3",
                    paint_order="stroke",
                    cite=bar.cite,
                )
            )
        body = "".join(pieces)
        if bar.href:
            body = f'<a href="{escape(bar.href)}">{body}</a>'
        parts.append(body)
    parts.append("</svg>")
    return Markup("".join(parts))
