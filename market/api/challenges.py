"""/api/v1/demands/<id>/submissions, /submissions — 揭榜挂帅 entries and decisions.

An institution enters (揭榜) one of its published outcomes against an open challenge. The
enterprise that posted the challenge (or an admin) shortlists entries and picks one winner;
brokers and admins read every entry, the submitting institution reads its own. Decisions carry
the version the caller last saw, so a stale decision answers 409.
"""

from __future__ import annotations

import logging

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from models import ChallengeSubmission, Demand, NotFound, Outcome, User, db
from models.enums import N_

from ..policy import can, require
from ..services import challenges
from .auth import Unauthorized, api_user, token_user
from .common import get_or_404, idempotent, paginate, resource_blueprint, write_answer
from .demands import load_visible as load_demand
from .schemas import DecisionIn, SubmissionArgs, SubmissionIn, SubmissionOut, SubmissionPage

log = logging.getLogger(__name__)

blp = resource_blueprint("challenges", "", "揭榜挂帅：机构揭榜，需求方入围与选定揭榜方")
HIDDEN = N_("揭榜记录不存在或无权查看")
DECISIONS = {
    "shortlist": lambda entry, user, data: challenges.shortlist(
        entry, user, data.get("note") or "", data.get("version")
    ),
    "winner": lambda entry, user, data: challenges.pick_winner(
        entry, user, data.get("note") or "", data.get("version")
    ),
    "withdraw": lambda entry, user, data: challenges.withdraw(entry, user, data.get("version")),
}


def viewer() -> User:
    user = api_user()
    if user is None:
        raise Unauthorized(N_("请登录或提供 API 令牌后查看揭榜记录"))
    return user


def _listed(stmt, args: dict):
    stmt = stmt.options(
        joinedload(ChallengeSubmission.demand),
        joinedload(ChallengeSubmission.outcome),
        joinedload(ChallengeSubmission.organization),
    )
    if args.get("state"):
        stmt = stmt.where(ChallengeSubmission.state == args["state"])
    stmt = stmt.order_by(ChallengeSubmission.created_at, ChallengeSubmission.id)
    return paginate(stmt, args["page"], args["per_page"])


def visible_submissions(user: User):
    """Entries ``user`` may read: staff all; others their own and those on their own demands."""
    stmt = select(ChallengeSubmission)
    if can(user, "challenge.view_submissions"):  # staff: every entry
        return stmt
    if user.organization_id is None:
        return stmt.where(ChallengeSubmission.id.is_(None))
    own_demands = select(Demand.id).where(Demand.organization_id == user.organization_id)
    return stmt.where(
        or_(
            ChallengeSubmission.organization_id == user.organization_id,
            ChallengeSubmission.demand_id.in_(own_demands),
        )
    )


def load_visible(submission_id: int, user: User) -> ChallengeSubmission:
    entry = get_or_404(ChallengeSubmission, submission_id, HIDDEN)
    if not can(user, "challenge.view_submission", entry):
        raise NotFound(HIDDEN)
    return entry


@blp.route("/demands/<int:demand_id>/submissions")
@blp.arguments(SubmissionArgs, location="query")
@blp.response(200, SubmissionPage)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
def list_demand_submissions(args: dict, demand_id: int):
    """一个榜单的全部揭榜（发布该需求的企业、经纪人与管理员可见）。"""
    user = viewer()
    demand = load_demand(demand_id, user)
    require(user, "challenge.view_submissions", demand)
    return _listed(
        select(ChallengeSubmission).where(ChallengeSubmission.demand_id == demand.id), args
    )


@blp.route("/demands/<int:demand_id>/submissions", methods=["POST"])
@blp.arguments(SubmissionIn)
@blp.response(201, SubmissionOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@idempotent
def submit(data: dict, demand_id: int):
    """揭榜：用本机构已发布的成果揭榜（高校院所用户，需 API 令牌；榜单须未截止、未选定揭榜方）。"""
    user = token_user()
    demand = load_demand(demand_id, user)
    outcome = db.session.get(Outcome, data["outcome_id"])
    entry = challenges.submit(demand, outcome, user, data["pitch"])
    db.session.flush()
    return write_answer(SubmissionOut(), entry, 201)


@blp.route("/submissions")
@blp.arguments(SubmissionArgs, location="query")
@blp.response(200, SubmissionPage)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_submissions(args: dict):
    """可见的揭榜记录（机构：本机构提交的及本机构榜单收到的；经纪人与管理员：全部）。"""
    return _listed(visible_submissions(viewer()), args)


@blp.route("/submissions/<int:submission_id>")
@blp.response(200, SubmissionOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_submission(submission_id: int):
    """一条揭榜记录。"""
    return load_visible(submission_id, viewer())


@blp.route("/submissions/<int:submission_id>/decision", methods=["POST"])
@blp.arguments(DecisionIn)
@blp.response(200, SubmissionOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def decide(data: dict, submission_id: int):
    """入围、选定揭榜方（需求方企业或管理员）或撤回（揭榜机构）；回传 version，过期时返回 409。"""
    user = token_user()
    entry = load_visible(submission_id, user)
    entry = DECISIONS[data["decision"]](entry, user, data)
    db.session.flush()
    return write_answer(SubmissionOut(), entry)
