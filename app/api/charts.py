"""Line charts as SVG for /timeline.svg and /timeline/compare.svg.

Built with xml.etree, which escapes every text and attribute (query names and sources are
user text). Plain SVG, no script and no external reference, so the image embeds anywhere
(an <img>, a report, a wiki). One <path class="series"> per series (a gap where a share is
undefined), one <circle class="spike"> per flagged period.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 860, 380
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 44, 64
COLORS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
MAX_X_LABELS = 8
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass
class ChartSeries:
    """One line: a value per period (None: no value, a gap), spikes optional."""

    name: str
    values: Sequence[float | None]
    spikes: Sequence[bool] | None = None


def _nice_step(top: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) covering 0..top in ~`ticks` steps."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.4g}%"
    return f"{value:,.0f}" if value == int(value) else f"{value:.3g}"


def line_chart(
    title: str,
    periods: Sequence[str],
    series: Sequence[ChartSeries],
    y_label: str,
    percent: bool = False,
) -> str:
    """The SVG document of a line chart of `series` over `periods`."""
    ET.register_namespace("", SVG_NS)
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(WIDTH),
            "height": str(HEIGHT),
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "font-family": "sans-serif",
            "font-size": "12",
            "role": "img",
        },
    )
    ET.SubElement(svg, "title").text = title
    ET.SubElement(svg, "rect", {"width": str(WIDTH), "height": str(HEIGHT), "fill": "white"})
    ET.SubElement(svg, "text", {"x": str(LEFT), "y": "24", "font-size": "15"}).text = title
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for s in series for v in s.values if v is not None]
    top = max(values, default=0) or 1
    step = _nice_step(top) if percent else max(1.0, _nice_step(top))  # no half articles
    top = step * math.ceil(top / step)

    def x_at(i: int) -> float:
        return LEFT + (plot_w / 2 if len(periods) < 2 else plot_w * i / (len(periods) - 1))

    def y_at(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    axes = ET.SubElement(svg, "g", {"class": "axes", "stroke": "#333"})
    ET.SubElement(axes, "line", _line(LEFT, TOP, LEFT, TOP + plot_h))
    ET.SubElement(axes, "line", _line(LEFT, TOP + plot_h, LEFT + plot_w, TOP + plot_h))
    for k in range(round(top / step) + 1):
        y = y_at(k * step)
        ET.SubElement(svg, "line", {**_line(LEFT, y, LEFT + plot_w, y), "stroke": "#eee"})
        tick = ET.SubElement(svg, "text", {"x": f"{LEFT - 6}", "y": f"{y + 4:.1f}"})
        tick.set("text-anchor", "end")
        tick.text = _label(k * step, percent)
    every = max(1, math.ceil(len(periods) / MAX_X_LABELS))
    for i in range(0, len(periods), every):
        label = ET.SubElement(svg, "text", {"x": f"{x_at(i):.1f}", "y": str(TOP + plot_h + 18)})
        label.set("text-anchor", "middle")
        label.text = periods[i]
    axis_name = ET.SubElement(
        svg,
        "text",
        {"transform": f"translate(16 {TOP + plot_h / 2:.1f}) rotate(-90)"},
    )
    axis_name.set("text-anchor", "middle")
    axis_name.text = y_label
    if not periods:
        empty = ET.SubElement(svg, "text", {"x": str(LEFT + plot_w // 2), "y": str(TOP + 40)})
        empty.set("text-anchor", "middle")
        empty.text = "no dated matches"
    for n, line in enumerate(series):
        color = COLORS[n % len(COLORS)]
        _draw_series(svg, line, color, x_at, y_at)
        legend_y = TOP + 10 + 20 * n
        ET.SubElement(
            svg,
            "rect",
            {
                "x": str(WIDTH - RIGHT + 16),
                "y": str(legend_y - 9),
                "width": "14",
                "height": "4",
                "fill": color,
            },
        )
        name = ET.SubElement(svg, "text", {"x": str(WIDTH - RIGHT + 36), "y": str(legend_y)})
        name.text = line.name
    return ET.tostring(svg, encoding="unicode", xml_declaration=False)


def _draw_series(
    svg: ET.Element,
    line: ChartSeries,
    color: str,
    x_at: Callable[[int], float],
    y_at: Callable[[float], float],
) -> None:
    """The series' path (a move wherever a value is missing) and its spike marks."""
    steps, pen_down = [], False
    for i, value in enumerate(line.values):
        if value is None:
            pen_down = False
            continue
        steps.append(f"{'L' if pen_down else 'M'}{x_at(i):.1f} {y_at(value):.1f}")
        pen_down = True
    if len(line.values) == 1 and steps:  # one period: a dot, not an invisible line
        steps.append("h0.1")
    path = ET.SubElement(
        svg,
        "path",
        {
            "class": "series",
            "d": " ".join(steps) or "M0 0",
            "fill": "none",
            "stroke": color,
            "stroke-width": "2",
            "stroke-linejoin": "round",
            "stroke-linecap": "round",
        },
    )
    ET.SubElement(path, "title").text = line.name
    for i, spike in enumerate(line.spikes or ()):
        value = line.values[i]
        if spike and value is not None:
            mark = ET.SubElement(
                svg,
                "circle",
                {
                    "class": "spike",
                    "cx": f"{x_at(i):.1f}",
                    "cy": f"{y_at(value):.1f}",
                    "r": "5",
                    "fill": "none",
                    "stroke": color,
                    "stroke-width": "2",
                },
            )
            ET.SubElement(mark, "title").text = f"{line.name}: spike"


def _line(x1: float, y1: float, x2: float, y2: float) -> dict[str, str]:
    return {"x1": f"{x1:.1f}", "y1": f"{y1:.1f}", "x2": f"{x2:.1f}", "y2": f"{y2:.1f}"}
