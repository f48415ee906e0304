"""Bar charts as inline SVG, drawn on the server: no JavaScript, no chart library.

Readable at a glance: a title, axis labels, gridlines, the value on every bar that has room for it, a
legend when bars are stacked. For screen readers each chart is ``role="img"`` with an ``aria-label`` and a
``<title>``; the page puts the same numbers in a table after it. Colours have at least 3:1 contrast against
white (WCAG 1.4.11); the second colour of a stacked bar is also striped, so it does not rest on hue alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from bot.console.pages import esc

GREEN = "#2f6f4e"  # the console's green, 6.0:1 against white
AMBER = "#9a6a14"  # 4.7:1
RED = "#a3260f"  # 7.4:1
GREY = "#6b7570"  # 4.8:1
INK, AXIS, GRID = "#1b2420", "#56605b", "#dde3df"
WIDTH, HEIGHT = 720, 290
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 44, 56
MOST_LABELS = 16  # x-axis labels shown at most; the rest are in the table
CHAR_WIDTH = 7  # about, at font-size 12: labels are thinned out so that they never overlap
NOTHING = "–"


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[Optional[float]]  # one per bar; None: nothing to show for that bar
    striped: bool = False


def whole(value: float) -> str:
    return f"{value:.0f}"


def _ticks(top: float) -> Tuple[float, List[float]]:
    """A round axis maximum and up to 6 gridlines at whole numbers up to it."""
    if top <= 0:
        return 1.0, [0.0, 1.0]
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = max(1.0, math.ceil(next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)))
    high = math.ceil(top / step - 1e-9) * step
    return high, [i * step for i in range(int(round(high / step)) + 1)]


def _pattern(chart_id: str, index: int, colour: str) -> str:
    return (f'<pattern id="{chart_id}-p{index}" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{colour}"/>'
            f'<rect width="2" height="6" fill="#5c3f0b"/></pattern>')


def bar_chart(chart_id: str, title: str, summary: str, labels: Sequence[str], series: Sequence[Series],
              x_label: str, y_label: str, value_text: Callable[[float], str] = whole,
              y_max: Optional[float] = None) -> str:
    """Bars (stacked when there are several series) with their values, axes, gridlines and a legend."""
    count = max(len(labels), 1)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    high, ticks = _ticks(y_max if y_max is not None else max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    slot = plot_w / count
    bar_w = max(1.0, slot * 0.7)
    roomy = slot >= 22  # room for a value on or in each bar

    def y(value: float) -> float:
        return base - plot_h * min(value, high) / high

    parts = [f'<svg class="chart" role="img" aria-label="{esc(title)}: {esc(summary)}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" '
             f'font-family="system-ui, sans-serif" font-size="12" fill="{INK}"><title>{esc(title)}</title>',
             "<defs>" + "".join(_pattern(chart_id, i, s.colour) for i, s in enumerate(series) if s.striped)
             + "</defs>"]
    for tick in ticks:
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="{GRID}"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'fill="{AXIS}">{whole(tick)}</text>')
    parts.append(f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
                 f'fill="{AXIS}">{esc(y_label)}</text>')
    widest = max((len(label) for label in labels), default=1) * CHAR_WIDTH + 10
    every = max(math.ceil(count / MOST_LABELS), math.ceil(widest / slot))
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        middle = x + bar_w / 2
        bottom = float(base)
        stacked = sum(bool(s.values[i]) for s in series) > 1  # values in the parts, the sum on top
        for index, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            height = plot_h * min(value, high) / high
            fill = f"url(#{chart_id}-p{index})" if s.striped else s.colour
            parts.append(f'<rect x="{x:.1f}" y="{bottom - height:.1f}" width="{bar_w:.1f}" '
                         f'height="{height:.1f}" fill="{fill}"><title>{esc(label)}, {esc(s.name)}: '
                         f'{esc(value_text(value))}</title></rect>')
            if stacked and roomy and height >= 16:
                parts.append(f'<text x="{middle:.1f}" y="{bottom - height / 2 + 4:.1f}" text-anchor="middle" '
                             f'fill="#fff" font-weight="600">{esc(value_text(value))}</text>')
            bottom -= height
        if roomy:
            shown = NOTHING if all(s.values[i] is None for s in series) else value_text(totals[i])
            parts.append(f'<text x="{middle:.1f}" y="{bottom - 5:.1f}" text-anchor="middle" '
                         f'font-weight="600">{esc(shown)}</text>')
        if i % every == 0:
            parts.append(f'<text x="{middle:.1f}" y="{base + 17}" text-anchor="middle" '
                         f'fill="{AXIS}">{esc(label)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="{AXIS}"/>'
                 f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                 f'fill="{AXIS}">{esc(x_label)}</text>')
    if len(series) > 1:
        x = float(LEFT)
        for index, s in enumerate(series):
            fill = f"url(#{chart_id}-p{index})" if s.striped else s.colour
            parts.append(f'<rect x="{x:.0f}" y="12" width="14" height="14" fill="{fill}"/>'
                         f'<text x="{x + 20:.0f}" y="24">{esc(s.name)}</text>')
            x += 40 + 7.5 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)

