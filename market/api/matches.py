"""/api/v1/matches — machine proposals: list, read with the explanation, accept or reject, and
a party's request that a broker make the introduction (请经纪人牵线对接).

Visibility follows the policy ``match.view``: brokers and admins see every proposal, the two
organisations of a pair see theirs, anonymous callers see none. Deciding is ``match.review``
(brokers only), with the version the caller last saw, so two brokers never both win.
"""

from __future__ import annotations

import logging

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased, joinedload

from models import Demand, Match, NotFound, Outcome, User, db
from models.enums import N_

from ..policy import can, require
from ..services import deals, introductions
from .auth import Unauthorized, api_user, token_user
from .common import get_or_404, idempotent, paginate, resource_blueprint, write_answer
from .schemas import (
    INTRO_STATE_CHOICES,
    AcceptIn,
    DealDetailOut,
    IntroIn,
    IntroOut,
    MatchArgs,
    MatchDetailOut,
    MatchPage,
    RejectIn,
)

log = logging.getLogger(__name__)

blp = resource_blueprint("matches", "/matches", "匹配推荐（经纪人审核：接受 / 拒绝）")
HIDDEN = N_("推荐不存在或无权查看")


def viewer() -> User:
    user = api_user()
    if user is None:
        raise Unauthorized(N_("请登录或提供 API 令牌后查看推荐"))
    return user


def visible_matches(user: User):
    """The proposals ``user`` may see, as a select (the list form of ``match.view``)."""
    stmt = select(Match).options(joinedload(Match.demand), joinedload(Match.outcome))
    if can(user, "match.review"):
        return stmt
    if user.organization_id is None:
        return stmt.where(Match.id.is_(None))
    demand, outcome = aliased(Demand), aliased(Outcome)
    return (
        stmt.join(demand, Match.demand_id == demand.id)
        .join(outcome, Match.outcome_id == outcome.id)
        .where(
            or_(
                demand.organization_id == user.organization_id,
                and_(
                    outcome.organization_id == user.organization_id,
                    # a 仅经纪人可见 demand reaches the outcome's side only once accepted
                    or_(demand.confidentiality != "broker_only", Match.stage == "accepted"),
                ),
            )
        )
    )


def load_visible(match_id: int, user: User | None) -> Match:
    match = get_or_404(Match, match_id, HIDDEN)
    if not can(user, "match.view", match):
        raise NotFound(HIDDEN)
    return match


@blp.route("")
@blp.arguments(MatchArgs, location="query")
@blp.response(200, MatchPage)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_matches(args: dict):
    """可见的推荐（经纪人：全部；机构用户：本机构参与的），可按需求、成果、状态筛选。"""
    stmt = visible_matches(viewer())
    if args.get("demand_id"):
        stmt = stmt.where(Match.demand_id == args["demand_id"])
    if args.get("outcome_id"):
        stmt = stmt.where(Match.outcome_id == args["outcome_id"])
    if args.get("stage"):
        stmt = stmt.where(Match.stage == args["stage"])
    stmt = stmt.order_by(Match.score.desc(), Match.id)
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/<int:match_id>")
@blp.response(200, MatchDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_match(match_id: int):
    """一条推荐及其解释（评分构成、约束、指标对照、匹配短语）。"""
    return load_visible(match_id, viewer())


@blp.route("/<int:match_id>/accept", methods=["POST"])
@blp.arguments(AcceptIn)
@blp.response(201, DealDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@idempotent
def accept_match(data: dict, match_id: int):
    """接受推荐，生成项目（经纪人，需 API 令牌；回传 version，已被他人处理时返回 409）。"""
    user = token_user()
    match = load_visible(match_id, user)
    require(user, "match.review", match)
    deal = deals.accept_match(match, user, data.get("version"), data.get("comment") or "")
    db.session.flush()
    return write_answer(DealDetailOut(), present_deal(deal), 201)


@blp.route("/<int:match_id>/reject", methods=["POST"])
@blp.arguments(RejectIn)
@blp.response(200, MatchDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def reject_match(data: dict, match_id: int):
    """拒绝推荐并记录原因代码与说明（经纪人，需 API 令牌）。"""
    user = token_user()
    match = load_visible(match_id, user)
    require(user, "match.review", match)
    deals.reject_match(match, user, data["reason"], data.get("comment") or "", data.get("version"))
    db.session.flush()
    return write_answer(MatchDetailOut(), match)


@blp.route("/<int:match_id>/introduction")
@blp.response(200, IntroOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_introduction(match_id: int):
    """牵线请求的状态：谁、何时请求，经纪人的答复（state 为 none 表示尚未请求）。"""
    user = viewer()
    match = load_visible(match_id, user)
    return present_intro(match, introductions.intro_of(match), user)


@blp.route("/<int:match_id>/introduction", methods=["POST"])
@blp.arguments(IntroIn)
@blp.response(201, IntroOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def request_introduction(data: dict, match_id: int):
    """请经纪人为双方牵线（推荐的当事方，需 API 令牌；待答复时再次请求返回 409）。"""
    user = token_user()
    match = load_visible(match_id, user)
    intro = introductions.request_introduction(match, user, data.get("message") or "")
    db.session.flush()
    return write_answer(IntroOut(), present_intro(match, intro, user), 201)


def present_intro(match: Match, intro, user: User) -> dict:
    """The request as ``user`` may see it: a 脱敏 demand's poster is not named to the other side."""
    may_request = introductions.may_request(user, match, intro)
    if intro is None:
        state = "none"
        return {
            "match_id": match.id,
            "state": state,
            "state_label": INTRO_STATE_CHOICES[state],
            "may_request": may_request,
        }
    named = introductions.may_see_requester(user, intro)
    return {
        "match_id": match.id,
        "state": intro.state,
        "state_label": INTRO_STATE_CHOICES[intro.state],
        "organization": intro.organization.name if named else None,
        "requested_by": intro.requester.name if named else None,
        "requested_at": intro.requested_at,
        "message": intro.message,
        "answered_by": intro.answerer.name if intro.answerer else None,
        "answered_at": intro.answered_at,
        "answer_note": intro.answer_note,
        "may_request": may_request,
    }


def present_deal(deal) -> dict:
    """A deal with its proposal, history and the moves a broker may make next."""
    return {
        **{name: getattr(deal, name) for name in DEAL_FIELDS},
        "match": deal.match,
        "events": list(deal.events),
        "allowed_moves": deals.allowed_moves(deal),
    }


DEAL_FIELDS = (
    "id",
    "match_id",
    "stage",
    "stage_label",
    "broker_id",
    "term_sheet_id",
    "price_fen",
    "lost_reason",
    "contract_registration_no",
    "stage_changed_at",
    "version_id",
    "created_at",
)
