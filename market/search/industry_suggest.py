"""Suggest GB/T 4754-2017 national industries (国民经济行业分类) for a Chinese text.

Each 小类 (four-digit class) is one BM25 document: its name, its explanatory note and the
names of the 大类 and 中类 above it, so "锂电池热失控预警" finds 3841 锂离子电池制造 through
the words the standard itself uses. Built from the taxonomy rows already in the database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from market.search.lexical import LexicalIndex

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndustrySuggestion:
    code: str
    name: str
    score: float


class IndustrySuggester:
    """BM25 over the four-digit classes of GB/T 4754."""

    def __init__(self, names: Mapping[str, str], index: LexicalIndex) -> None:
        self.names = dict(names)
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping]) -> IndustrySuggester:
        """``rows``: dicts with code, level, parent, name and remark (the ``industry`` table)."""
        rows = list(rows)
        by_code = {r["code"]: r for r in rows}
        names = {r["code"]: r["name"] for r in rows}
        codes, docs = [], []
        for row in rows:
            if row["level"] != 4:
                continue
            above, parent = [], row.get("parent")
            while parent and parent in by_code and len(above) < 3:
                above.append(by_code[parent]["name"])
                parent = by_code[parent].get("parent")
            codes.append(row["code"])
            # The class name counts twice: it is the best short description of the class.
            docs.append("。".join([row["name"], row["name"], *above, row.get("remark") or ""]))
        # Character bigrams: single characters (经, 济) pulled hotels into a wind-farm demand.
        return cls(names, LexicalIndex("bigram").build(codes, docs))

    def suggest(self, text: str, k: int = 3) -> list[IndustrySuggestion]:
        if not text or not text.strip() or not len(self.index):
            return []
        return [
            IndustrySuggestion(str(code), self.names.get(str(code), ""), float(score))
            for code, score in self.index.search(text, k)
        ]
