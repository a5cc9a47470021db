"""建议分类: IPC subclasses and GB/T 4754 industries suggested for a text while it is written."""

from __future__ import annotations

import logging
import re
import threading

from sqlalchemy import func, select

from market.search.industry_suggest import IndustrySuggester
from models import Industry, db

from . import indexing

log = logging.getLogger(__name__)

MIN_CHARACTERS = 4  # fewer Chinese characters than this say too little to classify
MAX_TEXT = 2000  # the start of a long description classifies it as well as the whole

_lock = threading.Lock()
_industries: tuple[int, IndustrySuggester] | None = None


def _industry_suggester() -> IndustrySuggester:
    """Built once per process from the seeded taxonomy (about 1,400 classes, well under 1 s);
    rebuilt if the table's size changes."""
    global _industries
    count = db.session.scalar(select(func.count()).select_from(Industry)) or 0
    with _lock:
        if _industries is None or _industries[0] != count:
            rows = db.session.execute(
                select(
                    Industry.code, Industry.level, Industry.parent, Industry.name, Industry.remark
                )
            ).mappings()
            _industries = (count, IndustrySuggester.from_rows(rows))
        return _industries[1]


def suggest_industries(text: str, k: int = 3) -> list[dict]:
    return [
        {"code": s.code, "name": s.name, "score": round(s.score, 3)}
        for s in _industry_suggester().suggest(text, k)
    ]


def suggest_codes(text: str, k: int = 3) -> dict[str, list[dict]]:
    """The top ``k`` IPC subclasses and GB/T 4754 classes for ``text``, with Chinese names."""
    text = (text or "")[:MAX_TEXT]
    if len(re.findall(r"[\u4e00-\u9fff]", text)) < MIN_CHARACTERS:
        return {"ipc": [], "industries": []}
    return {"ipc": indexing.suggest_ipc(text, k), "industries": suggest_industries(text, k)}
