"""/api/v1/demands/<id>/access-requests, /access-requests/<id>/decision — 分级保密.

An institution asks to see who posted a 脱敏 demand, accepting the confidentiality undertaking;
the demand's owner grants or refuses, and may revoke a grant. The owner reads every request on
the demand, a requesting institution reads its own; a grant names the organisation in the
demand resource itself (``organization``).
"""

from __future__ import annotations

from sqlalchemy import select

from models import DemandAccess, NotFound, db
from models.enums import N_

from ..policy import can
from ..services import demand_access
from .auth import Unauthorized, api_user, token_user
from .common import get_or_404, idempotent, resource_blueprint, write_answer
from .demands import load_visible as load_demand
from .schemas import AccessDecisionIn, AccessList, AccessOut, AccessRequestIn

blp = resource_blueprint("access", "", "分级保密：申请查看脱敏需求的发布单位，发布方授权或拒绝")
HIDDEN = N_("申请不存在或无权查看")


@blp.route("/demands/<int:demand_id>/access-requests")
@blp.response(200, AccessList)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def list_requests(demand_id: int):
    """一条需求收到的查看申请（发布方：全部；申请机构：本机构的）。"""
    user = api_user()
    if user is None:
        raise Unauthorized(N_("请登录或提供 API 令牌后查看申请"))
    demand = load_demand(demand_id, user)
    stmt = select(DemandAccess).where(DemandAccess.demand_id == demand.id)
    if not can(user, "demand.decide_access", demand):
        stmt = stmt.where(DemandAccess.organization_id == (user.organization_id or 0))
    return {"nda_text": demand_access.NDA_TEXT, "items": db.session.scalars(stmt).all()}


@blp.route("/demands/<int:demand_id>/access-requests", methods=["POST"])
@blp.arguments(AccessRequestIn)
@blp.response(201, AccessOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@idempotent
def ask(data: dict, demand_id: int):
    """申请查看脱敏需求的发布单位（高校院所用户，需 API 令牌；须同意保密承诺）。"""
    user = token_user()
    demand = load_demand(demand_id, user)
    access = demand_access.ask(demand, user, data["purpose"], data["nda_accepted"])
    db.session.flush()
    return write_answer(AccessOut(), access, 201)


@blp.route("/access-requests/<int:access_id>/decision", methods=["POST"])
@blp.arguments(AccessDecisionIn)
@blp.response(200, AccessOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def decide(data: dict, access_id: int):
    """发布方同意、拒绝（须说明理由）或撤销授权。"""
    user = token_user()
    access = get_or_404(DemandAccess, access_id, HIDDEN)
    party = user.organization_id == access.organization_id
    if not party and not can(user, "demand.decide_access", access.demand):
        raise NotFound(HIDDEN)
    demand_access.decide(access, user, data["decision"], data["note"])
    db.session.flush()
    return write_answer(AccessOut(), access)
