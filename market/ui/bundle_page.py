"""The 组合方案 page, which the parties' blueprint serves and the broker's decisions show again
with a refused form's errors (market.broker.routes)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from models import MatchBundle
from models.enums import COVERAGE_STATUSES

from ..policy import can
from ..services import bundles
from .forms import BundleAcceptForm, BundleRejectForm


def render_bundle(item: MatchBundle, accept_form=None, reject_form=None, status: int = 200):
    """The bundle page; brokers get the accept / reject forms."""
    review = can(current_user, "bundle.review", item)
    versions = {"version": item.version_id}
    if review:
        accept_form = accept_form or BundleAcceptForm(formdata=None, **versions)
        reject_form = reject_form or BundleRejectForm(formdata=None, **versions)
    page = render_template(
        "parties/bundle.html",
        bundle=item,
        outcomes={o.id: o for o in bundles.members(item)},
        matches=bundles.member_matches(item),
        statuses=COVERAGE_STATUSES,
        review=review,
        deals=bundles.member_deals(item) if review and item.stage == "accepted" else [],
        see_proposals=can(current_user, "demand.see_proposals", item.demand),
        accept_form=accept_form,
        reject_form=reject_form,
        hide_demand_identity=item.demand.confidentiality != "public"
        and not can(current_user, "demand.view_confidential", item.demand),
    )
    return page, status
