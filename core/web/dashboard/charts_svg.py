"""Charts drawn on the server as inline SVG (no script, no CDN): horizontal bars for a few named
numbers, a line for a number by day. Each is an ``<svg role="img">`` whose ``<title>`` names it;
the page shows the numbers in a table beside it, which is what screen readers read.

A chart is drawn 360 units wide, about a phone's width in pixels, and scales to its box: its
13-unit words stay 11 px or more on a 360 px phone and are not blown up on a laptop, where the
stylesheet caps its width. Drawn 600 wide, they shrank to 7 px on a phone."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 360
BAR = 22
GAP = 8
LABEL_WIDTH = 160
LABEL_MOST = 20  # characters: about 140 units, inside LABEL_WIDTH
LINE_HEIGHT = 160


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _short(text: str, most: int = LABEL_MOST) -> str:
    """``text`` cut to ``most`` characters; a short ending in brackets ("alice (Twitch)",
    "rule 3 (removed)") is kept and the words before it cut instead."""
    if len(text) <= most:
        return text
    head, bracket, tail = text.rpartition(" (")
    if bracket and tail.endswith(")") and head and len(tail) + 2 <= most // 2:
        ending = bracket + tail
        return head[: most - len(ending) - 1] + "…" + ending
    return text[: most - 1] + "…"


def _opening(chart_id: str, title: str, height: int) -> str:
    """The ``<svg>`` tag and its ``<title>``, escaped."""
    cid = escape(chart_id)
    return (
        f'<svg class="svg-chart" id="{cid}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{cid}-t">'
        f'<title id="{cid}-t">{escape(title)}</title>'
    )


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, float]]) -> Markup:
    """One bar per row (label, value), longest first as given; nothing drawn without rows."""
    if not rows:
        return Markup("")
    top = max(value for _, value in rows) or 1
    height = len(rows) * (BAR + GAP) + GAP
    room = WIDTH - LABEL_WIDTH - 64  # room after the bar for a number such as 1,234.5
    parts = [_opening(chart_id, title, height)]
    for n, (label, value) in enumerate(rows):
        y = GAP + n * (BAR + GAP)
        length = max(room * value / top, 1 if value else 0)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end">'
            f"{escape(_short(label))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR}" rx="3"></rect>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + BAR * 0.7:.1f}">'
            f"{escape(_number(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it is escaped)


def line_chart(chart_id: str, title: str, points: Sequence[tuple[str, float]]) -> Markup:
    """A line through the values, in order (the first and last labels under it)."""
    if not points:
        return Markup("")
    top = max(value for _, value in points) or 1
    left, right, bottom = 44, WIDTH - 10, LINE_HEIGHT - 24
    step = (right - left) / max(len(points) - 1, 1)
    xy = [
        (left + n * step, bottom - (bottom - 10) * value / top)
        for n, (_, value) in enumerate(points)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    first, last = points[0][0], points[-1][0]
    return Markup(  # noqa: S704 (every text in it is escaped)
        _opening(chart_id, title, LINE_HEIGHT)
        + f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"></line>'
        f'<text x="{left - 6}" y="16" text-anchor="end">{escape(_number(top))}</text>'
        f'<text x="{left - 6}" y="{bottom}" text-anchor="end">0</text>'
        f'<polyline points="{line}" fill="none"></polyline>'
        f'<text x="{left}" y="{LINE_HEIGHT - 6}">{escape(first)}</text>'
        f'<text x="{right}" y="{LINE_HEIGHT - 6}" text-anchor="end">{escape(last)}</text>'
        "</svg>"
    )
