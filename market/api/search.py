"""/api/v1/search — semantic search over the vector index, keyword search when it is empty.

The answer says which was used (``method``: ``semantic`` or ``keyword``), so a client can tell
a weak semantic result from a plain substring match, and which retrievers are down and why
(``unavailable``: a damaged index file being rebuilt).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from models import Demand, Outcome, User, db

from ..queries import listings as q
from ..services import indexing
from .auth import api_user
from .common import resource_blueprint
from .demands import present, visible
from .schemas import SearchArgs, SearchOut

log = logging.getLogger(__name__)

blp = resource_blueprint("search", "/search", "语义检索（向量索引；索引为空时退回关键词检索）")
MODELS = {"demand": Demand, "outcome": Outcome}
OVERFETCH = 3  # some hits are hidden from this viewer; ask the index for more


@blp.route("")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, SearchOut)
def search(args: dict):
    """按语义检索场景需求或科技成果。"""
    user = api_user()
    kind, text, k = args["kind"], args["q"].strip(), args["k"]
    problem = indexing.index_problem(kind)
    hits = semantic(kind, text, k, user) if text else []
    method = "semantic"
    if not hits:
        hits, method = keyword(kind, text, k, user), "keyword"
    return {
        "kind": kind,
        "method": method,
        # Never silently degraded: a damaged index says so instead of answering from nothing.
        "unavailable": [{"retriever": "semantic", "reason": problem}] if problem else [],
        "items": [_hit(kind, item, score, user) for item, score in hits],
    }


def semantic(kind: str, text: str, k: int, user: User | None) -> list[tuple[object, float]]:
    try:
        scored = indexing.search(kind, text, k * OVERFETCH)
    except Exception:
        log.warning("semantic search failed; answering with keyword search", exc_info=True)
        return []
    if not scored:
        return []
    model = MODELS[kind]
    rows = db.session.scalars(select(model).where(model.id.in_([i for i, _ in scored])))
    by_id = {row.id: row for row in rows}
    found = [(by_id[i], score) for i, score in scored if i in by_id]
    return [(item, score) for item, score in found if _shown(kind, item, user)][:k]


def keyword(kind: str, text: str, k: int, user: User | None) -> list[tuple[object, None]]:
    flt = q.ListingFilter(q=text[:100], per_page=k)
    page = q.public_demands(flt, user) if kind == "demand" else q.public_outcomes(flt)
    return [(item, None) for item in page.items]


def _shown(kind: str, item, user: User | None) -> bool:
    if kind == "demand":
        return item.status == "published" and visible(item, user)
    return item.status == "published"


def _hit(kind: str, item, score: float | None, user: User | None) -> dict:
    if kind == "demand":
        return {"score": score, "demand": present(item, user), "outcome": None}
    return {"score": score, "demand": None, "outcome": item}
