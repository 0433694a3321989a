"""Small server-rendered SVG charts for the console: bars, stacked bars, a distribution.

Every label passes through markupsafe.escape, so names from the data (an intent, a channel)
can never become markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

# Colour-blind-safe (Okabe-Ito), one per channel in a stable order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    # Safe: every piece of text in `body` and `title` went through escape().
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" class="chart">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def stacked_days(
    *, title: str, days: Sequence[date], series: Sequence[str],
    values: dict[date, dict[str, int]],
) -> Markup:
    """Columns per day, stacked by series (conversations per day by channel), with a legend."""
    width, height, left, bottom, top = 720, 260, 36, 40, 30
    plot_h = height - bottom - top
    peak = max([sum(values.get(d, {}).values()) for d in days] + [1])
    step = (width - left - 10) / max(len(days), 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for i, day in enumerate(days):
        x = left + i * step + 1
        y: float = top + plot_h
        for j, name in enumerate(series):
            count = values.get(day, {}).get(name, 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(day.isoformat())} '
                f"{escape(name)}: {count}</title></rect>"
            )
        # A date under every seventh column, counting back from the last day.
        if (len(days) - 1 - i) % 7 == 0:
            body.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                f'font-size="10">{escape(day.strftime("%d %b"))}</text>'
            )
    for j, name in enumerate(series):
        lx = left + j * 110
        body.append(
            f'<rect x="{lx}" y="6" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{lx + 14}" y="15" font-size="11">{escape(name)}</text>'
        )
    if not series:
        body.append(
            f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
            'font-size="13" fill="#555">No conversations in this period</text>'
        )
    return _svg(width, height, title, body)


def horizontal_bars(
    *, title: str, rows: Sequence[tuple[str, float, str]], maximum: float | None = None
) -> Markup:
    """One bar per row: (label, value, text shown after the bar)."""
    row_h, left, width = 24, 190, 720
    height = max(len(rows), 1) * row_h + 10
    peak = maximum if maximum is not None else max([v for _, v, _ in rows] + [1e-9])
    plot_w = width - left - 110
    body = []
    for i, (label, value, shown) in enumerate(rows):
        y = 5 + i * row_h
        w = plot_w * (value / peak) if peak else 0
        body.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="#0072B2"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12">{escape(shown)}</text>'
        )
    if not rows:
        body.append('<text x="10" y="20" font-size="13" fill="#555">Nothing to show yet</text>')
    return _svg(width, height, title, body)


def percent_gauge(*, title: str, share: float, caption: str) -> Markup:
    """A single share (containment, fallback rate) as a filled bar with its percentage."""
    width, height = 320, 56
    filled = 300 * max(0.0, min(share, 1.0))
    body = [
        '<rect x="10" y="8" width="300" height="22" fill="#e6e6e6"/>',
        f'<rect x="10" y="8" width="{filled:.1f}" height="22" fill="#009E73"/>',
        f'<text x="160" y="24" text-anchor="middle" font-size="13" font-weight="bold">'
        f"{share * 100:.0f}%</text>",
        f'<text x="10" y="48" font-size="11" fill="#333">{escape(caption)}</text>',
    ]
    return _svg(width, height, title, body)
