"""Forms for registration, password reset, profile and organisation review."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from models.enums import ORG_KINDS

from ..ui.forms import options

PASSWORD_RULES = [
    DataRequired(_l("请输入密码")),
    Length(min=8, max=200, message=_l("密码长度须在8到200个字符之间")),
]


class RegisterForm(FlaskForm):
    org_name = StringField(
        _l("机构全称"),
        validators=[
            DataRequired(_l("请输入机构全称")),
            Length(max=200, message=_l("不能超过200个字")),
        ],
        description=_l("与营业执照或法人登记证书上的名称一致"),
    )
    kind = SelectField(
        _l("机构类型"),
        choices=options([("", _l("请选择")), *ORG_KINDS.items()]),
        default="",
        validators=[DataRequired(_l("请选择机构类型"))],
        description=_l(
            "企业发布场景需求；高校、科研院所、医疗卫生机构发布科技成果；服务机构为技术经纪人。"
        ),
    )
    province = StringField(
        _l("所在省份"),
        validators=[
            DataRequired(_l("请输入所在省份")),
            Length(max=32, message=_l("不能超过32个字")),
        ],
    )
    city = StringField(
        _l("所在城市"),
        validators=[
            DataRequired(_l("请输入所在城市")),
            Length(max=32, message=_l("不能超过32个字")),
        ],
    )
    is_sme = BooleanField(_l("本机构是中小企业"))
    state_owned = BooleanField(
        _l("本机构是国有企业（国有独资或国有控股）"),
        description=_l("仅企业填写；国有企业财政资助形成的应用技术类成果适用到期即转。"),
    )
    name = StringField(
        _l("您的姓名"),
        validators=[
            DataRequired(_l("请输入您的姓名")),
            Length(max=80, message=_l("不能超过80个字")),
        ],
    )
    email = EmailField(
        _l("电子邮箱"),
        validators=[
            DataRequired(_l("请输入电子邮箱")),
            Email(_l("电子邮箱格式不正确")),
            Length(max=254),
        ],
        description=_l("用于登录和找回密码"),
    )
    password = PasswordField(_l("密码"), validators=PASSWORD_RULES, description=_l("至少8个字符"))
    confirm = PasswordField(
        _l("再次输入密码"),
        validators=[
            DataRequired(_l("请再次输入密码")),
            EqualTo("password", _l("两次输入的密码不一致")),
        ],
    )


class ResetRequestForm(FlaskForm):
    email = EmailField(
        _l("注册时使用的电子邮箱"),
        validators=[DataRequired(_l("请输入电子邮箱")), Email(_l("电子邮箱格式不正确"))],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=PASSWORD_RULES, description=_l("至少8个字符"))
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[
            DataRequired(_l("请再次输入密码")),
            EqualTo("password", _l("两次输入的密码不一致")),
        ],
    )


class ProfileForm(FlaskForm):
    name = StringField(
        _l("姓名"),
        validators=[DataRequired(_l("请输入姓名")), Length(max=80, message=_l("不能超过80个字"))],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("当前密码"), validators=[DataRequired(_l("请输入当前密码"))]
    )
    new_password = PasswordField(
        _l("新密码"), validators=PASSWORD_RULES, description=_l("至少8个字符")
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[
            DataRequired(_l("请再次输入密码")),
            EqualTo("new_password", _l("两次输入的密码不一致")),
        ],
    )


class EndSessionsForm(FlaskForm):
    """退出所有设备: only the CSRF token."""


class ReviewForm(FlaskForm):
    reason = TextAreaField(
        _l("拒绝理由（可选）"),
        validators=[Optional(), Length(max=500, message=_l("不能超过500个字"))],
    )
