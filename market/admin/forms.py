"""Forms of the admin pages; messages in Chinese next to their fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..services.cases import SUMMARY_MAX, SUMMARY_MIN, TITLE_MAX


class CaseForm(FlaskForm):
    title = StringField(
        _l("案例标题"),
        validators=[
            DataRequired(message=_l("请填写案例标题")),
            Length(max=TITLE_MAX, message=_l("案例标题不能超过%(n)s个字", n=TITLE_MAX)),
        ],
    )
    summary = TextAreaField(
        _l("案例摘要"),
        validators=[
            DataRequired(message=_l("请填写案例摘要")),
            Length(
                min=SUMMARY_MIN,
                max=SUMMARY_MAX,
                message=_l("案例摘要须为%(lo)s到%(hi)s个字", lo=SUMMARY_MIN, hi=SUMMARY_MAX),
            ),
        ],
    )


class CaseActionForm(FlaskForm):
    """Publish / unpublish: a button that only carries the CSRF token."""


class SweepForm(FlaskForm):
    """立即排查: runs the 到期即转 sweep for today (CSRF only; nothing to fill in)."""
