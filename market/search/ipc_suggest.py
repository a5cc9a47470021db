"""Suggest IPC subclasses (e.g. B64C) for any Chinese text.

Each subclass becomes one BM25 document: its title, its notes and (optionally) the titles of
its main groups, read from the CNIPA Chinese IPC table (``ipc_zh_2026_01.tsv``: code, level,
parent, title_zh, notes_zh). Cross-references such as "（…入A01C5/00）" point *away* from the
subclass, so they and bare codes are stripped before indexing.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class IpcProfile:
    """Where a text sits in the IPC: weights over its best-matching subclasses, unit length.

    ``weights`` keeps the top subclasses of the suggester's BM25 scores, each mapped to
    ``exp(temperature * score / best)`` so the leaders dominate, then scaled to unit length;
    two profiles compare by cosine (``similarity``). ``confidence`` is best / runner-up score:
    near 1 when the text could belong to many subclasses (a list of keywords), 2 or more when
    one subclass clearly fits (a need phrased like an IPC definition). Declared codes are
    certain (``from_codes``).
    """

    weights: Mapping[str, float] = field(default_factory=dict)
    confidence: float = 1.0

    @classmethod
    def from_scores(
        cls, scored: Iterable[tuple[str, float]], top: int = 30, temperature: float = 5.0
    ) -> IpcProfile:
        best = sorted(((str(c), float(s)) for c, s in scored if s > 0), key=lambda x: -x[1])[:top]
        if not best:
            return cls()
        lead = best[0][1]
        raw = {code: math.exp(temperature * score / lead) for code, score in best}
        runner_up = best[1][1] if len(best) > 1 else 0.0
        confidence = lead / runner_up if runner_up > 0 else DECLARED_CONFIDENCE
        return cls(_unit(raw), round(confidence, 4))

    @classmethod
    def from_codes(cls, codes: Iterable[str]) -> IpcProfile:
        """Declared codes, each subclass weighing the same; they take precedence over text."""
        subclasses = {re.sub(r"\s+", "", c).upper()[:4] for c in codes if c and c.strip()}
        if not subclasses:
            return cls()
        return cls(_unit(dict.fromkeys(sorted(subclasses), 1.0)), DECLARED_CONFIDENCE)

    @classmethod
    def from_json(cls, payload: Mapping | None) -> IpcProfile:
        if not payload:
            return cls()
        # Read on every match for up to 200 candidates: the stored dict is used as it is.
        return cls(payload.get("weights") or {}, float(payload.get("confidence", 1.0)))

    def to_json(self) -> dict:
        return {
            "weights": {c: round(w, 5) for c, w in self.weights.items()},
            "confidence": self.confidence,
        }

    def __bool__(self) -> bool:
        return bool(self.weights)

    def similarity(self, other: IpcProfile) -> float:
        """Cosine of two profiles (both unit length): 1 same subclasses, 0 nothing shared."""
        small, large = sorted((self.weights, other.weights), key=len)
        return sum(w * large[c] for c, w in small.items() if c in large)


# A declared code is as certain as classification gets; also used for a single-subclass text.
DECLARED_CONFIDENCE = 10.0


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {c: w / norm for c, w in weights.items()} if norm > 0 else {}


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

    def profile(self, text: str, top: int = 30, temperature: float = 5.0) -> IpcProfile:
        """The text's ``IpcProfile`` over its ``top`` best subclasses."""
        scores = self._index.score_all(text)
        if scores is None:
            return IpcProfile()
        return IpcProfile.from_scores(
            zip(self._index.ids, scores.tolist(), strict=True), top, temperature
        )

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
