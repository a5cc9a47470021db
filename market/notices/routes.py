"""Public 公示 pages: anyone may read a notice and file an objection while it is open."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from models import Notice, ValidationError, db, utcnow

from ..services import notices
from ..urls import page_number

bp = Blueprint("notices", __name__, url_prefix="/notices")


class ObjectionForm(FlaskForm):
    name = StringField(
        _l("姓名或单位"),
        validators=[
            DataRequired(message=_l("请填写姓名或单位")),
            Length(max=80, message=_l("不能超过80个字")),
        ],
    )
    contact = StringField(
        _l("联系方式（电话或邮箱）"),
        validators=[
            DataRequired(message=_l("请填写联系方式")),
            Length(min=5, max=120, message=_l("联系方式须为5到120个字符")),
        ],
    )
    text = TextAreaField(
        _l("异议内容"),
        validators=[
            DataRequired(message=_l("请填写异议内容")),
            Length(min=10, max=2000, message=_l("异议内容须为10到2000个字")),
        ],
    )


@bp.route("/")
def index():
    page = page_number(request.args.get("page"))
    result = notices.public_notices(page, current_app.config["PAGE_SIZE"])
    now = utcnow()
    return render_template(
        "notices/list.html",
        page=result,
        countdowns={n.id: notices.countdown(n, now) for n in result.items},
        methods=notices.METHODS,
        states=notices.NOTICE_STATES,
    )


@bp.route("/<int:notice_id>", methods=["GET", "POST"])
def show(notice_id: int):
    notice = db.get_or_404(Notice, notice_id)
    form = ObjectionForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                notices.file_objection(notice, form.name.data, form.contact.data, form.text.data)
                db.session.commit()
                flash(_("异议已提交，经办人将在处理后联系您"), "success")
                return redirect(url_for("notices.show", notice_id=notice_id))
            except ValidationError as e:
                db.session.rollback()
                _attach(form, e)
        status = 422
    return (
        render_template(
            "notices/show.html",
            notice=notice,
            withdrawn=notice.status == "withdrawn",
            countdown=notices.countdown(notice),
            form=form,
            objections=notices.objections_of(notice),
            objection_states=notices.OBJECTION_STATES,
            details=notice.details or {},
            methods=notices.METHODS,
            states=notices.NOTICE_STATES,
        ),
        status,
    )


def _attach(form: ObjectionForm, error: ValidationError) -> None:
    field = getattr(form, error.field or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
