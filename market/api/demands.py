"""/api/v1/demands — 场景需求: list, read, post, edit, close.

Visibility: ``broker_only`` demands exist only for their owner and brokers/admins; a
``desensitized`` demand hides the posting organisation from everyone else.
"""

from __future__ import annotations

import logging

from models import Demand, NotFound, User, ValidationError, db
from models.enums import N_

from ..policy import may_see_demand_organization, may_view_demand, require
from ..queries import listings as q
from ..services import demand_access
from ..services import listings as services
from .auth import api_user, token_user
from .common import envelope, get_or_404, idempotent, resource_blueprint, write_answer
from .schemas import DemandIn, DemandOut, DemandPage, DemandPatch, ListingArgs

log = logging.getLogger(__name__)

blp = resource_blueprint("demands", "/demands", "场景需求（企业出题）")
HIDDEN = N_("场景需求不存在或无权查看")


class Shown:
    """A listing as one viewer may see it: the organisation may be withheld."""

    def __init__(self, item, organization):
        self._item = item
        self.organization = organization

    def __getattr__(self, name: str):
        return getattr(self._item, name)


def present(demand: Demand, user: User | None) -> Shown:
    named = may_see_demand_organization(user, demand)
    return Shown(demand, demand.organization if named else None)


def visible(demand: Demand, user: User | None) -> bool:
    return may_view_demand(user, demand)


def load_visible(demand_id: int, user: User | None) -> Demand:
    demand = get_or_404(Demand, demand_id, HIDDEN)
    if not visible(demand, user):
        raise NotFound(HIDDEN)
    return demand


def load_editable(demand_id: int, user: User) -> Demand:
    demand = load_visible(demand_id, user)
    require(user, "demand.edit", demand)
    return demand


@blp.route("")
@blp.arguments(ListingArgs, location="query")
@blp.response(200, DemandPage)
def list_demands(args: dict):
    """已发布的场景需求（分页，可按关键词、领域、地区、成熟度、场景类型筛选，或只看揭榜挂帅）。"""
    user = api_user()
    page = q.public_demands(q.ListingFilter.from_api(args), user)
    items = [present(item, user) for item in page.items]
    return envelope(items, page.total, page.page, page.per_page)


@blp.route("", methods=["POST"])
@blp.arguments(DemandIn)
@blp.response(201, DemandOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@idempotent
def create_demand(data: dict):
    """发布场景需求（企业用户，需 API 令牌；可带 Idempotency-Key 安全重试）。"""
    user = token_user()
    require(user, "demand.create")
    services.check_demand_text(data)
    demand = services.post_demand(user.organization, data, user.id)
    return _answer(demand, user, 201)


@blp.route("/<int:demand_id>")
@blp.response(200, DemandOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_demand(demand_id: int):
    """一条场景需求（脱敏需求的发布单位仅对发布方、经纪人和获授权的机构显示）。"""
    user = api_user()
    shown = present(load_visible(demand_id, user), user)
    if shown.organization is not None and shown.confidentiality == "desensitized" and user:
        demand_access.record_view(shown._item, user)  # a look through a grant is audited
        db.session.commit()
    return shown


@blp.route("/<int:demand_id>", methods=["PATCH"])
@blp.arguments(DemandPatch)
@blp.response(200, DemandOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def update_demand(data: dict, demand_id: int):
    """修改场景需求（发布机构或管理员，需 API 令牌）。"""
    user = token_user()
    demand = load_editable(demand_id, user)
    _check_budget(demand, data)
    services.check_demand_text(data, demand)
    services.update_demand(demand, data, user.id)
    return _answer(demand, user)


@blp.route("/<int:demand_id>/close", methods=["POST"])
@blp.response(200, DemandOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def close_demand(demand_id: int):
    """关闭场景需求，不再出现在清单与检索中。"""
    user = token_user()
    demand = load_editable(demand_id, user)
    services.set_status(demand, "closed", user.id)
    return _answer(demand, user)


def _answer(demand: Demand, user: User, status: int = 200):
    db.session.flush()
    task = ("embed_listing", "demand", demand.id)
    return write_answer(DemandOut(), present(demand, user), status, (task,))


def _check_budget(demand: Demand, data: dict) -> None:
    # The database refuses min > max; say so per field instead of failing the write.
    low = data.get("budget_min_fen", demand.budget_min_fen)
    high = data.get("budget_max_fen", demand.budget_max_fen)
    if low is not None and high is not None and low > high:
        raise ValidationError(N_("预算下限不能高于预算上限"), "budget_min_fen")
