"""/api/v1/outcomes — 科技成果 with their patents: list, read, post, edit, close."""

from __future__ import annotations

import logging

from models import NotFound, Outcome, User, db
from models.enums import N_

from ..policy import can, require
from ..queries import listings as q
from ..services import listings as services
from .auth import api_user, token_user
from .common import envelope, get_or_404, idempotent, resource_blueprint, write_answer
from .schemas import (
    OutcomeDetailOut,
    OutcomeIn,
    OutcomeListArgs,
    OutcomePage,
    OutcomePatch,
    PatentIn,
    PatentOut,
)

log = logging.getLogger(__name__)

blp = resource_blueprint("outcomes", "/outcomes", "科技成果（高校院所答题）及其专利")
HIDDEN = N_("科技成果不存在或无权查看")


def load_visible(outcome_id: int, user: User | None) -> Outcome:
    outcome = get_or_404(Outcome, outcome_id, HIDDEN)
    if outcome.status != "published" and not can(user, "outcome.view_unpublished", outcome):
        raise NotFound(HIDDEN)
    return outcome


def load_editable(outcome_id: int, user: User) -> Outcome:
    outcome = load_visible(outcome_id, user)
    require(user, "outcome.edit", outcome)
    return outcome


@blp.route("")
@blp.arguments(OutcomeListArgs, location="query")
@blp.response(200, OutcomePage)
def list_outcomes(args: dict):
    """已发布的科技成果（能力清单，分页筛选）。"""
    page = q.public_outcomes(q.ListingFilter.from_api(args))
    return envelope(page.items, page.total, page.page, page.per_page)


@blp.route("", methods=["POST"])
@blp.arguments(OutcomeIn)
@blp.response(201, OutcomeDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@idempotent
def create_outcome(data: dict):
    """登记科技成果（高校院所用户，需 API 令牌；可带 Idempotency-Key 安全重试）。"""
    user = token_user()
    require(user, "outcome.create")
    codes = data.pop("ipc_codes", None)
    outcome = services.post_outcome(user.organization, data, user.id, ipc_codes=codes)
    return _answer(outcome, 201)


@blp.route("/<int:outcome_id>")
@blp.response(200, OutcomeDetailOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_outcome(outcome_id: int):
    """一项科技成果，含其专利。"""
    return load_visible(outcome_id, api_user())


@blp.route("/<int:outcome_id>", methods=["PATCH"])
@blp.arguments(OutcomePatch)
@blp.response(200, OutcomeDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def update_outcome(data: dict, outcome_id: int):
    """修改科技成果（成果所属机构或管理员，需 API 令牌）。"""
    user = token_user()
    outcome = load_editable(outcome_id, user)
    codes = data.pop("ipc_codes", None)
    services.update_outcome(outcome, data, user.id, ipc_codes=codes)
    return _answer(outcome)


@blp.route("/<int:outcome_id>/close", methods=["POST"])
@blp.response(200, OutcomeDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def close_outcome(outcome_id: int):
    """下架科技成果。"""
    user = token_user()
    outcome = load_editable(outcome_id, user)
    services.set_status(outcome, "closed", user.id)
    return _answer(outcome)


def _answer(outcome: Outcome, status: int = 200):
    db.session.flush()
    task = ("embed_listing", "outcome", outcome.id)
    return write_answer(OutcomeDetailOut(), outcome, status, (task,))


@blp.route("/<int:outcome_id>/patents")
@blp.response(200, PatentOut(many=True))
@blp.alt_response(404, response="NOT_FOUND")
def list_outcome_patents(outcome_id: int):
    """成果名下的专利。"""
    return load_visible(outcome_id, api_user()).patents


@blp.route("/<int:outcome_id>/patents", methods=["POST"])
@blp.arguments(PatentIn)
@blp.response(201, PatentOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@idempotent
def add_patent(data: dict, outcome_id: int):
    """为成果登记一项专利（需 API 令牌；可带 Idempotency-Key 安全重试）。"""
    user = token_user()
    outcome = load_editable(outcome_id, user)
    patent = services.add_patent(outcome, data, user.id)
    db.session.flush()
    return write_answer(PatentOut(), patent, 201)
