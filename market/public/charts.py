"""Dashboard charts rendered server-side as SVG with pygal (no JavaScript, nothing from a CDN)."""

from __future__ import annotations

import pygal
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#6c757d",
    colors=("#0b4f8a", "#0f7c74", "#e0a100", "#c2410c", "#6d28d9"),
    font_family="Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    title_font_size=15,
)
COMMON = {
    "style": STYLE,
    "js": [],
    "disable_xml_declaration": True,
    "width": 640,
    "height": 360,
    "show_legend": False,
    "print_values": True,
}


def bar(title: str, rows: list[tuple[str, int]], horizontal: bool = True) -> str:
    chart = (pygal.HorizontalBar if horizontal else pygal.Bar)(title=title, **COMMON)
    chart.x_labels = [label for label, _ in rows]
    chart.add(title, [value for _, value in rows])
    return chart.render(is_unicode=True)


def grouped(title: str, rows: list[tuple[str, int, int]], names: tuple[str, str]) -> str:
    chart = pygal.Bar(
        title=title,
        **{**COMMON, "show_legend": True, "print_values": False, "x_label_rotation": 30},
    )
    chart.x_labels = [label for label, *_ in rows]
    chart.add(names[0], [a for _, a, _ in rows])
    chart.add(names[1], [b for _, _, b in rows])
    return chart.render(is_unicode=True)


def funnel(title: str, rows: list[tuple[str, int]]) -> str:
    chart = pygal.Funnel(title=title, **{**COMMON, "show_legend": True})
    for label, value in rows:
        chart.add(label, [value])
    return chart.render(is_unicode=True)
