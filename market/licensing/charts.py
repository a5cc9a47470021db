"""A dependency-free SVG line chart of a simulation: cumulative licensor receipts per scenario
against the one-off buyout price, so the term-sheet page works without JavaScript."""

from __future__ import annotations

from xml.sax.saxutils import escape

from market.licensing.formatting import yuan
from market.licensing.labels import ENUM_LABELS
from market.licensing.simulator import SimulationResult

WIDTH, HEIGHT, PAD = 640, 320, 56
COLOURS = {"low": "#9e9e9e", "base": "#1565c0", "high": "#2e7d32"}
BUYOUT_COLOUR = "#c62828"


def simulation_svg(result: SimulationResult, title: str = "累计许可收入与一次性买断对比") -> str:
    """An inline <svg> document; scenario lines plus a dashed buyout line and a legend."""
    series = result.chart_series()
    top = max(
        [result.buyout_price, 1, *(v for vs in series["cumulative_licensor"].values() for v in vs)]
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _axes(result.years, top),
        _line([result.buyout_price] * result.years, top, BUYOUT_COLOUR, dashed=True),
    ]
    for name, values in series["cumulative_licensor"].items():
        parts.append(_line(values, top, COLOURS.get(name, "#000000")))
    parts.append(_legend(list(series["cumulative_licensor"])))
    parts.append("</svg>")
    return "\n".join(parts)


def _x(year: int, years: int) -> float:
    span = WIDTH - 2 * PAD
    return PAD + (span * (year - 1) / (years - 1) if years > 1 else span / 2)


def _y(value: int, top: int) -> float:
    return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top


def _line(values: list[int], top: int, colour: str, dashed: bool = False) -> str:
    points = " ".join(f"{_x(i, len(values)):.1f},{_y(v, top):.1f}" for i, v in enumerate(values, 1))
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{points}"/>'


def _axes(years: int, top: int) -> str:
    bottom, right = HEIGHT - PAD, WIDTH - PAD
    ticks = [
        f'<text x="{_x(y, years):.1f}" y="{bottom + 16}" font-size="11" text-anchor="middle">第{y}年</text>'
        for y in range(1, years + 1)
    ]
    return "\n".join(
        [
            f'<line x1="{PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>',
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{bottom}" stroke="#333"/>',
            f'<text x="{PAD}" y="{PAD - 8}" font-size="11">{escape(yuan(top))}</text>',
            *ticks,
        ]
    )


def _legend(names: list[str]) -> str:
    entries = [("一次性买断", BUYOUT_COLOUR)] + [
        (ENUM_LABELS["scenario"].get(n, n), COLOURS.get(n, "#000000")) for n in names
    ]
    return "\n".join(
        f'<text x="{PAD + 120 * i}" y="20" font-size="12" fill="{colour}">{escape(label)}</text>'
        for i, (label, colour) in enumerate(entries)
    )
