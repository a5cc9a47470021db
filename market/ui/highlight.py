"""Matched phrases marked on a text: escape first, then wrap the stored spans in <mark>."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape


def merge_spans(spans: Iterable[Iterable[int]], length: int) -> list[tuple[int, int]]:
    """Sorted, clipped, non-overlapping spans (overlapping phrases become one mark)."""
    merged: list[list[int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        start, end = max(0, start), min(length, end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def highlight(text: str, spans: Iterable[Iterable[int]]) -> Markup:
    text = text or ""
    parts, cursor = [], 0
    for start, end in merge_spans(spans, len(text)):
        parts.append(escape(text[cursor:start]))
        parts.append(Markup("<mark>%s</mark>") % text[start:end])
        cursor = end
    parts.append(escape(text[cursor:]))
    return Markup("").join(parts)
