"""到期即转 consent tasks for the owner institution: consent, or decline with a reason."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import UseFirstReview, ValidationError, db

from ..services import use_first
from ..tasks import commit_with
from ..ui.common import attach_error, guard
from .forms import ConsentForm, DeclineForm

bp = Blueprint("use_first", __name__, url_prefix="/use-first")
bp.before_request(guard("use_first.consents"))


@bp.route("/")
def index():
    return _render()


def _decline_form(review_id: int, posted: bool = False) -> DeclineForm:
    if posted:
        return DeclineForm(prefix=f"r{review_id}")
    return DeclineForm(formdata=None, prefix=f"r{review_id}")


def _render(posted: DeclineForm | None = None, target: int | None = None, status: int = 200):
    org_id = current_user.organization_id
    reviews = use_first.reviews_for(org_id) if org_id else []
    forms = {
        r.id: posted if (posted is not None and r.id == target) else _decline_form(r.id)
        for r in reviews
    }
    return (
        render_template(
            "broker/consents.html",
            reviews=reviews,
            consent_form=ConsentForm(formdata=None),
            decline_forms=forms,
        ),
        status,
    )


@bp.route("/<int:review_id>/consent", methods=["POST"])
def consent(review_id: int):
    review = db.get_or_404(UseFirstReview, review_id)
    form = ConsentForm()
    if not form.validate():
        return _render(status=400)
    outcome = use_first.consent(review, current_user)
    commit_with(("match_listing", "outcome", outcome.id))
    flash(_("已同意，成果进入先用后转成果池"), "success")
    return redirect(url_for("use_first.index"))


@bp.route("/<int:review_id>/decline", methods=["POST"])
def decline(review_id: int):
    review = db.get_or_404(UseFirstReview, review_id)
    form = _decline_form(review_id, posted=True)
    if form.validate():
        try:
            use_first.decline(review, current_user, form.reason.data)
            db.session.commit()
            flash(_("理由已记录"), "success")
            return redirect(url_for("use_first.index"))
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
    return _render(form, review_id, 422)
