"""/api/v1/termsheets, /deals, /notices — the broker workflow after a proposal is accepted.

Term sheets are drafted from a proposal under a policy profile and edited as versions: every
edit is re-validated, a broken rule answers 422 naming the rule and its citation, a stale
version answers 409. Deals move only along the pipeline. 公示 notices are public and anyone,
signed in or not, may object while the window is open.
"""

from __future__ import annotations

import logging

from flask import jsonify
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from models import Deal, Demand, Match, NotFound, Notice, Outcome, TermSheet, User, db
from models.enums import N_

from ..policy import can, require
from ..services import deals, notices, terms
from .auth import public_write, token_user
from .common import envelope, get_or_404, idempotent, paginate, resource_blueprint, write_answer
from .matches import load_visible as load_match
from .matches import present_deal, viewer
from .schemas import (
    DealArgs,
    DealDetailOut,
    DealPage,
    MoveIn,
    NoticeDetailOut,
    NoticeOut,
    NoticePage,
    ObjectionIn,
    ObjectionOut,
    PageArgs,
    TermSheetArgs,
    TermSheetDetailOut,
    TermSheetIn,
    TermSheetPage,
    TermSheetPatch,
)

log = logging.getLogger(__name__)

blp = resource_blueprint("deals", "", "交易流程：条款书、项目看板、协议定价公示与异议")
SHEET_HIDDEN = N_("条款书不存在或无权查看")
DEAL_HIDDEN = N_("项目不存在或无权查看")
NOTICE_HIDDEN = N_("公示不存在或已撤回")


@blp.errorhandler(terms.TermsRefused)
def terms_refused(e: terms.TermsRefused):
    """422 that names every broken rule, its citation and the field it concerns."""
    db.session.rollback()
    body = e.to_dict()
    body["violations"] = [v.to_dict() for v in e.violations]
    for violation in e.violations:
        body.setdefault("errors", {}).setdefault(violation.field or "_schema", [])
        message = f"{violation.message}（规则 {violation.rule_id}）"
        if message not in body["errors"][violation.field or "_schema"]:
            body["errors"][violation.field or "_schema"].append(message)
    return jsonify(body), 422


def _party_filter(stmt, user: User, match_column):
    """Limit a select to rows whose proposal involves the user's organisation."""
    if user.organization_id is None:
        return stmt.where(match_column.is_(None))
    match, demand, outcome = aliased(Match), aliased(Demand), aliased(Outcome)
    return (
        stmt.join(match, match_column == match.id)
        .join(demand, match.demand_id == demand.id)
        .join(outcome, match.outcome_id == outcome.id)
        .where(
            or_(
                demand.organization_id == user.organization_id,
                outcome.organization_id == user.organization_id,
            )
        )
    )


# -- term sheets -------------------------------------------------------------------------------


def load_sheet(sheet_id: int, user: User) -> TermSheet:
    row = get_or_404(TermSheet, sheet_id, SHEET_HIDDEN)
    if not can(user, "termsheet.view", row):
        raise NotFound(SHEET_HIDDEN)
    return row


@blp.route("/termsheets")
@blp.arguments(TermSheetArgs, location="query")
@blp.response(200, TermSheetPage)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_termsheets(args: dict):
    """可见的条款书（经纪人：全部；机构用户：本机构参与的）。"""
    user = viewer()
    stmt = select(TermSheet)
    if not can(user, "termsheet.create"):
        stmt = _party_filter(stmt, user, TermSheet.match_id)
    if args.get("match_id"):
        stmt = stmt.where(TermSheet.match_id == args["match_id"])
    stmt = stmt.order_by(TermSheet.id.desc())
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/termsheets", methods=["POST"])
@blp.arguments(TermSheetIn)
@blp.response(201, TermSheetDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@idempotent
def create_termsheet(data: dict):
    """按政策档案为推荐生成条款书第 1 版（经纪人，需 API 令牌）。"""
    user = token_user()
    match = load_match(data["match_id"], user)
    require(user, "termsheet.create", match)
    row = terms.draft_for_match(match, data.get("profile_key"), data["mode"], user)
    deal = db.session.scalar(select(Deal).where(Deal.match_id == match.id))
    if deal is not None:
        deal.term_sheet_id = row.id
    db.session.flush()
    return write_answer(TermSheetDetailOut(), row, 201)


@blp.route("/termsheets/<int:sheet_id>")
@blp.response(200, TermSheetDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_termsheet(sheet_id: int):
    """一份条款书：每项条款的值、单位与来源，以及修改记录。"""
    return load_sheet(sheet_id, viewer())


@blp.route("/termsheets/<int:sheet_id>", methods=["PATCH"])
@blp.arguments(TermSheetPatch)
@blp.response(200, TermSheetDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def edit_termsheet(data: dict, sheet_id: int):
    """修改条款（重新按政策档案校验；违反规则返回 422 并指明规则；版本过期返回 409）。"""
    user = token_user()
    row = load_sheet(sheet_id, user)
    require(user, "termsheet.edit", row)
    terms.edit_terms(row, data["changes"], user, data.get("version"))
    db.session.flush()
    return write_answer(TermSheetDetailOut(), row)


# -- deals -------------------------------------------------------------------------------------


def load_deal(deal_id: int, user: User) -> Deal:
    deal = get_or_404(Deal, deal_id, DEAL_HIDDEN)
    if not can(user, "deal.view", deal):
        raise NotFound(DEAL_HIDDEN)
    return deal


@blp.route("/deals")
@blp.arguments(DealArgs, location="query")
@blp.response(200, DealPage)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_deals(args: dict):
    """可见的项目（经纪人：全部；机构用户：本机构参与的），可按阶段筛选。"""
    user = viewer()
    stmt = select(Deal)
    if not can(user, "deal.move"):
        stmt = _party_filter(stmt, user, Deal.match_id)
    if args.get("stage"):
        stmt = stmt.where(Deal.stage == args["stage"])
    stmt = stmt.order_by(Deal.stage_changed_at.desc(), Deal.id.desc())
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/deals/<int:deal_id>")
@blp.response(200, DealDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_deal(deal_id: int):
    """一个项目：推荐、阶段历史与下一步可选阶段。"""
    return present_deal(load_deal(deal_id, viewer()))


@blp.route("/deals/<int:deal_id>/move", methods=["POST"])
@blp.arguments(MoveIn)
@blp.response(200, DealDetailOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def move_deal(data: dict, deal_id: int):
    """推进项目阶段（经纪人，需 API 令牌；公示须通过发起公示进入）。"""
    user = token_user()
    deal = load_deal(deal_id, user)
    deals.move_deal(
        deal,
        data["to_stage"],
        user,
        data.get("note") or "",
        registration_no=data.get("registration_no") or "",
        expected_version=data.get("version"),
    )
    db.session.flush()
    return write_answer(DealDetailOut(), present_deal(deal))


# -- 公示 notices (public) -----------------------------------------------------------------------


def load_notice(notice_id: int) -> Notice:
    notice = get_or_404(Notice, notice_id, NOTICE_HIDDEN)
    if notice.status == "withdrawn":
        raise NotFound(NOTICE_HIDDEN)
    return notice


@blp.route("/notices")
@blp.arguments(PageArgs, location="query")
@blp.response(200, NoticePage)
def list_notices(args: dict):
    """协议定价公示（公开；公示中的在前）。"""
    page = notices.public_notices(args["page"], args["per_page"])
    return envelope(page.items, page.total, page.page, page.per_page)


@blp.route("/notices/<int:notice_id>")
@blp.response(200, NoticeDetailOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_notice(notice_id: int):
    """一条公示及已收到的异议（不含异议人的联系方式）。"""
    notice = load_notice(notice_id)
    shown = {name: getattr(notice, name) for name in NoticeOut().fields}
    return {**shown, "objections": notices.objections_of(notice)}


@blp.route("/notices/<int:notice_id>/objections", methods=["POST"])
@blp.arguments(ObjectionIn)
@blp.response(201, ObjectionOut)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@public_write
def file_objection(data: dict, notice_id: int):
    """对公示提出异议（任何人，无需登录；公示期结束后不再受理）。"""
    notice = load_notice(notice_id)
    objection = notices.file_objection(notice, data["name"], data["contact"], data["text"])
    db.session.flush()
    return write_answer(ObjectionOut(), objection, 201)
