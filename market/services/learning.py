"""Re-weighting from broker decisions: accepted/rejected proposals are labelled examples.

Each decision stores the fit features as they were when the broker decided. A logistic
regression over those features gives one coefficient per feature; positive coefficients,
rescaled to the size of the current weights, become the new weights (a feature the brokers'
choices do not reward gets weight 0 rather than a negative pull).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from sqlalchemy import select

from market.search.features import DEFAULT_WEIGHTS
from models import Match, ValidationError, db
from models.enums import N_

log = logging.getLogger(__name__)

MIN_DECISIONS = 20


def decisions() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Feature matrix (missing features as 0.5: unknown) and labels (1 = accepted)."""
    rows = db.session.scalars(
        select(Match).where(
            Match.stage.in_(("accepted", "rejected")), Match.decision_features.is_not(None)
        )
    ).all()
    names = sorted(DEFAULT_WEIGHTS)
    x = np.array(
        [[_value(m.decision_features.get(n)) for n in names] for m in rows], dtype=np.float64
    ).reshape(len(rows), len(names))
    y = np.array([1 if m.stage == "accepted" else 0 for m in rows], dtype=np.int64)
    return names, x, y


def _value(v) -> float:
    return 0.5 if v is None else float(v)


def fit_weights(current: dict[str, float] | None = None) -> dict:
    """Weights fitted to broker decisions, with the evidence behind them."""
    from sklearn.linear_model import LogisticRegression

    current = current or DEFAULT_WEIGHTS
    names, x, y = decisions()
    if len(y) < MIN_DECISIONS or len(set(y.tolist())) < 2:
        raise ValidationError(
            N_(
                "经纪人决策样本不足：需要至少%(min_decisions)s条且同时包含接受与拒绝（现有%(value)s条）"
            ),
            "decisions",
            min_decisions=MIN_DECISIONS,
            value=len(y),
        )
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    coef = np.clip(model.coef_[0], 0.0, None)
    scale = sum(current.values()) / coef.sum() if coef.sum() > 0 else 0.0
    weights = {n: round(float(c * scale), 4) for n, c in zip(names, coef, strict=True)}
    accuracy = float(model.score(x, y))
    return {
        "weights": weights,
        "decisions": int(len(y)),
        "accepted": int(y.sum()),
        "train_accuracy": round(accuracy, 4),
    }


def save_weights(instance_path: str, weights: dict[str, float]) -> Path:
    """Write learned weights where ``create_app`` picks them up (instance/match_weights.json)."""
    target = Path(instance_path) / "match_weights.json"
    target.write_text(json.dumps(weights, indent=1), encoding="utf-8")
    return target
