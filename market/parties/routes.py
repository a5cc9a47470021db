"""What the two parties see of the matcher: an enterprise's proposals for its demand, an
institution's fitting demands for its outcome, one proposal's explanation, a request for an
introduction by a broker with the broker's answer, and every user's notifications."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from models import Conflict, Demand, Match, MatchBundle, Outcome, ValidationError, db
from models.enums import CONFIDENTIALITY, COOPERATION_MODES, COVERAGE_STATUSES

from ..i18n import error_text
from ..policy import can, require
from ..services import bundles, introductions, matching, notifications, terms
from ..ui import change_log
from ..ui.bundle_page import render_bundle
from ..ui.change_log import summary_rows
from ..ui.forms import IntroRequestForm
from ..ui.highlight import highlight

log = logging.getLogger(__name__)

bp = Blueprint("parties", __name__, url_prefix="/my")
bp.before_request(login_required(lambda: None))

VISIBLE_STAGES = ("proposed", "accepted")


@bp.route("/demands/<int:demand_id>/proposals")
def demand_proposals(demand_id: int):
    demand = db.get_or_404(Demand, demand_id)
    require(current_user, "demand.see_proposals", demand)
    matches = db.session.scalars(
        select(Match)
        .where(Match.demand_id == demand.id, Match.stage.in_(VISIBLE_STAGES))
        .order_by(Match.score.desc())
    ).all()
    summary = demand.match_summary or {}
    closest = db.session.scalars(
        select(Outcome).where(Outcome.id.in_(summary.get("closest") or []))
    ).all()
    return render_template(
        "parties/demand_proposals.html",
        demand=demand,
        matches=matches,
        summary=summary,
        closest=closest,
        intros=introductions.intros_for(matches),
        bundles=bundles.bundles_of(demand, VISIBLE_STAGES),
        bundle_outcomes=_bundle_outcomes(demand),
        statuses=COVERAGE_STATUSES,
    )


def _bundle_outcomes(demand: Demand) -> dict[int, Outcome]:
    ids = {i for b in bundles.bundles_of(demand) for i in b.outcome_ids}
    return {o.id: o for o in db.session.scalars(select(Outcome).where(Outcome.id.in_(ids)))}


@bp.route("/outcomes/<int:outcome_id>/demands")
def outcome_demands(outcome_id: int):
    outcome = db.get_or_404(Outcome, outcome_id)
    require(current_user, "outcome.see_proposals", outcome)
    ranked = matching.demands_for_outcome(outcome, k=10, viewer_is_broker=False)
    demands = {
        d.id: d
        for d in db.session.scalars(
            select(Demand).where(Demand.id.in_([c.listing_id for c in ranked]))
        )
    }
    rows = [(demands[c.listing_id], c) for c in ranked if c.listing_id in demands]
    return render_template("parties/outcome_demands.html", outcome=outcome, rows=rows)


@bp.route("/proposals/<int:match_id>")
def proposal(match_id: int):
    match = db.get_or_404(Match, match_id)
    require(current_user, "match.view", match)
    return _render_proposal(match, IntroRequestForm(formdata=None))


def _render_proposal(match: Match, intro_form: IntroRequestForm, status: int = 200):
    explanation = match.explanation or {}
    spans = explanation.get("highlight") or {}
    preview, preview_error = terms.preview_for_match(match)
    hide = match.demand.confidentiality != "public" and not can(
        current_user, "demand.view_confidential", match.demand
    )
    intro = introductions.intro_of(match)
    page = render_template(
        "parties/proposal.html",
        match=match,
        ex=explanation,
        demand_text=highlight(match.demand.embedding_text(), spans.get("demand_spans", [])),
        outcome_text=highlight(match.outcome.embedding_text(), spans.get("outcome_spans", [])),
        preview=summary_rows(preview) if preview else None,
        preview_profile=preview.profile_key if preview else None,
        preview_error=preview_error,
        confidentiality=CONFIDENTIALITY,
        modes=COOPERATION_MODES,
        hide_demand_identity=hide,
        intro=intro,
        hide_requester=intro is not None
        and not introductions.may_see_requester(current_user, intro),
        intro_form=intro_form,
        may_request=introductions.may_request(current_user, match, intro),
    )
    return page, status


@bp.route("/proposals/<int:match_id>/introduce", methods=["POST"])
def request_introduction(match_id: int):
    match = db.get_or_404(Match, match_id)
    require(current_user, "match.request_intro", match)
    form = IntroRequestForm()
    if not form.validate():
        return _render_proposal(match, form, 422)
    try:
        introductions.request_introduction(match, current_user, form.message.data or "")
        db.session.commit()
    except (Conflict, ValidationError) as e:
        db.session.rollback()
        form.form_errors.append(error_text(e))
        return _render_proposal(db.get_or_404(Match, match_id), form, 409)
    flash(_("已请技术经纪人为双方牵线，经纪人会在工作台看到您的请求。"), "success")
    return redirect(url_for("parties.proposal", match_id=match.id))


# -- 组合方案: a bundle of one organisation's outcomes and its combined terms ---------------------


@bp.route("/bundles/<int:bundle_id>")
def bundle(bundle_id: int):
    item = db.get_or_404(MatchBundle, bundle_id)
    require(current_user, "bundle.view", item)
    return render_bundle(item)


@bp.route("/bundles/<int:bundle_id>/terms")
def bundle_terms(bundle_id: int):
    """组合条款: one combined term sheet drafted from the members' per-outcome drafts."""
    item = db.get_or_404(MatchBundle, bundle_id)
    require(current_user, "bundle.view", item)
    profiles = dict(terms.profile_choices())
    profile_key = request.args.get("profile") if request.args.get("profile") in profiles else None
    mode = request.args.get("mode") if request.args.get("mode") in BUNDLE_MODES else "use_first"
    combined = bundles.combined_terms(item, profile_key, mode)
    return render_template(
        "parties/bundle_terms.html",
        bundle=item,
        combined=combined,
        profiles=profiles,
        modes={m: COOPERATION_MODES[m] for m in BUNDLE_MODES},
        totals=combined.totals,
        field_label=change_log.field_label,
        value_text=change_log.value_text,
        money=change_log.money,
        violation_text=change_log.violation_text,
    )


BUNDLE_MODES = ("use_first", "license", "transfer")


# -- notifications (every signed-in user; each workspace links here) -----------------------------


@bp.route("/notifications")
def notification_list():
    items = notifications.recent(current_user)
    unread = {n.id for n in items if n.unread}
    page = render_template("parties/notifications.html", items=items, unread=unread)
    if unread:
        notifications.mark_all_read(current_user)
        db.session.commit()
    return page


@bp.app_context_processor
def _notification_summary() -> dict:
    def my_notifications(limit: int = 5):
        """(latest notifications, unread count) for the signed-in user's workspace panel."""
        if not current_user.is_authenticated:
            return [], 0
        return notifications.recent(current_user, limit), notifications.unread_count(current_user)

    return {"my_notifications": my_notifications}
