"""Login and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from models import User, db

from ..redirects import safe_target
from ..services import accounts

bp = Blueprint("auth", __name__, url_prefix="/auth")


class LoginForm(FlaskForm):
    email = EmailField(
        _l("电子邮箱"),
        validators=[
            DataRequired(_l("请输入电子邮箱")),
            Email(_l("电子邮箱格式不正确")),
            Length(max=254),
        ],
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=200)]
    )
    remember = BooleanField(_l("记住我"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data.strip().lower()))
        if user and user.active and user.check_password(form.password.data):
            login_user(user, remember=form.remember.data)
            flash(_("欢迎回来，%(name)s", name=user.name), "success")
            return redirect(safe_target(request.args.get("next")) or url_for("public.home"))
        form.password.errors.append(_("邮箱或密码不正确"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Ends every copy of the session, not just this browser's: a captured cookie dies with it.
    accounts.sign_out(current_user)
    db.session.commit()
    logout_user()
    flash(_("您已退出登录"), "info")
    return redirect(url_for("public.home"))
