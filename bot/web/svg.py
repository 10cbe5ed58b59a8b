"""Server-rendered SVG bar charts for the dashboard: no script, no library, works offline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD, AXIS = 720, 200, 24, 18


def bar_chart(
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    title: str,
) -> Markup:
    """Grouped bars per day: ``series`` is (label, values per day, CSS class)."""
    n = max(len(days), 1)
    top = max([1, *(v for _, values, _ in series for v in values)])
    inner_w = WIDTH - 2 * PAD
    inner_h = HEIGHT - PAD - AXIS
    slot = inner_w / n
    bar = max(slot / (len(series) + 1), 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD}" y="14" class="chart-title">{escape(title)} (max {top})</text>',
    ]
    base = HEIGHT - AXIS
    for i, day in enumerate(days):
        x0 = PAD + i * slot
        for j, (label, values, css) in enumerate(series):
            v = values[i] if i < len(values) else 0
            h = inner_h * v / top
            parts.append(
                f'<rect class="{escape(css)}" x="{x0 + j * bar:.1f}" y="{base - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(label)} '
                f"{day.isoformat()}: {v}</title></rect>"
            )
        if n <= 14 or i % 15 == 0:
            parts.append(
                f'<text x="{x0:.1f}" y="{HEIGHT - 4}" class="chart-axis">'
                f"{day.strftime('%d/%m')}</text>"
            )
    legend_x = WIDTH - PAD - 150 * len(series)
    for j, (label, _, css) in enumerate(series):
        x = legend_x + 150 * j
        parts.append(f'<rect class="{escape(css)}" x="{x}" y="5" width="10" height="10"/>')
        parts.append(f'<text x="{x + 14}" y="14" class="chart-axis">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
