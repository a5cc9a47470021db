"""Login and logout."""

from __future__ import annotations

import math
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from models import db, utcnow

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
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.sign_in(form.email.data, form.password.data)
        except accounts.SignInThrottled as e:
            form.password.errors.append(_retry_message(e.retry_at))
            status = 429
        except accounts.SignInRefused:
            db.session.commit()  # the failure counts towards the address's backoff
            form.password.errors.append(_("邮箱或密码不正确"))
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            flash(_("欢迎回来，%(name)s", name=user.name), "success")
            return redirect(safe_target(request.args.get("next")) or url_for("public.home"))
    return render_template("auth/login.html", form=form), status


def _retry_message(retry_at: datetime) -> str:
    wait = max(1, math.ceil((retry_at - utcnow()).total_seconds()))
    if wait < 60:
        return _("该账号登录失败次数过多，请在%(seconds)s秒后再试", seconds=wait)
    return _("该账号登录失败次数过多，请在%(minutes)s分钟后再试", minutes=math.ceil(wait / 60))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Ends every copy of the session, not just this browser's: a captured cookie dies with it.
    accounts.sign_out(current_user)
    db.session.commit()
    logout_user()
    flash(_("您已退出登录"), "info")
    return redirect(url_for("public.home"))
