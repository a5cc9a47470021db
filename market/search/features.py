"""Fit features between one demand (场景需求) and one outcome (科技成果), and their explanation.

Everything here is a pure function over the small dataclasses below, so the matching service
can fill them from the database and tests can fill them by hand. A feature is a float in
[0, 1] or ``None`` when the facts to judge it are missing; ``combine`` skips missing features
instead of treating them as failures.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from market.search.indicators import (
    CHANGE_WORDS,
    UNIT_WORDS,
    Indicator,
    IndicatorMatch,
    match_indicators,
    parse_indicators,
    satisfaction,
)
from market.search.lexical import LexicalIndex, phrase_idf
from market.search.tokenize import STOPWORDS, jieba_words
from models.base import local_today
from models.enums import COOPERATION_MODES, MATURITY, MATURITY_ORDER, MATURITY_TRL, N_

logger = logging.getLogger(__name__)

# 粤港澳大湾区: Guangdong's nine cities plus the two special administrative regions.
GREATER_BAY_AREA = frozenset(
    ("广州", "深圳", "珠海", "佛山", "惠州", "东莞", "中山", "江门", "肇庆", "香港", "澳门")
)
USE_FIRST_MODES = frozenset(("use_first", "open_license"))
FULL_LIFE_YEARS = 5.0  # remaining patent life at which a licence is no longer cut short

# fused/semantic/lexical/ipc from `bench tune` on the dev splits only (tt-ipc, tt-csl; run with
# 100 whole-catalogue IPC candidates): hybrid + features 0.3898 / 0.4105 nDCG@10 before, 0.3978 /
# 0.4104 after. The features those
# text-only corpora never vary (maturity, region, budget, 先用后转, indicators, …) keep their
# hand-set weights. semantic is 0: the fused rank already carries the dense evidence.
DEFAULT_WEIGHTS: dict[str, float] = {
    "fused": 8.0,
    "semantic": 0.0,
    "lexical": 0.5,
    "ipc": 2.0,
    "industry": 1.0,
    "maturity": 1.5,
    "region": 0.5,
    "budget": 1.0,
    "cooperation": 0.5,
    "patent_life": 0.5,
    "use_first": 1.0,
    "indicators": 2.0,
}
FEATURE_LABELS: dict[str, str] = {
    "fused": N_("综合检索排名"),
    "semantic": N_("语义相似度"),
    "lexical": N_("关键词匹配"),
    "ipc": N_("IPC分类相符"),
    "industry": N_("行业相符"),
    "maturity": N_("成熟度"),
    "region": N_("地域"),
    "budget": N_("预算与报价"),
    "cooperation": N_("合作方式"),
    "patent_life": N_("专利有效期"),
    "use_first": N_("先用后转适用"),
    "indicators": N_("指标满足度"),
}


@dataclass(frozen=True)
class DemandFacts:
    """What matching needs to know about a 场景需求."""

    text: str
    ipc_codes: Sequence[str] = ()
    industries: Sequence[str] = ()
    required_maturity: str | None = None  # key of MATURITY
    city: str | None = None
    province: str | None = None
    budget_fen: int | None = None
    cooperation_modes: Sequence[str] = ()  # keys of COOPERATION_MODES
    status: str = "published"
    closes_on: date | None = None
    confidentiality: str = "public"
    is_sme: bool = False  # the demanding enterprise is a 中小微企业
    indicators: Sequence[Indicator] | None = None  # parsed from text when None


@dataclass(frozen=True)
class OutcomeFacts:
    """What matching needs to know about a 科技成果 (and its patent, if any)."""

    text: str
    ipc_codes: Sequence[str] = ()
    industries: Sequence[str] = ()
    maturity: str | None = None  # key of MATURITY
    trl: int | None = None
    city: str | None = None
    province: str | None = None
    asking_price_fen: int | None = None
    cooperation_modes: Sequence[str] = ()
    status: str = "published"
    confidentiality: str = "public"
    patent_status: str | None = None  # key of PATENT_STATUS; None when no patent backs it
    patent_expires_on: date | None = None
    indicators: Sequence[Indicator] | None = None


@dataclass
class FitFeatures:
    values: dict[str, float | None]
    details: dict[str, Any] = field(default_factory=dict)


# -- single features ------------------------------------------------------------------------


def _clip01(x: float | None) -> float | None:
    return None if x is None else min(1.0, max(0.0, float(x)))


@lru_cache(maxsize=8192)
def _ipc_parts(code: str) -> tuple[str, str, str]:
    code = re.sub(r"\s+", "", code).upper()
    return code[:1], code[:3], code[:4]


def ipc_compatibility(a: Iterable[str], b: Iterable[str]) -> tuple[float | None, str]:
    """1.0 shared subclass (A01B), 0.6 shared class (A01), 0.3 shared section (A), else 0."""
    pa, pb = [_ipc_parts(c) for c in a if c], [_ipc_parts(c) for c in b if c]
    if not pa or not pb:
        return None, "unknown"
    for level, score, name in ((2, 1.0, "subclass"), (1, 0.6, "class"), (0, 0.3, "section")):
        if {p[level] for p in pa} & {p[level] for p in pb}:
            return score, name
    return 0.0, "none"


def overlap(a: Iterable[str], b: Iterable[str]) -> float | None:
    """Jaccard overlap of two label sets; None when either is empty."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return None
    return len(sa & sb) / len(sa | sb)


def stage_of(maturity: str | None, trl: int | None) -> str | None:
    """Maturity stage, taken from the TRL when the stage itself is missing."""
    if maturity in MATURITY:
        return maturity
    if trl is None:
        return None
    return next((s for s, (lo, hi) in MATURITY_TRL.items() if lo <= trl <= hi), None)


def maturity_fit(required: str | None, stage: str | None) -> tuple[float | None, int | None]:
    """(score, gap): 1.0 at or above the required stage, 0.5 one stage short, 0 two short."""
    if required not in MATURITY_ORDER or stage not in MATURITY_ORDER:
        return None, None
    gap = MATURITY_ORDER[required] - MATURITY_ORDER[stage]
    return (1.0 if gap <= 0 else max(0.0, 1.0 - 0.5 * gap)), gap


REGION_SCORES = {"same_city": 1.0, "same_province": 0.8, "greater_bay_area": 0.7, "other": 0.3}


@lru_cache(maxsize=4096)
def _short_place(name: str | None) -> str:
    return re.sub(r"(特别行政区|市|省|自治区)$", "", (name or "").strip())


def region_relation(
    d_city: str | None, d_province: str | None, o_city: str | None, o_province: str | None
) -> str:
    """same_city / same_province / greater_bay_area / other / unknown."""
    dc, oc = _short_place(d_city), _short_place(o_city)
    dp, op = _short_place(d_province), _short_place(o_province)
    if dc and dc == oc:
        return "same_city"
    if dp and dp == op:
        return "same_province"
    if dc in GREATER_BAY_AREA and oc in GREATER_BAY_AREA:
        return "greater_bay_area"
    if (dc or dp) and (oc or op):
        return "other"
    return "unknown"


def budget_fit(budget_fen: int | None, price_fen: int | None) -> float | None:
    """1.0 when the asking price fits the budget, else budget/price (half the price -> 0.5)."""
    if budget_fen is None or price_fen is None or budget_fen < 0 or price_fen < 0:
        return None
    if price_fen <= budget_fen:
        return 1.0
    return budget_fen / price_fen


def cooperation_fit(demand_modes: Iterable[str], outcome_modes: Iterable[str]) -> float | None:
    known = set(COOPERATION_MODES)
    d, o = set(demand_modes) & known, set(outcome_modes) & known
    if not d or not o:
        return None
    return 1.0 if d & o else 0.0


def patent_in_force(status: str | None, expires_on: date | None, today: date) -> bool | None:
    if status is None:
        return None
    if status in ("expired", "invalidated"):
        return False
    return expires_on is None or expires_on >= today


def remaining_years(expires_on: date | None, today: date) -> float | None:
    if expires_on is None:
        return None
    return max(0.0, (expires_on - today).days / 365.25)


def patent_life_fit(status: str | None, expires_on: date | None, today: date) -> float | None:
    """0 when lapsed; granted patents score by remaining life (full at 5 years); pending 0.6."""
    in_force = patent_in_force(status, expires_on, today)
    if in_force is None:
        return None
    if not in_force:
        return 0.0
    years = remaining_years(expires_on, today)
    life = 1.0 if years is None else min(1.0, years / FULL_LIFE_YEARS)
    # A pending application may never be granted: worth less than a granted patent.
    return life * (0.6 if status == "pending" else 1.0)


def use_first_eligible(demand: DemandFacts, outcome: OutcomeFacts, today: date) -> bool:
    """先用后转: an SME may use a patent first and pay later, if the owner offers it.

    The outcome must offer 先用后转 (or open licence), be backed by a granted patent in force,
    and the demanding enterprise must be a 中小微企业.
    """
    offered = bool(USE_FIRST_MODES & set(outcome.cooperation_modes))
    granted = outcome.patent_status == "granted" and bool(
        patent_in_force(outcome.patent_status, outcome.patent_expires_on, today)
    )
    return offered and granted and demand.is_sme


# -- all features ---------------------------------------------------------------------------


def compute_features(
    demand: DemandFacts,
    outcome: OutcomeFacts,
    semantic: float | None = None,
    lexical: float | None = None,
    today: date | None = None,
) -> FitFeatures:
    """Every fit feature for one pair; ``semantic``/``lexical`` are retrieval scores in [0, 1]."""
    today = today or local_today()
    ipc, ipc_level = ipc_compatibility(demand.ipc_codes, outcome.ipc_codes)
    stage = stage_of(outcome.maturity, outcome.trl)
    maturity, gap = maturity_fit(demand.required_maturity, stage)
    region = region_relation(demand.city, demand.province, outcome.city, outcome.province)
    matches = _indicator_matches(demand, outcome)
    values = {
        "semantic": _clip01(semantic),
        "lexical": _clip01(lexical),
        "ipc": ipc,
        "industry": overlap(demand.industries, outcome.industries),
        "maturity": maturity,
        "region": REGION_SCORES.get(region),
        "budget": budget_fit(demand.budget_fen, outcome.asking_price_fen),
        "cooperation": cooperation_fit(demand.cooperation_modes, outcome.cooperation_modes),
        "patent_life": patent_life_fit(outcome.patent_status, outcome.patent_expires_on, today),
        "use_first": 1.0 if use_first_eligible(demand, outcome, today) else 0.0,
        "indicators": satisfaction(matches),
    }
    details = {
        "ipc_level": ipc_level,
        "required_stage": demand.required_maturity,
        "outcome_stage": stage,
        "maturity_gap": gap,
        "region": region,
        "budget_fen": demand.budget_fen,
        "price_fen": outcome.asking_price_fen,
        "remaining_years": remaining_years(outcome.patent_expires_on, today),
        "indicator_matches": matches,
        "hard_constraints": hard_constraints(demand, outcome, today),
    }
    return FitFeatures(values, details)


def _indicator_matches(demand: DemandFacts, outcome: OutcomeFacts) -> list[IndicatorMatch]:
    demand_inds = demand.indicators
    if demand_inds is None:
        demand_inds = [i for i in parse_indicators(demand.text) if i.name]
    if not demand_inds:
        return []  # nothing asked: the outcome's text need not be read
    outcome_side = outcome.indicators if outcome.indicators is not None else outcome.text
    return match_indicators(demand_inds, outcome_side)


HARD_CONSTRAINTS = {
    "patent_in_force": N_("专利处于有效状态"),
    "demand_open": N_("需求仍在征集期内"),
    "outcome_published": N_("成果处于发布状态"),
}


def hard_constraints(
    demand: DemandFacts, outcome: OutcomeFacts, today: date | None = None
) -> list[str]:
    """Codes (keys of HARD_CONSTRAINTS) of the constraints this pair fails; empty means fine.

    They are facts of the pair. Who may see it is not one of them (``visible_to``): a
    proposal's reasons never tell its reader that the reader may not see it."""
    today = today or local_today()
    failed = []
    if patent_in_force(outcome.patent_status, outcome.patent_expires_on, today) is False:
        failed.append("patent_in_force")
    if demand.status == "closed" or (demand.closes_on is not None and demand.closes_on < today):
        failed.append("demand_open")
    if outcome.status != "published":
        failed.append("outcome_published")
    return failed


def visible_to(demand: DemandFacts, outcome: OutcomeFacts, viewer_is_broker: bool) -> bool:
    """Whether a list for this kind of viewer may hold the pair: a 仅经纪人可见 listing is
    proposed to brokers only (its owner reads its proposals through the broker's work)."""
    hidden = "broker_only" in (demand.confidentiality, outcome.confidentiality)
    return viewer_is_broker or not hidden


def combine(
    features: FitFeatures | Mapping[str, float | None],
    weights: Mapping[str, float] | None = None,
) -> float:
    """Weighted mean of the known features, in [0, 1]; unknown ones drop out of the mean."""
    values = features.values if isinstance(features, FitFeatures) else features
    weights = DEFAULT_WEIGHTS if weights is None else weights
    known = [(weights.get(k, 0.0), v) for k, v in values.items() if v is not None]
    total = sum(w for w, _ in known)
    return sum(w * v for w, v in known) / total if total > 0 else 0.0


# -- explanation ----------------------------------------------------------------------------


def _constraint_rows(failed: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "label": label,
            "ok": code not in failed,
            "mark": "✗" if code in failed else "✓",
        }
        for code, label in HARD_CONSTRAINTS.items()
    ]


def _breakdown(values: Mapping[str, float | None], weights: Mapping[str, float]) -> list[dict]:
    known_total = sum(weights.get(k, 0.0) for k, v in values.items() if v is not None)
    rows = []
    for name, value in values.items():
        weight = weights.get(name, 0.0)
        share = weight * value / known_total if value is not None and known_total else None
        rows.append(
            {
                "feature": name,
                "label": FEATURE_LABELS.get(name, name),
                "value": None if value is None else round(value, 4),
                "weight": weight,
                "contribution": None if share is None else round(share, 4),
            }
        )
    return rows


# The proposal's sentence is stored twice: as Chinese text ("sentence", for logs and older
# readers) and as clauses ("sentence_clauses": a catalogue template and its values each), so a
# page or an API answer can give it in the reader's language (market.i18n.sentence). A value
# named ``*_label`` is a catalogue msgid, ``*_labels`` a list of them; any other value is data
# quoted as written (shared phrases and indicator rows are the listings' own words).
SHARED_PHRASES = N_("双方文本均涉及“%(phrases)s”")
NEIGHBOURS_AGREE = N_("与其最相近的%(total)s项中有%(found)s项也与之相符，所属领域一致")
INDICATORS_MET = N_("该成果的%(ours)s可满足需求中的%(theirs)s")
INDICATORS_MISSED = N_("%(ours)s未达到需求中的%(theirs)s")
MATURITY_BELOW = N_("成熟度为%(stage_label)s，低于需求的%(required_label)s要求")
MATURITY_MEETS = N_("成熟度为%(stage_label)s，满足需求的%(required_label)s要求")
PRICE_ABOVE_BUDGET = N_("报价高于需求预算")
USE_FIRST_POSSIBLE = N_("可按先用后转方式实施")
CONDITIONS_FAILED = N_("不满足：%(conditions_labels)s")
NOTHING_TO_SAY = N_("暂无足够信息说明匹配理由")
_REGION_CLAUSES = {
    "same_city": N_("双方位于同一城市"),
    "same_province": N_("双方位于同一省份"),
    "greater_bay_area": N_("双方同在粤港澳大湾区"),
}
Clause = dict[str, Any]  # {"template": msgid, "params": {name: value}}


def _clause(template: str, **params: Any) -> Clause:
    return {"template": template, "params": params}


def clause_text(clause: Clause) -> str:
    """One clause in Chinese, lists joined with "、"."""
    params = {
        k: "、".join(v) if isinstance(v, list | tuple) else v for k, v in clause["params"].items()
    }
    return clause["template"] % params if params else clause["template"]


def _indicator_clauses(matches: Sequence[IndicatorMatch]) -> list[Clause]:
    """What the outcome meets and misses, in the demand's own words: the rows its author
    entered come first (they are what was asked), then targets read from its text."""
    ordered = sorted(matches, key=lambda m: not m.demand.declared)
    met = [m for m in ordered if m.status == "met" and m.outcome is not None]
    missed = [m for m in ordered if m.status == "not_met" and m.outcome is not None]
    clauses = []
    if met:
        clauses.append(
            _clause(
                INDICATORS_MET,
                ours=[m.outcome.label for m in met],
                theirs=[m.demand.label for m in met],
            )
        )
    if missed:
        clauses.append(
            _clause(
                INDICATORS_MISSED,
                ours=[m.outcome.label for m in missed],
                theirs=[m.demand.label for m in missed],
            )
        )
    return clauses


def _maturity_clause(details: Mapping[str, Any]) -> Clause | None:
    required, stage, gap = (
        details.get("required_stage"),
        details.get("outcome_stage"),
        details.get("maturity_gap"),
    )
    if gap is None:
        return None
    template = MATURITY_BELOW if gap > 0 else MATURITY_MEETS
    return _clause(template, stage_label=MATURITY[stage], required_label=MATURITY[required])


def _neighbor_clause(
    evidence: Mapping[str, Any] | None, peers: Sequence[Mapping[str, Any]] | None = None
) -> Clause | None:
    """Said when most of the listing's nearest listings were retrieved as well, and, given the
    evidence of the other proposals in the list (``peers``), only when this one has more such
    support than the list's median: a sentence every proposal repeats tells the reader nothing.
    """
    found, total = (evidence or {}).get("neighbors_retrieved"), (evidence or {}).get("neighbors")
    if not found or not total or found * 2 < total:
        return None
    support = [p.get("neighbors_retrieved") or 0 for p in peers or ()]
    if len(support) > 1 and found <= statistics.median(support):
        return None
    return _clause(NEIGHBOURS_AGREE, total=total, found=found)


def _clauses(
    values: Mapping[str, float | None],
    details: Mapping[str, Any],
    phrases,
    evidence: Mapping[str, Any] | None = None,
    peers: Sequence[Mapping[str, Any]] | None = None,
) -> list[Clause]:
    clauses: list[Clause | None] = []
    if phrases:
        clauses.append(_clause(SHARED_PHRASES, phrases=list(phrases[:3])))
    clauses.append(_neighbor_clause(evidence, peers))
    clauses.extend(_indicator_clauses(details.get("indicator_matches", ())))
    clauses.append(_maturity_clause(details))
    region = _REGION_CLAUSES.get(details.get("region", ""))
    clauses.append(_clause(region) if region else None)
    if values.get("budget") is not None and values["budget"] < 1.0:
        clauses.append(_clause(PRICE_ABOVE_BUDGET))
    if values.get("use_first") == 1.0:
        clauses.append(_clause(USE_FIRST_POSSIBLE))
    failed = details.get("hard_constraints") or []
    if failed:
        clauses.append(
            _clause(CONDITIONS_FAILED, conditions_labels=[HARD_CONSTRAINTS[c] for c in failed])
        )
    return [c for c in clauses if c] or [_clause(NOTHING_TO_SAY)]


def sentence_text(clauses: Sequence[Clause]) -> str:
    return "；".join(clause_text(c) for c in clauses) + "。"


def explain(
    features: FitFeatures,
    matched: Sequence[str] | Mapping[str, Any] = (),
    weights: Mapping[str, float] | None = None,
    evidence: Mapping[str, Any] | None = None,
    peers: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Score breakdown, hard constraints marked ✓/✗ and one plain sentence (Chinese, and as
    translatable clauses).

    ``evidence`` is what hybrid retrieval saw (``Candidate.retrieval_evidence``); ``peers`` is
    that evidence for every proposal of the same list (this one included), so the sentence
    says only what sets this proposal apart. Without ``peers`` each proposal is judged alone.
    """
    weights = DEFAULT_WEIGHTS if weights is None else weights
    phrases = list(matched.get("phrases", ())) if isinstance(matched, Mapping) else list(matched)
    failed = features.details.get("hard_constraints") or []
    clauses = _clauses(features.values, features.details, phrases, evidence, peers)
    return {
        "score": round(combine(features, weights), 4),
        "breakdown": _breakdown(features.values, weights),
        "constraints": _constraint_rows(failed),
        "indicators": [
            {
                "demand": m.demand.label,
                "outcome": m.outcome.label if m.outcome else None,
                "status": m.status,
                "declared": m.demand.declared,
            }
            for m in features.details.get("indicator_matches", ())
        ],
        "matched_phrases": phrases,
        "sentence": sentence_text(clauses),
        "sentence_clauses": clauses,
    }


# -- shared phrases -------------------------------------------------------------------------

# A shared phrase is evidence when few listings of the catalogue carry it: its weight is its
# IDF over the catalogue's BM25 indexes, and phrases held by more than one listing in 50 are
# generic there (系统 18%, 方法 34%, 装置 21%, 温度 2.5% of the demo catalogue).
MAX_PHRASE_SHARE = 0.02
# Below this many listings document frequencies say little; jieba's IDF table (built from a
# general Chinese corpus, so on its own scale) stands in, with its own floor.
MIN_CATALOGUE = 50
MIN_GENERAL_IDF = 6.5

# What IDF cannot catch. Demands are written in a register the catalogue (patent titles and
# abstracts) never uses, so their stock words look rare there; alarm words name a function
# that monitoring products of every field share.
_EVIDENCE_STOPWORDS = frozenset(
    (
        "完成", "希望", "目标", "需求", "要求", "目前", "现有", "我们", "我司", "我厂", "公司",
        "企业", "引进", "寻求", "获得", "合作", "开展", "能够", "达到", "左右", "以上", "以下",
        "以内", "提前", "报警", "预警", "告警",
    )
)  # fmt: skip
# Units and change verbs are shared by any two texts that quote numbers: not worth a highlight.
_GENERIC_PHRASES = UNIT_WORDS | frozenset(CHANGE_WORDS) | _EVIDENCE_STOPWORDS


@lru_cache(maxsize=8192)
def _phrase_candidates(text: str) -> frozenset[str]:
    """Candidate phrases of one text; a demand's text is compared with many outcomes."""
    return frozenset(
        w
        for w in jieba_words(text)
        if len(w) >= 2 and w not in STOPWORDS and w not in _GENERIC_PHRASES and not w.isdigit()
    )


@lru_cache(maxsize=1)
def _general_idf() -> tuple[Mapping[str, float], float]:
    """jieba's IDF table (word → IDF over a general Chinese corpus) and its median.

    Read from the file directly: importing jieba.analyse loads it too but leaves it open."""
    import jieba

    table: dict[str, float] = {}
    path = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, idf = line.strip().rpartition(" ")
            if word:
                table[word] = float(idf)
    return table, statistics.median(table.values()) if table else 0.0


def phrase_weigher(catalogue: Sequence[LexicalIndex] = ()) -> Callable[[str], float | None]:
    """Phrase → weight (its IDF), or None when the phrase is too common to be evidence.

    ``catalogue`` holds the lexical indexes of the listing kinds, read together; with fewer
    than ``MIN_CATALOGUE`` listings the general-corpus IDF of jieba is used instead (a word it
    has never seen is taken as a rare technical term).
    """
    indexes = [index for index in catalogue if index is not None]
    total = sum(len(index) for index in indexes)
    if total >= MIN_CATALOGUE:
        cut = MAX_PHRASE_SHARE * total
        floor = math.log(1.0 + (total - cut + 0.5) / (cut + 0.5))  # the IDF at that share

        def weigh(phrase: str) -> float | None:
            idf = phrase_idf(indexes, phrase)
            return idf if idf >= floor else None

        return weigh
    table, unseen = _general_idf()

    def weigh_general(phrase: str) -> float | None:
        idf = table.get(phrase, unseen)
        return idf if idf >= MIN_GENERAL_IDF else None

    return weigh_general


def _spans(text: str, phrase: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(re.escape(phrase), text)]


def matched_phrases(
    demand_text: str,
    outcome_text: str,
    limit: int = 12,
    catalogue: Sequence[LexicalIndex] = (),
) -> dict[str, Any]:
    """Distinctive phrases both texts share, most distinctive first, with their spans.

    ``catalogue``: the BM25 indexes whose document frequencies weigh the phrases (see
    ``phrase_weigher``). ``weights`` maps each kept phrase to its IDF. Spans index the
    lower-cased texts, which keep the original offsets for Chinese input.
    """
    d_low, o_low = (demand_text or "").lower(), (outcome_text or "").lower()
    shared = _phrase_candidates(d_low) & _phrase_candidates(o_low)
    shared = {p for p in shared if p in d_low and p in o_low}
    # A phrase inside a longer shared phrase adds nothing to the highlight.
    maximal = [p for p in shared if not any(p != q and p in q for q in shared)]
    weigh = phrase_weigher(catalogue)
    weights = {p: w for p in maximal if (w := weigh(p)) is not None}
    ranked = sorted(weights, key=lambda p: (-round(weights[p], 6), -len(p), d_low.find(p)))
    phrases = ranked[:limit]
    return {
        "phrases": phrases,
        "weights": {p: round(weights[p], 3) for p in phrases},
        "demand_spans": sorted(s for p in phrases for s in _spans(d_low, p)),
        "outcome_spans": sorted(s for p in phrases for s in _spans(o_low, p)),
    }
