"""The growth curves as one self-contained SVG (no plotting library needed): log-scaled x,
linear y, a line with min-max whiskers per series."""
from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, MARGIN = 420, 280, 56
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700")


def panel(title: str, x_label: str, y_label: str, xs: Sequence[float],
          series: dict[str, Sequence[dict]], left: float) -> str:
    """One chart at horizontal offset `left`; each series holds spread dicts (median/min/max)."""
    lo_x, hi_x = math.log10(min(xs)), math.log10(max(xs))
    top = max(s["max"] for values in series.values() for s in values) * 1.1 or 1.0

    def px(x: float) -> float:
        return left + MARGIN + (math.log10(x) - lo_x) / ((hi_x - lo_x) or 1) * (WIDTH - 1.5 * MARGIN)

    def py(y: float) -> float:
        return HEIGHT - MARGIN + 10 - y / top * (HEIGHT - 1.6 * MARGIN)

    out = [f'<text x="{left + WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{left + MARGIN}" y1="{py(0)}" x2="{left + WIDTH - MARGIN / 2}" y2="{py(0)}" stroke="#888"/>',
           f'<line x1="{left + MARGIN}" y1="{py(0)}" x2="{left + MARGIN}" y2="{py(top)}" stroke="#888"/>',
           f'<text x="{left + WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>',
           f'<text transform="translate({left + 14},{HEIGHT / 2}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>']
    for x in xs:
        out.append(f'<text x="{px(x)}" y="{py(0) + 16}" text-anchor="middle">{x:,.0f}</text>')
    for tick in range(5):
        y = top / 4 * tick
        out.append(f'<text x="{left + MARGIN - 6}" y="{py(y) + 4}" text-anchor="end">{y:,.0f}</text>')
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(f"{px(x):.1f},{py(v['median']):.1f}" for x, v in zip(xs, values))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for x, v in zip(xs, values):
            out.append(f'<line x1="{px(x):.1f}" y1="{py(v["min"]):.1f}" x2="{px(x):.1f}" '
                       f'y2="{py(v["max"]):.1f}" stroke="{colour}"/>'
                       f'<circle cx="{px(x):.1f}" cy="{py(v["median"]):.1f}" r="3" fill="{colour}"/>')
        out.append(f'<text x="{left + WIDTH - MARGIN}" y="{40 + 16 * index}" text-anchor="end" '
                   f'fill="{colour}">{escape(name)}</text>')
    return "\n".join(out)


def growth_svg(per_message: list[dict], ledger: list[dict]) -> str:
    left = panel("Cost per transaction vs. transactions per message", "transactions per message",
                 "µs per transaction", [r["transactions"] for r in per_message],
                 {"reader": [r["read_us_per_tx"] for r in per_message],
                  "whole pipeline (SQLite)": [r["pipeline_us_per_tx"] for r in per_message]}, 0)
    right = panel("Throughput vs. ledger size", "postings already in the ledger",
                  "messages/s (replay, batched)", [r["postings"] for r in ledger],
                  {name: [r[name] for r in ledger]
                   for name in ledger[0] if name != "postings"}, WIDTH + 20)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH + 20}" height="{HEIGHT}" '
            f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n'
            f"{left}\n{right}\n</svg>\n")
