"""/api/v1/demands/<id>/bundles, /bundles/<id>, /bundles/<id>/decision — 组合方案.

Two or three outcomes of one organisation proposed together for a demand, with the coverage of
its indicators and one combined term sheet. Visibility follows the demand's proposals: the demand
must be visible to the caller (a 仅经纪人可见 demand answers 404 to others), then brokers and
admins see every bundle, the demand's owner sees its bundles, the outcomes' organisation sees
the bundles of its outcomes (on a 仅经纪人可见 demand only once a broker accepted one). Deciding
is ``bundle.review`` (brokers), with the version the caller last saw.
"""

from __future__ import annotations

import logging

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from models import Demand, MatchBundle, NotFound, User, db

from ..policy import can, require
from ..services import bundles, terms
from .auth import Unauthorized, api_user, token_user
from .common import get_or_404, paginate, resource_blueprint, write_answer
from .demands import load_visible as load_demand
from .schemas import (
    BundleDecisionIn,
    BundleDetailOut,
    BundlePage,
    BundleTermsArgs,
    PageArgs,
)

log = logging.getLogger(__name__)

blp = resource_blueprint("bundles", "", "组合方案（同一机构的2–3项成果合起来满足需求的更多指标）")
HIDDEN = "组合方案不存在或无权查看"


def viewer() -> User:
    user = api_user()
    if user is None:
        raise Unauthorized("请登录或提供 API 令牌后查看组合方案")
    return user


def visible_bundles(user: User):
    """The bundles ``user`` may see, as a select (the list form of ``bundle.view``)."""
    stmt = select(MatchBundle)
    if can(user, "match.review"):
        return stmt
    if user.organization_id is None:
        return stmt.where(MatchBundle.id.is_(None))
    demand = aliased(Demand)
    return stmt.join(demand, MatchBundle.demand_id == demand.id).where(
        or_(
            demand.organization_id == user.organization_id,
            and_(
                MatchBundle.organization_id == user.organization_id,
                or_(demand.confidentiality != "broker_only", MatchBundle.stage == "accepted"),
            ),
        )
    )


def load_visible(bundle_id: int, user: User) -> MatchBundle:
    bundle = get_or_404(MatchBundle, bundle_id, HIDDEN)
    if not can(user, "bundle.view", bundle):
        raise NotFound(HIDDEN)
    return bundle


def present(bundle: MatchBundle) -> dict:
    outcomes = {o.id: o for o in bundles.members(bundle)}
    return {
        **{name: getattr(bundle, name) for name in FIELDS},
        "demand": bundle.demand,
        "organization": bundle.organization,
        "members": [
            {"outcome": outcomes[o], "match_id": m}
            for o, m in zip(bundle.outcome_ids, bundle.match_ids, strict=True)
            if o in outcomes
        ],
        "deal_ids": [d.id for d in bundles.member_deals(bundle)]
        if bundle.stage == "accepted"
        else [],
    }


def present_terms(combined: bundles.CombinedTerms) -> dict:
    return {
        "profile_key": combined.profile_key,
        "mode": combined.mode,
        "licensors": combined.licensors,
        "rows": [
            {
                "outcome": row.outcome,
                "licensor": row.licensor,
                "stored": row.stored,
                "error": row.error,
                "violations": row.violations,
                "sheet": row.sheet.to_dict() if row.sheet is not None else None,
            }
            for row in combined.rows
        ],
        "totals": combined.totals,
        "violations": combined.violations,
        "warnings": combined.warnings,
        "valid": combined.valid,
    }


FIELDS = (
    "id",
    "indicator_count",
    "covered",
    "best_single",
    "score",
    "coverage",
    "stage",
    "stage_label",
    "rejection_reason",
    "comment",
    "decided_at",
    "version_id",
    "created_at",
)


@blp.route("/demands/<int:demand_id>/bundles")
@blp.arguments(PageArgs, location="query")
@blp.response(200, BundlePage)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def list_bundles(args: dict, demand_id: int):
    """一条需求的组合方案（与该需求的推荐同样的可见范围），按覆盖指标数和相关概率排序。"""
    user = viewer()
    demand = load_demand(demand_id, user)
    stmt = (
        visible_bundles(user)
        .where(MatchBundle.demand_id == demand.id)
        .order_by(MatchBundle.covered.desc(), MatchBundle.score.desc(), MatchBundle.id)
    )
    page = paginate(stmt, args["page"], args["per_page"])
    page["items"] = [present(b) for b in page["items"]]
    return page


@blp.route("/bundles/<int:bundle_id>")
@blp.arguments(BundleTermsArgs, location="query")
@blp.response(200, BundleDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_bundle(args: dict, bundle_id: int):
    """一个组合方案：成员、逐项指标覆盖和组合条款（可选 profile 政策档案、mode 交易方式）。"""
    bundle = load_visible(bundle_id, viewer())
    profile = args.get("profile") if args.get("profile") in dict(terms.profile_choices()) else None
    combined = bundles.combined_terms(bundle, profile, args.get("mode") or "use_first")
    return {**present(bundle), "terms": present_terms(combined)}


@blp.route("/bundles/<int:bundle_id>/decision", methods=["POST"])
@blp.arguments(BundleDecisionIn)
@blp.response(200, BundleDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def decide(data: dict, bundle_id: int):
    """接受或拒绝组合方案（经纪人，需 API 令牌；拒绝须给出原因代码，回传 version）。"""
    user = token_user()
    bundle = load_visible(bundle_id, user)
    require(user, "bundle.review", bundle)
    bundles.decide(
        bundle,
        user,
        data["decision"],
        data.get("reason"),
        data.get("comment") or "",
        data.get("version"),
    )
    db.session.flush()
    answer = {**present(bundle), "terms": present_terms(bundles.combined_terms(bundle))}
    return write_answer(BundleDetailOut(), answer)
