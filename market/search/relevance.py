"""Relevance first: a calibrated probability that a broker would accept a retrieved pair.

The retrievers' raw evidence for one candidate (its cosine with the query, its neighbourhood's,
its BM25 score against the query's best, the ranks it reached, its IPC similarity) and the
query's own traits (length, how clear its IPC subclass is) go into a logistic model, so the
ranking learns when each signal is trustworthy: BM25 for a keyword list, the encoder for a
need written in sentences. A second, one-feature logistic fit (Platt scaling) on realistic
enterprise demands turns the model's logit into a probability, shown in three bands:

- ``strong``   强匹配   — a broker would most likely take the introduction;
- ``possible`` 可能相关 — worth a look;
- ``weak``     不建议   — topically weak; never proposed to brokers.

The fit features (region, budget, maturity, …) only re-order candidates whose probabilities
are close (``FIT_TIE``); they never lift a weak candidate above a relevant one.

Models are plain JSON (coefficients, standardisation, calibration, band edges, what data they
saw), one per embedding model, written by ``flask --app market bench relevance --write`` from
the dev judgments and read here with numpy alone.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).with_name("relevance_models")
FEATURES = (
    "cosine",
    "cosine_gap",
    "expanded",
    "bm25_ratio",
    "dense_rank",
    "lexical_rank",
    "fused_rank",
    "ipc",
    "query_length",
    "channel",
    "enumeration",  # 、/；-separated terms per 10 characters: a keyword list or a definition
    "prose",  # ，/。 per 10 characters: a need written in sentences
    "fused_rr",  # 20 / (rank + 20) of the three ranks: the top of each list counts most
    "dense_rr",
    "lexical_rr",
)
# The query's form decides which evidence to trust: each signal also enters multiplied by it.
# Left out on purpose: the neighbour support fraction and BM25's raw log rank depend on the
# catalogue's size (in a 450-listing catalogue most neighbours are in the pool), so a model fit
# on 10k-listing catalogues misread them on small ones (nDCG@10 0.264 vs 0.292 on the 450-listing
# test sample, and −0.006 / +0.007 / +0.010 on the dev splits with them).
INTERACTIONS = (
    ("bm25_ratio", "query_length"),
    ("cosine", "query_length"),
    ("lexical_rank", "query_length"),
    ("dense_rank", "query_length"),
    *(
        (signal, form)
        for form in ("enumeration", "prose")
        for signal in ("fused_rr", "cosine", "bm25_ratio", "expanded", "dense_rr", "lexical_rr")
    ),
    ("fused_rr", "query_length"),
    ("expanded", "query_length"),
    ("ipc", "channel"),
    ("fused_rr", "channel"),
)
BANDS = ("strong", "possible", "weak")
BAND_LABELS = {"strong": "强匹配", "possible": "可能相关", "weak": "不建议"}
# Two candidates whose probabilities differ by less than this may swap on fit (region, budget…).
FIT_TIE = 0.1


def query_form(text: str) -> dict[str, float]:
    """How a query is written: a list of terms, or sentences (per 10 characters)."""
    per = max(1, len(text)) / 10
    return {
        "enumeration": sum(text.count(c) for c in "、;；") / per,
        "prose": sum(text.count(c) for c in "，。,") / per,
    }


def _derived(signals: dict[str, float]) -> dict[str, float]:
    out = dict(signals)
    for name in ("fused", "dense", "lexical"):
        rank = math.expm1(float(signals.get(f"{name}_rank", 0.0)))
        out[f"{name}_rr"] = 20.0 / (rank + 20.0)
    return out


def design_row(signals: dict[str, float]) -> list[float]:
    """One candidate's model inputs: the signals, then their products with the query's form."""
    s = _derived(signals)
    base = [float(s.get(name, 0.0)) for name in FEATURES]
    inter = [float(s.get(a, 0.0)) * float(s.get(b, 0.0)) for a, b in INTERACTIONS]
    return base + inter


def design(rows: Sequence[dict[str, float]]) -> np.ndarray:
    width = len(FEATURES) + len(INTERACTIONS)
    if not rows:
        return np.zeros((0, width))
    return np.asarray([design_row(r) for r in rows], dtype=np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


@dataclass
class RelevanceModel:
    """Standardised logistic ranking model + Platt calibration + band edges."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    calibration: tuple[float, float] = (1.0, 0.0)
    bands: dict[str, float] = field(default_factory=lambda: {"strong": 0.5, "possible": 0.2})
    embedder: str = "offline-e5"
    about: dict = field(default_factory=dict)

    def logits(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        a, c = self.calibration
        return _sigmoid(a * self.logits(x) + c)

    def band(self, p: float) -> str:
        if p >= self.bands["strong"]:
            return "strong"
        return "possible" if p >= self.bands["possible"] else "weak"

    def to_json(self) -> dict:
        return {
            "features": list(FEATURES),
            "interactions": [list(pair) for pair in INTERACTIONS],
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
            "calibration": list(self.calibration),
            "bands": self.bands,
            "embedder": self.embedder,
            "about": self.about,
        }

    @classmethod
    def from_json(cls, data: dict) -> RelevanceModel:
        expected = [list(FEATURES), [list(p) for p in INTERACTIONS]]
        if [data["features"], data["interactions"]] != expected:
            raise ValueError("the relevance model was fit on other features; refit it")
        return cls(
            mean=data["mean"],
            scale=data["scale"],
            coef=data["coef"],
            intercept=data["intercept"],
            calibration=tuple(data["calibration"]),
            bands=data["bands"],
            embedder=data["embedder"],
            about=data.get("about", {}),
        )


def model_path(embedder_name: str, folder: Path = MODEL_DIR) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder_name)
    return Path(folder) / f"{safe}.json"


@lru_cache(maxsize=8)
def load_model(embedder_name: str, folder: Path = MODEL_DIR) -> RelevanceModel | None:
    """The model fit for this embedder's vectors, or None: cosines of another model mean
    other things, so a missing model is never borrowed (the matcher then ranks as before)."""
    path = model_path(embedder_name, folder)
    if not path.is_file():
        log.info("no relevance model for %s in %s", embedder_name, folder)
        return None
    return RelevanceModel.from_json(json.loads(path.read_text(encoding="utf-8")))


def save_model(model: RelevanceModel, path: Path | None = None) -> Path:
    path = path or model_path(model.embedder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(model.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    load_model.cache_clear()
    return path


# ------------------------------------------------------------------------------ fitting


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression with soft labels and an L2 penalty (L-BFGS)."""
    from scipy.optimize import minimize

    n, d = x.shape
    w = w / w.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, b = theta[:d], theta[d]
        z = x @ beta + b
        p = _sigmoid(z)
        eps = 1e-12
        value = -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        value += 0.5 * l2 * beta @ beta
        g = w * (p - y)
        return value, np.concatenate([x.T @ g + l2 * beta, [g.sum()]])

    result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B")
    return result.x[:d], float(result.x[d])


def fit_ranker(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = 1e-3
) -> tuple[list[float], list[float], list[float], float]:
    """Standardise, then fit: (mean, scale, coef, intercept)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    coef, intercept = _fit_logistic((x - mean) / scale, y, w, l2)
    return mean.tolist(), scale.tolist(), coef.tolist(), intercept


def fit_calibration(logits: np.ndarray, accepted: np.ndarray) -> tuple[float, float]:
    """Platt scaling: P(accept) = sigmoid(a · logit + c), fit on held-out logits."""
    coef, intercept = _fit_logistic(
        logits.reshape(-1, 1), accepted.astype(float), np.ones(len(logits)), 1e-6
    )
    return float(coef[0]), intercept


def reliability(p: np.ndarray, accepted: np.ndarray, bins: int = 10) -> list[dict]:
    """Reliability diagram rows: per bin of predicted P, the mean prediction and observed rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (p >= low) & ((p < high) if high < 1.0 else (p <= high))
        if inside.any():
            rows.append(
                {
                    "bin": f"{low:.1f}–{high:.1f}",
                    "pairs": int(inside.sum()),
                    "predicted": round(float(p[inside].mean()), 3),
                    "observed": round(float(accepted[inside].mean()), 3),
                }
            )
    return rows


def brier(p: np.ndarray, accepted: np.ndarray) -> float:
    return float(np.mean((p - accepted) ** 2))


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def order_key(p: float, fit: float) -> float:
    """The ranking key: relevance, with fit allowed to swap only close neighbours."""
    return p + FIT_TIE * (fit - 0.5)


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
