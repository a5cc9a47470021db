"""/admin: the audit log and the 标杆案例 publishing desk (admins only)."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from models import BenchmarkCase, ValidationError, db

from ..extensions import login_manager
from ..i18n import error_text
from ..policy import require
from ..services import cases
from ..urls import page_number
from . import audit
from .forms import CaseActionForm, CaseForm

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require(current_user, "audit.view")
    return None


@bp.route("/audit")
def audit_log():
    flt = audit.AuditFilter.from_args(request.args, PER_PAGE)
    return render_template(
        "admin/audit.html",
        page=audit.entries(flt),
        flt=flt,
        diff=audit.diff,
        actions=audit.known_actions(),
        object_types=audit.known_object_types(),
    )


# -- 到期即转 -----------------------------------------------------------------------------------


@bp.route("/use-first", methods=["GET", "POST"])
def use_first_sweep():
    """Run the 到期即转 sweep now and see what this and earlier sweeps found."""
    from models import Outcome, User, local_today
    from models.workflow import CONSENT_STATES

    from ..services import use_first
    from .forms import SweepForm

    require(current_user, "use_first.sweep")
    form = SweepForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("页面已过期，请刷新后重试。"), "danger")
            return redirect(url_for("admin.use_first_sweep"))
        result = use_first.sweep_use_first(local_today(), actor_id=current_user.id)
        db.session.commit()
        flash(
            _(
                "排查完成：检查了 %(checked)s 项财政资助成果，新发现 %(due)s 项到期未实施，"
                "已通知权利人确认。",
                checked=result["checked"],
                due=result["due"],
            ),
            "success" if result["due"] else "info",
        )
        return redirect(url_for("admin.use_first_sweep"))
    state = request.args.get("state", "")
    state = state if state in CONSENT_STATES else ""
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    reviews, total = use_first.all_reviews(state, page, PER_PAGE)
    sweeps = use_first.recent_sweeps()
    actors = {s.user_id for s in sweeps if s.user_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(actors))).all())
    latest = sweeps[0].after if sweeps else None
    found = (
        db.session.scalars(select(Outcome).where(Outcome.id.in_(latest["outcomes"]))).all()
        if latest and latest.get("outcomes")
        else []
    )
    return render_template(
        "admin/use_first.html",
        form=form,
        sweeps=sweeps,
        names=names,
        found=found,
        reviews=reviews,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        state=state,
        states=CONSENT_STATES,
    )


# -- 标杆案例 ------------------------------------------------------------------------------------


@bp.route("/cases")
def case_list():
    require(current_user, "case.publish")
    state = request.args.get("state", "")
    return render_template(
        "admin/cases.html",
        page=cases.admin_cases(state, page_number(request.args.get("page")), PER_PAGE),
        state=state if state in cases.STATES else "",
        action_form=CaseActionForm(),
    )


@bp.route("/cases/<int:case_id>", methods=["GET", "POST"])
def case_edit(case_id: int):
    require(current_user, "case.publish")
    case = db.get_or_404(BenchmarkCase, case_id)
    form = CaseForm(obj=case)
    if form.validate_on_submit():
        try:
            cases.update_case(case, form.title.data, form.summary.data, current_user)
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            target = form[e.field] if e.field in ("title", "summary") else None
            if target is not None:
                target.errors = [*target.errors, error_text(e)]
            else:
                form.form_errors.append(error_text(e))
        else:
            flash(_("案例已保存"), "success")
            return redirect(url_for("admin.case_list"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "admin/case_edit.html",
        case=case,
        row=cases.present([case])[0],
        form=form,
        action_form=CaseActionForm(),
    ), status


@bp.route("/cases/<int:case_id>/publish", methods=["POST"])
def case_publish(case_id: int):
    return _toggle(case_id, publish=True)


@bp.route("/cases/<int:case_id>/unpublish", methods=["POST"])
def case_unpublish(case_id: int):
    return _toggle(case_id, publish=False)


def _toggle(case_id: int, publish: bool):
    require(current_user, "case.publish")
    case = db.get_or_404(BenchmarkCase, case_id)
    if not CaseActionForm().validate_on_submit():
        flash(_("页面已过期，请刷新后重试"), "danger")
        return redirect(url_for("admin.case_list"))
    if publish:
        cases.publish_case(case, current_user)
        message = _("案例已发布到标杆案例清单")
    else:
        cases.unpublish_case(case, current_user)
        message = _("案例已撤下，转为草稿")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.case_list"))
