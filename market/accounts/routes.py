"""Registration, password reset, profile, and the operator's organisation review queue."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from models import Organization, ValidationError, db

from ..i18n import error_text
from ..policy import require
from ..services import accounts
from ..ui.common import attach_error
from ..ui.sessions import renew_session
from .forms import (
    ChangePasswordForm,
    EndSessionsForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    ResetRequestForm,
    ReviewForm,
)

log = logging.getLogger(__name__)

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        org_data = {
            "name": form.org_name.data,
            "kind": form.kind.data,
            "province": form.province.data.strip(),
            "city": form.city.data.strip(),
            "is_sme": form.is_sme.data,
            "state_owned": form.state_owned.data,
        }
        user_data = {
            "name": form.name.data,
            "email": form.email.data,
            "password": form.password.data,
        }
        try:
            accounts.register_organization(org_data, user_data)
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e, {"name": "org_name"})
        else:
            # The same answer whether or not the address already had an account (then nothing
            # was created and its owner was told), so the form cannot probe for accounts.
            flash(
                _(
                    "注册申请已提交。请用该邮箱和密码登录，查看机构审核进度；审核通过后即可发布信息。"
                    "如果该邮箱此前已注册过账号，本次申请不会生效，请直接登录或找回密码。"
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("accounts/register.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        accounts.request_password_reset(
            form.email.data,
            lambda token: url_for("accounts.reset_password", token=token, _external=True),
        )
        # The same answer whether or not the address exists, so nobody can probe for accounts.
        flash(_("如果该邮箱已注册，重置密码的链接已发出，1小时内有效。"), "info")
        return redirect(url_for("auth.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = accounts.user_for_reset_token(token)
    except ValidationError as e:
        return render_template("accounts/reset_invalid.html", message=error_text(e)), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data)
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
        else:
            if current_user.is_authenticated and current_user.id == user.id:
                renew_session(user)
            flash(_("密码已重置，请用新密码登录。"), "success")
            return redirect(url_for("auth.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/profile", methods=["GET"])
@login_required
def profile():
    return _render_profile(ProfileForm(prefix="profile", obj=current_user), _password_form())


@bp.route("/profile", methods=["POST"])
@login_required
def update_profile():
    form = ProfileForm(prefix="profile")
    if form.validate_on_submit():
        try:
            accounts.update_profile(current_user, form.name.data)
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e)
        else:
            flash(_("资料已保存"), "success")
            return redirect(url_for("accounts.profile"))
    return _render_profile(form, _password_form())


@bp.route("/password", methods=["POST"])
@login_required
def change_password():
    form = _password_form()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            attach_error(form, e, {"password": "new_password"})
        else:
            renew_session(current_user._get_current_object())
            flash(_("密码已修改，其他设备上的登录已全部退出"), "success")
            return redirect(url_for("accounts.profile"))
    return _render_profile(ProfileForm(prefix="profile", obj=current_user), form)


@bp.route("/sessions/end", methods=["POST"])
@login_required
def end_sessions():
    form = EndSessionsForm()
    if not form.validate_on_submit():
        abort(400)
    accounts.sign_out_everywhere(current_user)
    db.session.commit()
    logout_user()
    flash(_("已退出所有设备上的登录，请重新登录"), "info")
    return redirect(url_for("auth.login"))


def _password_form() -> ChangePasswordForm:
    return ChangePasswordForm(prefix="pw")


def _render_profile(profile_form: ProfileForm, password_form: ChangePasswordForm):
    status = 200 if not (profile_form.errors or password_form.errors) else 422
    return (
        render_template(
            "accounts/profile.html",
            form=profile_form,
            password_form=password_form,
            end_sessions_form=EndSessionsForm(),
            org=current_user.organization,
        ),
        status,
    )


@bp.route("/admin/organizations")
@login_required
def pending():
    require(current_user, "org.approve")
    return render_template(
        "accounts/pending.html", orgs=accounts.pending_organizations(), form=ReviewForm()
    )


@bp.route("/admin/organizations/<int:org_id>/approve", methods=["POST"])
@login_required
def approve(org_id: int):
    require(current_user, "org.approve")
    org = db.get_or_404(Organization, org_id)
    accounts.approve_organization(org, current_user, request.form.get("state_owned") == "y")
    db.session.commit()
    flash(_("已通过“%(name)s”的审核", name=org.name), "success")
    return redirect(url_for("accounts.pending"))


@bp.route("/admin/organizations/<int:org_id>/reject", methods=["POST"])
@login_required
def reject(org_id: int):
    require(current_user, "org.approve")
    org = db.get_or_404(Organization, org_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("拒绝理由不能超过500个字"), "danger")
        return redirect(url_for("accounts.pending"))
    try:
        accounts.reject_organization(org, current_user, form.reason.data)
        db.session.commit()
    except ValidationError as e:
        db.session.rollback()
        flash(error_text(e), "danger")
    else:
        flash(_("已拒绝“%(name)s”的注册申请", name=org.name), "warning")
    return redirect(url_for("accounts.pending"))
