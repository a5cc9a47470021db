"""Enterprise workspace: my 场景需求, the guided form with the listing linter, closing a demand,
and the entries of my 揭榜挂帅 challenges (入围, 选定揭榜方)."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import ChallengeSubmission, Conflict, Demand, DemandAccess, ValidationError, db
from models.enums import CONFIDENTIALITY, INDICATOR_OPS

from ..i18n import error_text
from ..policy import can, require
from ..services import challenges, demand_access, listings
from ..services.lint import lint_demand
from ..tasks import commit_with
from ..ui.common import (
    DEMAND_ACTIONS,
    attach_error,
    code_suggestions,
    guard,
    requested_action,
)
from . import queries
from .forms import CONFIDENTIALITY_HELP, AccessDecisionForm, DecisionForm, DemandForm

log = logging.getLogger(__name__)

bp = Blueprint("enterprise", __name__, url_prefix="/workspace/enterprise")
bp.before_request(guard("workspace.enterprise"))

# Service field names → form field names where they differ.
FIELD_ALIASES = {
    "budget_min_fen": "budget_min",
    "budget_max_fen": "budget_max",
    "offered_resources": "offered_detail",
    "indicators": None,
}


@bp.route("/")
def index():
    org = current_user.organization
    return render_template(
        "workspace/enterprise/index.html",
        org=org,
        demands=queries.my_demands(org.id) if org else [],
        may_post=can(current_user, "demand.create"),
        access_pending=demand_access.pending_count(org.id) if org else 0,
    )


# -- 分级保密: requests to see who posted a 脱敏 demand ---------------------------------------------


@bp.route("/access")
def access_requests():
    org_id = current_user.organization_id
    rows = demand_access.for_owner(org_id) if org_id else []
    forms = {a.id: AccessDecisionForm(prefix=f"a{a.id}", formdata=None) for a in rows}
    return render_template("workspace/enterprise/access.html", rows=rows, forms=forms)


@bp.route("/access/<int:access_id>", methods=["POST"])
def decide_access(access_id: int):
    access = db.get_or_404(DemandAccess, access_id)
    require(current_user, "demand.decide_access", access.demand)
    form = AccessDecisionForm(prefix=f"a{access.id}")
    decision = request.form.get("decision", "")
    if form.validate_on_submit():
        try:
            demand_access.decide(access, current_user, decision, form.note.data or "")
            name = access.organization.name  # before the commit, for the message after it
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
    if form.errors or form.form_errors:
        rows = demand_access.for_owner(current_user.organization_id)
        forms = {a.id: AccessDecisionForm(prefix=f"a{a.id}", formdata=None) for a in rows}
        forms[access.id] = form
        return render_template("workspace/enterprise/access.html", rows=rows, forms=forms), 422
    if decision == "grant":
        flash(_("已授权“%(o)s”查看完整信息。", o=name), "success")
    elif decision == "refuse":
        flash(_("已拒绝“%(o)s”的申请。", o=name), "success")
    else:
        flash(_("已撤销“%(o)s”的查看授权。", o=name), "success")
    return redirect(url_for("enterprise.access_requests"))


@bp.route("/demands/new", methods=["GET", "POST"])
def new_demand():
    require(current_user, "demand.create")
    form = DemandForm()
    if request.method == "GET":
        form.pad_indicators()
        return _render(form, None)
    return _save(form, None)


@bp.route("/demands/<int:demand_id>/edit", methods=["GET", "POST"])
def edit_demand(demand_id: int):
    demand = db.get_or_404(Demand, demand_id)
    require(current_user, "demand.edit", demand)
    if request.method == "GET":
        form = DemandForm(obj=demand)
        form.load(demand)
        return _render(form, demand)
    # From the submitted fields only: a field missing from the POST is an error, never the
    # stored value silently kept.
    return _save(DemandForm(), demand)


@bp.route("/demands/<int:demand_id>/close", methods=["POST"])
def close_demand(demand_id: int):
    demand = db.get_or_404(Demand, demand_id)
    require(current_user, "demand.edit", demand)
    listings.set_status(demand, "closed", current_user.id)
    title = demand.title  # read before the commit: nothing after it may need the database
    commit_with(("embed_listing", "demand", demand_id))  # removes it from the search index
    flash(_("需求“%(t)s”已关闭，不再出现在场景机会清单中。", t=title), "info")
    return redirect(url_for("enterprise.index"))


def _save(form: DemandForm, demand: Demand | None):
    valid = form.validate_on_submit()
    action = requested_action(form, DEMAND_ACTIONS)
    publish = action in ("publish", "publish_confirmed")
    if not valid or action is None:
        form.pad_indicators()
        return _render(form, demand, status=422)
    try:
        data = form.service_data()
        if publish:
            listings.check_demand_text({**data, "status": "published"}, demand)
    except ValidationError as e:
        return _failed(form, demand, e)
    warnings = lint_demand(data) if publish else []
    if action == "publish" and warnings:
        # Not saved yet: the author sees the warnings and may fix them or publish anyway.
        form.pad_indicators()
        return _render(form, demand, warnings=warnings)
    data["status"] = "published" if publish else "draft"
    try:
        demand = _store(demand, data)
        if publish:
            demand.match_summary = None  # its page shows matching in progress until it is done
        db.session.flush()
        demand_id = demand.id
        commit_with(("embed_listing", "demand", demand_id))
    except ValidationError as e:
        return _failed(form, demand, e)
    if publish:
        flash(_("需求已发布，正在为它匹配科技成果。"), "success")
        return redirect(url_for("parties.demand_proposals", demand_id=demand_id))
    flash(_("已保存为草稿"), "success")
    return redirect(url_for("enterprise.index"))


def _store(demand: Demand | None, data: dict) -> Demand:
    if demand is None:
        require(current_user, "demand.create")
        return listings.post_demand(current_user.organization, data, current_user.id)
    return listings.update_demand(demand, data, current_user.id)


def _failed(form: DemandForm, demand: Demand | None, error: ValidationError):
    db.session.rollback()
    attach_error(form, error, FIELD_ALIASES)
    form.pad_indicators()
    return _render(form, demand, status=422)


def _render(form: DemandForm, demand: Demand | None, warnings=None, status: int = 200):
    return (
        render_template(
            "workspace/enterprise/demand_form.html",
            form=form,
            suggestions=code_suggestions(form.title.data, form.description.data),
            demand=demand,
            warnings=warnings or [],
            confidentiality_help=CONFIDENTIALITY_HELP,
            confidentiality=CONFIDENTIALITY,
            ops=INDICATOR_OPS,
        ),
        status,
    )


# ---------------------------------------------------------------- 揭榜挂帅 entries

DECISIONS = {"shortlist": challenges.shortlist, "winner": challenges.pick_winner}


@bp.route("/challenges/<int:demand_id>")
def challenge(demand_id: int):
    demand = db.get_or_404(Demand, demand_id)
    require(current_user, "challenge.view_submissions", demand)
    return _render_challenge(demand)


@bp.route("/submissions/<int:submission_id>/decision", methods=["POST"])
def decide(submission_id: int):
    entry = db.get_or_404(ChallengeSubmission, submission_id)
    demand = entry.demand
    require(current_user, "challenge.decide", demand)
    form = DecisionForm(prefix=f"s{entry.id}")
    decision = DECISIONS.get(request.form.get("action", ""))
    if decision is None:
        form.form_errors.append(_("请选择“入围”或“选定揭榜方”"))
        return _render_challenge(demand, entry.id, form, 422)
    if not form.validate_on_submit():
        return _render_challenge(demand, entry.id, form, 422)
    if request.form.get("action") == "winner" and not form.confirm_winner.data:
        form.confirm_winner.errors = [_("选定揭榜方不可撤销：请先勾选确认")]
        return _render_challenge(demand, entry.id, form, 422)
    try:
        decision(entry, current_user, form.note.data or "", form.expected_version())
        db.session.commit()
    except ValidationError as e:
        db.session.rollback()
        attach_error(form, e)
        return _render_challenge(demand, entry.id, form, 422)
    except Conflict as e:
        db.session.rollback()
        form.form_errors.append(error_text(e))
        form.version.data = str(entry.version_id)  # the user now sees the current state
        return _render_challenge(demand, entry.id, form, 409)
    if entry.state == "winner":
        flash(
            _("已选定“%(t)s”为揭榜方，其余揭榜记录已标记为未入选。", t=entry.outcome.title),
            "success",
        )
    else:
        flash(_("“%(t)s”已入围。", t=entry.outcome.title), "success")
    return redirect(url_for("enterprise.challenge", demand_id=demand.id))


def _render_challenge(demand: Demand, failed_id: int | None = None, failed=None, status=200):
    entries = challenges.for_demand(demand, current_user)
    forms = {
        e.id: failed
        if e.id == failed_id
        else DecisionForm(prefix=f"s{e.id}", formdata=None, version=e.version_id)
        for e in entries
    }
    return (
        render_template(
            "workspace/enterprise/challenge.html",
            demand=demand,
            entries=entries,
            forms=forms,
            challenge=challenges.status(demand),
        ),
        status,
    )
