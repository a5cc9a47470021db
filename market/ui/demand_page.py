"""The public demand page, which the public blueprint serves and the workspace shows again
with a failed request's errors (分级保密 access, 揭榜)."""

from __future__ import annotations

from flask import render_template, url_for
from flask_login import current_user

from models import Demand, db
from models.enums import COOPERATION_MODES, MATURITY

from ..policy import can, may_see_demand_organization
from ..queries import listings as q


def render_demand(item: Demand, access_form=None, status: int = 200):
    """The demand page; ``access_form`` is a failed 分级保密 request shown again with its
    errors (market.workspace.institution.request_access)."""
    show_identity = may_see_demand_organization(current_user, item)
    page = render_template(
        "public/demand.html",
        item=item,
        codes=q.demand_classification(item),
        modes=COOPERATION_MODES,
        maturity=MATURITY,
        show_identity=show_identity,
        **_challenge(item),
        **_access(item, show_identity, access_form),
    )
    return page, status


def _access(item: Demand, show_identity: bool, form) -> dict:
    """分级保密 on a 脱敏 demand: the institution's request and its state, the form to ask, and
    an audited look when the identity is shown through a grant."""
    from ..services import demand_access
    from .forms import AccessRequestForm

    if item.confidentiality != "desensitized" or not can(
        current_user, "demand.request_access", item
    ):
        return {}
    access = demand_access.request_for(item, current_user.organization_id)
    if show_identity:
        demand_access.record_view(item, current_user)
        db.session.commit()
    may_ask = access is None or access.state in ("refused", "revoked")
    return {
        "access": access,
        "access_form": (form or AccessRequestForm(formdata=None)) if may_ask else None,
    }


def _challenge(item: Demand) -> dict:
    """揭榜挂帅: status and entry count for everyone; the 揭榜 form for institutions."""
    from ..services import challenges
    from .forms import SubmissionForm

    if not item.is_challenge:
        return {}
    info = {"challenge": challenges.status(item), "entry_form": None, "my_entries": []}
    if can(current_user, "challenge.submit"):
        org_id = current_user.organization_id
        info["my_entries"] = challenges.for_organization(org_id, item.id)
        if info["challenge"].is_open and item.confidentiality != "broker_only":
            form = SubmissionForm(formdata=None)
            picker = challenges.eligible_outcomes(org_id, item)
            form.set_outcomes(picker.items)
            info["entry_form"] = form
            info["entry_choices"] = picker
    info["entries_url"] = (
        url_for("enterprise.challenge", demand_id=item.id)
        if can(current_user, "workspace.enterprise")
        and can(current_user, "challenge.view_submissions", item)
        else None
    )
    return info
