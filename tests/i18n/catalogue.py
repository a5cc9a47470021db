"""Shared helpers for the translation tests: where the catalogue lives and how it is extracted."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("en",)
# Keep in step with the Makefile target `translations-extract`.
EXTRACT_KEYWORDS = ("lazy_gettext", "_l")

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%%")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def mo_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def msgid_text(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def placeholders(text: str) -> list[str]:
    return sorted(m.group(1) or "%%" for m in PLACEHOLDER.finditer(text))
