"""Showing the application's Chinese source text in the reader's language.

Chinese is the source language: enum labels (models/enums.py), term-sheet labels
(market/licensing/labels.py) and the messages of domain errors are catalogue msgids, marked with
``N_`` where they are defined and translated only where they are shown, so stored values, exports
and logs stay Chinese whatever the reader's language.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale, gettext
from markupsafe import Markup

from models import DomainError

from .licensing import windows

# Messages that services store already formatted (in Chinese) in a text column. A page shows
# them translated by matching the stored text against each template; text that matches none
# (older wording, free text) is shown as stored. New code should store the template and its
# values instead (as bulk-import row errors do), so this list stays short.
STORED_TEMPLATES = (windows.DUE_NOW, windows.NOT_DUE_YET)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def chinese_marker() -> dict[str, str]:
    """Attributes for text kept in Chinese on a translated page (none on the Chinese pages)."""
    if str(get_locale()) == current_app.config["BABEL_DEFAULT_LOCALE"]:
        return {}
    return {"lang": "zh-CN"}


def zh(text: Any) -> Markup:
    """Text kept in Chinese by design, marked lang="zh-CN" on a translated page."""
    if not chinese_marker():
        return Markup.escape(text)
    return Markup('<span lang="zh-CN">{}</span>').format(text)


def verbatim(text: Any) -> Markup:
    """Stored data quoted as written, marked translate="no" on a translated page."""
    if not chinese_marker():
        return Markup.escape(text)
    return Markup('<span translate="no">{}</span>').format(text)


def label(text: str | None) -> str:
    """``text`` (a Chinese msgid) in the current locale; unknown text is returned unchanged."""
    if not text:
        return ""
    return gettext(text)  # no variables: never %-formatted, so a literal "%" is safe


def message(template: str, params: dict[str, Any] | None = None) -> str:
    """A message stored as a msgid with %(name)s placeholders and its values, translated."""
    if not params:
        return label(template)
    return gettext(template, **params)


def error_text(error: DomainError) -> str:
    """What a domain error says, in the reader's language. A value that is itself a catalogue
    msgid (a state label, a field label) is translated too."""
    params = {k: label(v) if isinstance(v, str) else v for k, v in error.params.items()}
    return message(error.template, params)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(template)  # literal, name, literal, name, …, literal
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    return re.compile(regex + r"\Z")


def stored_text(text: str | None) -> str:
    """A message a service stored as formatted Chinese, in the reader's language."""
    if not text:
        return ""
    for template in STORED_TEMPLATES:
        found = _pattern(template).match(text)
        if found:
            return gettext(template, **found.groupdict())
    return label(text)


def row_error(error: dict[str, Any]) -> Markup:
    """A bulk-import row error ({column, message, template?, params?}) in the reader's language.

    Values quoted from the file (cell text, the file's accepted words) are kept as written and
    marked translate="no"; a value named ``*_label`` is an enum label and is translated."""
    template = error.get("template")
    translated = label(template) if template else ""
    if not template or translated == template:  # the source language: the text as stored
        return Markup.escape(stored_text(error.get("message")))
    quoted = {
        name: label(value) if name.endswith("_label") else verbatim(value)
        for name, value in (error.get("params") or {}).items()
    }
    text = Markup.escape(translated)
    return text % quoted if quoted else text


def _clause_value(name: str, value: Any, mark: bool) -> Any:
    """A clause's value: ``*_label`` / ``*_labels`` are catalogue msgids, the rest is data
    (marked translate="no" on a translated page when ``mark``)."""
    english = bool(chinese_marker())
    joiner = ", " if english else "、"
    if name.endswith("_labels"):
        return joiner.join(label(v) for v in value)
    if name.endswith("_label"):
        return label(value)
    text = joiner.join(str(v) for v in value) if isinstance(value, list | tuple) else value
    return verbatim(text) if mark and isinstance(text, str) else text


def sentence(explanation: dict | None, mark: bool = True) -> str:
    """A proposal's one-line explanation in the reader's language: from its clauses (the
    matcher's) or its template (a service's) where stored, else the stored text. ``mark``
    (pages) marks quoted data translate="no"; plain text for JSON."""
    explanation = explanation or {}
    clauses = explanation.get("sentence_clauses")
    if clauses:
        english = bool(chinese_marker())
        parts = []
        for clause in clauses:
            params = {k: _clause_value(k, v, mark) for k, v in (clause.get("params") or {}).items()}
            template = Markup.escape(gettext(clause["template"])) if mark else None
            if mark:
                parts.append(template % params if params else template)
            else:
                parts.append(
                    gettext(clause["template"], **params) if params else label(clause["template"])
                )
        if english and parts and str(parts[0])[:1].islower():
            first = str(parts[0])
            parts[0] = (Markup if mark else str)(first[0].upper() + first[1:])
        glue, end = ("; ", ".") if english else ("；", "。")
        if mark:
            return Markup(glue).join(parts) + end
        return glue.join(parts) + end
    if explanation.get("sentence_template"):
        return message(explanation["sentence_template"], explanation.get("sentence_params"))
    return explanation.get("sentence") or ""


def explanation_for_reader(explanation: dict | None) -> dict:
    """A stored explanation with its sentence and labels in the reader's language (for JSON;
    pages translate in the template). Codes, numbers and the listings' own words are kept."""
    shown = dict(explanation or {})
    if not shown or not chinese_marker():
        return shown
    shown["sentence"] = sentence(shown, mark=False)
    for key in ("breakdown", "constraints"):
        if isinstance(shown.get(key), list):
            shown[key] = [
                {**row, "label": label(row.get("label"))} if isinstance(row, dict) else row
                for row in shown[key]
            ]
    if isinstance(shown.get("relevance"), dict) and shown["relevance"].get("label"):
        shown["relevance"] = {**shown["relevance"], "label": label(shown["relevance"]["label"])}
    return shown


def register(app: Flask) -> None:
    app.add_template_global(sentence, "sentence")
    app.add_template_filter(row_error, "row_error")
    app.add_template_filter(zh, "zh")
    app.add_template_filter(verbatim, "verbatim")
    app.add_template_filter(label, "label")
    app.add_template_filter(stored_text, "stored_text")
    app.add_template_global(message, "message")
