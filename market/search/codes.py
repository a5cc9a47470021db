"""Classification codes as people type them: IPC (H01M 10/48) and GB/T 4754 industries (C3825).

Pure string work; whether a code exists is the database's to say (``services.listings``).
"""

from __future__ import annotations

import re
import unicodedata

# "H01M", "H01M 10/48", "H01M10/48", "H01M-10/48", "h01m 10 / 48"; an edition in brackets
# ("H01M 10/48 (2006.01)") is dropped.
_IPC_RE = re.compile(r"([A-H])\s*(\d{2})\s*([A-Z])(?:[\s-]*(\d{1,4})\s*/\s*(\d{1,6}))?")
# WIPO's fixed-width form: subclass, 4-digit main group, 6-digit subgroup (H01M0010480000).
_IPC_FIXED_RE = re.compile(r"([A-H]\d{2}[A-Z])(\d{4})(\d{6})")
_EDITION_RE = re.compile(r"[(\[]\s*\d{4}\s*\.\s*\d{2}\s*[)\]]$")
# An industry code written with its section letter (C3825) or spaced out (38 25).
_INDUSTRY_RE = re.compile(r"([A-T])?(\d{2,4})")


def fold(text: str | None) -> str:
    """Full-width characters to ASCII (ＨＯ１Ｍ → H01M, ／ → /), upper case, trimmed."""
    return unicodedata.normalize("NFKC", text or "").upper().strip()


def normalize_ipc(raw: str | None) -> str | None:
    """The stored spelling of an IPC code ("H01M10/48", "H01M"), or None when it is not one."""
    text = _EDITION_RE.sub("", fold(raw)).strip()
    fixed = _IPC_FIXED_RE.fullmatch(text.replace(" ", ""))
    if fixed:
        subgroup = fixed[3].rstrip("0").ljust(2, "0")
        return f"{fixed[1]}{int(fixed[2])}/{subgroup}"
    found = _IPC_RE.fullmatch(text)
    if found is None:
        return None
    subclass = f"{found[1]}{found[2]}{found[3]}"
    if found[4] is None:
        return subclass
    return f"{subclass}{int(found[4])}/{found[5]}"


def split_codes(text: str | None) -> list[str]:
    """Codes typed in one box: separated by ；;，,、 or new lines; "G06T B64C" splits on the
    space too, "H01M 10/48" does not."""
    parts = re.split(r"[;,、\n]+", fold(text))
    codes: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        words = part.split()
        if len(words) > 1 and all(re.fullmatch(r"[A-H]\d{2}[A-Z]", w) for w in words):
            codes.extend(words)
        else:
            codes.append(part)
    return codes


def normalize_industry(raw: str | None) -> str | None:
    """The stored spelling of a GB/T 4754 code: digits only ("C3825" → "3825"), a section
    letter alone ("C") as it is; None when it is neither."""
    text = re.sub(r"\s+", "", fold(raw))
    if re.fullmatch(r"[A-T]", text):
        return text
    found = _INDUSTRY_RE.fullmatch(text)
    return found[2] if found else None
