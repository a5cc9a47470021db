"""Cells of the CSV and XLSX files we hand out, made safe from formula injection.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, after a
tab or carriage return, whatever follows) as a formula: a listing title such as
``=HYPERLINK("http://evil.example","点我")`` would become a live link in a broker's Excel.
Following OWASP (CSV Injection), such text is prefixed with a single quote, which spreadsheets
show as plain text. Every export writes its text cells through this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text``, quoted with a leading apostrophe when a spreadsheet would run it."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Any) -> str:
    """Any value as CSV text (CSV has no types, so numbers are text too)."""
    return neutralise("" if value is None else str(value))


def xlsx_cell(value: Any) -> Any:
    """Numbers, dates and booleans stay typed; text is neutralised (openpyxl would store
    ``=...`` as a formula)."""
    return neutralise(value) if isinstance(value, str) else value


def csv_text(rows: Iterable[Iterable[Any]], bom: bool = False, **writer_options: Any) -> str:
    """Rows as CSV text with every cell neutralised; ``bom`` lets Excel open UTF-8 Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, **writer_options)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return ("\ufeff" if bom else "") + out.getvalue()


def append_row(sheet, row: Iterable[Any]) -> None:
    """``sheet.append`` for an openpyxl worksheet, with every text cell neutralised."""
    sheet.append([xlsx_cell(value) for value in row])
