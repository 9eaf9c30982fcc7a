"""The inline SVG charts of the HTML reports (pipelines/lib/outputs/reports/charts.py).

Charts are parsed as XML, so every test also checks that the output is well-formed SVG (names
from census data can hold '<', '&' and quotes).
"""

import xml.etree.ElementTree as ET

import pytest

from pipelines.lib.outputs.reports import charts
from pipelines.lib.sentences import fmt_signed, fmt_value

NS = {"svg": charts.SVG_NS}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(str(svg))
    assert root.tag == f"{{{charts.SVG_NS}}}svg"
    assert root.get("class", "").split()[0] == "chart"
    assert root.get("role") == "img"
    return root


def points(root: ET.Element) -> list[tuple[float, float]]:
    return [(float(c.get("cx")), float(c.get("cy"))) for c in root.iterfind(".//svg:circle", NS)]


def threshold_lines(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iterfind(".//svg:line", NS) if e.get("class") == "threshold"]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iterfind(".//svg:text", NS)]


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        (0.765, [0, 0.2, 0.4, 0.6, 0.8]),
        (0.42, [0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        (0.6, [0, 0.2, 0.4, 0.6]),  # a round value is its own top
        (7, [0, 2, 4, 6, 8]),
        (1300, [0, 500, 1000, 1500]),
        (0, [0, 1]),  # nothing to show still gives an axis
        (1.5e-16, [0, 1]),  # a coefficient that is rounding noise (every school has the same value)
    ],
)
def test_axis_ticks_are_round_and_cover_the_top(top, expected):
    assert charts.axis_ticks(top) == pytest.approx(expected)


def test_a_series_of_rounding_noise_still_draws():
    root = parse(charts.line_chart([2023, 2024], [1.2e-16, 1.5e-16], label="x", threshold=None))
    assert len(points(root)) == 2


def test_line_chart_scales_years_to_x_and_values_to_y():
    width, height = 300, 160
    root = parse(
        charts.line_chart([2022, 2023, 2024], [0.2, 0.4, 0.1], label="x", width=width, height=height)
    )
    (x0, y0), (x1, y1), (x2, y2) = points(root)
    assert root.get("viewBox") == "0 0 300 160"
    # years are evenly spaced from the left to the right edge of the plot
    assert x0 < x1 < x2
    assert x1 - x0 == pytest.approx(x2 - x1, abs=0.1)
    # y is linear in the value, 0 at the bottom (the axis runs 0..0.5 here)
    bottom, top = height - 22, 12
    assert y1 == pytest.approx(bottom - 0.4 / 0.5 * (bottom - top), abs=0.1)
    assert y0 == pytest.approx(bottom - 0.2 / 0.5 * (bottom - top), abs=0.1)
    assert (y2 - y0) == pytest.approx((0.2 - 0.1) / 0.5 * (bottom - top), abs=0.1)
    assert "0.100" in texts(root)  # the last value is labelled
    assert not threshold_lines(root)


def test_line_chart_draws_the_threshold_dashed_and_the_years_its_caller_flags():
    # which years are drawn as failing is the caller's verdict (a warehouse column), not a
    # comparison of the chart's
    root = parse(charts.line_chart([2023, 2024], [0.40, 0.60], label="x", threshold=0.5, over=[False, True]))
    (line,) = threshold_lines(root)
    assert line.get("stroke-dasharray")
    assert line.get("y1") == line.get("y2")
    (_, y_low), (_, y_high) = points(root)
    assert y_high < float(line.get("y1")) < y_low  # 0.60 above the line, 0.40 below (SVG y grows down)
    classes = [c.get("class") for c in root.iterfind(".//svg:circle", NS)]
    assert classes == ["point", "point over"]
    assert "阈值" in "".join(texts(root)) and "0.50" in texts(root)
    unflagged = parse(charts.line_chart([2023, 2024], [0.40, 0.60], label="x", threshold=0.5))
    assert [c.get("class") for c in unflagged.iterfind(".//svg:circle", NS)] == ["point", "point"]


def test_line_chart_axis_reaches_the_threshold_when_values_are_low():
    root = parse(charts.line_chart([2023, 2024], [0.1, 0.1], label="x", threshold=0.65))
    (line,) = threshold_lines(root)
    assert float(line.get("y1")) >= 12  # inside the plot, not above it


def test_line_chart_breaks_the_line_at_missing_values():
    root = parse(
        charts.line_chart(
            [2019, 2020, 2021, 2022, 2023], [0.2, 0.3, None, 0.25, float("nan")], label="x", threshold=0.5
        )
    )
    paths = [p for p in root.iterfind(".//svg:path", NS) if p.get("class") == "series"]
    assert len(paths) == 1  # 2019-2020; 2022 stands alone, NaN counts as missing
    assert len(points(root)) == 3
    assert paths[0].get("d").count("L") == 1


def test_line_chart_with_no_values_says_so():
    for years, values in (([2023, 2024], [None, None]), ([], [])):
        root = parse(charts.line_chart(years, values, label="空", threshold=0.5))
        assert texts(root) == [charts.NO_DATA]
        assert not points(root)
        assert not threshold_lines(root)


def test_line_chart_single_year_is_centred():
    root = parse(charts.line_chart([2024], [0.3], label="x", width=300))
    ((x, _),) = points(root)
    assert x == pytest.approx((40 + 300 - 14) / 2, abs=0.1)


def test_line_chart_marks_the_certification_year_inside_the_range_only():
    inside = parse(
        charts.line_chart([2015, 2024], [0.1, 0.2], label="x", marker_year=2018, marker_label="认定")
    )
    assert [e.get("class") for e in inside.iterfind(".//svg:line", NS)] == ["marker"]
    assert "认定" in texts(inside)
    before = parse(
        charts.line_chart([2015, 2024], [0.1, 0.2], label="x", marker_year=2010, marker_label="认定")
    )
    assert "认定" not in texts(before)


def test_line_chart_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        charts.line_chart([2023, 2024], [0.1], label="x")


def test_text_from_the_data_is_escaped():
    nasty = "<script>alert(\"x\")</script> & '学校'"
    svg = str(charts.line_chart([2024], [0.3], label=nasty, threshold=0.5, threshold_label=nasty))
    assert "<script>" not in svg
    root = parse(svg)  # well-formed XML despite the label
    assert root.get("aria-label") == nasty
    assert root.find("svg:title", NS).text == nasty

    bars = str(charts.bar_chart([charts.Bar(nasty, 0.4, href='a.html?x="1"&y=<2>')], label=nasty))
    assert "<script>" not in bars
    root = parse(bars)
    (link,) = root.iterfind(".//svg:a", NS)
    assert link.get("href") == 'a.html?x="1"&y=<2>'


def test_bar_chart_widths_are_proportional_and_the_flagged_bars_are_drawn_as_failing():
    bars = [
        charts.Bar("甲县", 0.8, over=True),
        charts.Bar("乙县", 0.4),
        charts.Bar("丙县", None),
        charts.Bar("丁县", 0.2),
    ]
    root = parse(charts.bar_chart(bars, label="排名", threshold=0.65))
    rects = list(root.iterfind(".//svg:rect", NS))
    assert len(rects) == 3  # the county without a value has no bar
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] / widths[1] == pytest.approx(2, rel=0.01)
    assert widths[1] / widths[2] == pytest.approx(2, rel=0.01)
    assert [r.get("class") for r in rects] == ["bar over", "bar", "bar"]
    (line,) = threshold_lines(root)
    x = float(line.get("x1"))
    left = float(rects[0].get("x"))
    assert left + widths[1] < x < left + widths[0]  # the line sits between 0.4 and 0.8
    labels = texts(root)
    assert "丙县" in labels and "—" in labels
    assert "0.800" in labels


def test_bar_chart_axis_max_gives_whole_steps():
    root = parse(charts.bar_chart([charts.Bar("甲县", 3)], label="超阈值指标数", decimals=0, axis_max=7))
    assert [t for t in texts(root) if t.isdigit()] == ["0", "1", "2", "3", "4", "5", "6", "7", "3"]


def test_bar_chart_shortens_long_labels():
    root = parse(charts.bar_chart([charts.Bar("一个名字特别特别长的县", 0.3)], label="x"))
    assert "一个名字特别特…" in texts(root)


def test_bar_chart_without_values_says_so():
    root = parse(charts.bar_chart([charts.Bar("甲县", None)], label="x", threshold=0.5))
    assert texts(root) == [charts.NO_DATA]
    root = parse(charts.bar_chart([], label="x"))
    assert texts(root) == [charts.NO_DATA]


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0291, "+0.029"), (-0.00004, "0.000"), (-0.0123, "-0.012"), (None, "—"), (float("nan"), "—")],
)
def test_signed_changes_never_show_minus_zero(value, text):
    assert fmt_signed(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(4046.4, "4,046"), (13.974, "13.97"), (0.05274, "0.0527"), (None, "—")],
)
def test_indicator_values_keep_sensible_precision(value, text):
    assert fmt_value(value) == text
