"""Suggest IPC subclasses (e.g. B64C) for any Chinese text.

Each subclass becomes one BM25 document: its title, its notes and (optionally) the titles of
its main groups, read from the CNIPA Chinese IPC table (``ipc_zh_2026_01.tsv``: code, level,
parent, title_zh, notes_zh). Cross-references such as "（…入A01C5/00）" point *away* from the
subclass, so they and bare codes are stripped before indexing.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from market.search.lexical import LexicalIndex

logger = logging.getLogger(__name__)

DEFAULT_TSV_NAME = "ipc_zh_2026_01.tsv"

_CODE_RE = re.compile(r"[A-H]\d{2}[A-Z]?\s*(?:\d+/\d+)?|\d+/\d+|〔\d+〕|\[\d+\]")
_CROSS_REF_RE = re.compile(r"[（(][^（）()]*?(?:入|见|参见)[^（）()]*?[）)]")


@dataclass(frozen=True)
class IpcSuggestion:
    code: str
    title: str
    score: float


@dataclass
class _Subclass:
    code: str
    title: str
    notes: str = ""
    groups: str = ""
    subgroups: str = ""


def clean_ipc_text(text: str) -> str:
    """Drop cross-references, codes and note boiler-plate; keep the words that describe."""
    text = (text or "").replace("\\n", "\n")
    text = _CROSS_REF_RE.sub("", text)
    text = _CODE_RE.sub(" ", text)
    return re.sub(r"附注|小类索引|本小类包含|本小类不包含", " ", text)


def read_subclasses(path: str | os.PathLike) -> dict[str, _Subclass]:
    """Subclasses of the Chinese IPC table, with their main-group titles gathered."""
    subclasses: dict[str, _Subclass] = {}
    groups: dict[str, list[str]] = {}
    subgroups: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            level, code = row.get("level"), (row.get("code") or "").strip()
            if level == "subclass":
                subclasses[code] = _Subclass(code, row["title_zh"], row.get("notes_zh") or "")
            elif level == "main_group":
                groups.setdefault(code[:4], []).append(row["title_zh"])
            elif level == "subgroup":
                subgroups.setdefault(code[:4], []).append(row["title_zh"])
    for code, sub in subclasses.items():
        sub.groups = "；".join(groups.get(code, ()))
        sub.subgroups = "；".join(subgroups.get(code, ()))
    logger.info("read %d IPC subclasses from %s", len(subclasses), path)
    return subclasses


class IpcSuggester:
    """BM25 over subclass descriptions; ``suggest(text, k)`` returns the best subclasses."""

    def __init__(self, subclasses: dict[str, _Subclass], index: LexicalIndex) -> None:
        self._subclasses = subclasses
        self._index = index

    @classmethod
    def from_tsv(
        cls,
        path: str | os.PathLike,
        tokenizer: str = "unibigram",
        include_notes: bool = True,
        include_main_groups: bool = True,
        include_subgroups: bool = True,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> IpcSuggester:
        subclasses = read_subclasses(path)
        codes = sorted(subclasses)
        docs = [
            _document(subclasses[c], include_notes, include_main_groups, include_subgroups)
            for c in codes
        ]
        index = LexicalIndex(tokenizer, k1=k1, b=b).build(codes, docs)
        return cls(subclasses, index)

    def title(self, code: str) -> str:
        return clean_ipc_text(self._subclasses[code].title).strip() if code in self else ""

    def __contains__(self, code: str) -> bool:
        return code in self._subclasses

    def suggest(self, text: str, k: int = 5) -> list[IpcSuggestion]:
        return [
            IpcSuggestion(str(code), self.title(str(code)), score)
            for code, score in self._index.search(text, k)
        ]


def _document(
    sub: _Subclass, include_notes: bool, include_main_groups: bool, include_subgroups: bool
) -> str:
    # The title is repeated so it outweighs long group lists in BM25's term frequencies.
    parts = [sub.title, sub.title]
    if include_notes:
        parts.append(sub.notes)
    if include_main_groups:
        parts.append(sub.groups)
    if include_subgroups:
        parts.append(sub.subgroups)
    return clean_ipc_text("；".join(parts))


def default_tsv_path() -> Path:
    """seed_data/ipc_zh_2026_01.tsv in the repository."""
    return Path(__file__).resolve().parents[2] / "seed_data" / DEFAULT_TSV_NAME


def true_subclasses(qrels: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    """Invert subclass -> patent qrels (grade 2 = the patent carries that subclass)."""
    labels: dict[str, set[str]] = {}
    for subclass, judged in qrels.items():
        for doc_id, grade in judged.items():
            if grade == 2:
                labels.setdefault(doc_id, set()).add(subclass)
    return labels


def evaluate_suggester(suggester: IpcSuggester, data, ks: Iterable[int] = (1, 5)) -> dict:
    """accuracy@k: share of labelled patents whose true subclass is among the top k."""
    ks = sorted(ks)
    labels = true_subclasses(data.qrels)
    hits = dict.fromkeys(ks, 0)
    for doc_id, truth in labels.items():
        suggested = [s.code for s in suggester.suggest(data.doc_text(doc_id), max(ks))]
        for k in ks:
            hits[k] += bool(truth.intersection(suggested[:k]))
    n = len(labels)
    result: dict = {f"accuracy@{k}": (hits[k] / n if n else 0.0) for k in ks}
    result["patents"] = n
    return result
