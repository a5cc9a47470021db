"""Forms that pages of several blueprints show: choice lists, the requests an institution or
enterprise sends from a public page (揭榜, 分级保密 access, 请经纪人牵线), and a broker's decision
on a 组合方案 (its page is shared with the parties)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from models.challenges import PITCH_LIMIT
from models.enums import REJECTION_REASONS


def options(pairs) -> list[SelectChoice]:
    """Choices for select, radio and checkbox fields from (value, label) pairs or a dict.

    Plain-string labels are catalogue msgids (the enum labels), shown in the reader's language."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return [
        SelectChoice(value, _l(label) if isinstance(label, str) else label)
        for value, label in items
    ]


class SubmissionForm(FlaskForm):
    """揭榜: one of the institution's published outcomes and how it meets the indicators."""

    # The service decides whose outcome may be entered, so a foreign id is refused there.
    outcome_id = SelectField(
        _l("用于揭榜的成果"),
        validate_choice=False,
        validators=[DataRequired(_l("请选择用于揭榜的成果"))],
    )
    pitch = TextAreaField(
        _l("揭榜说明"),
        validators=[
            DataRequired(_l("请填写揭榜说明")),
            Length(max=PITCH_LIMIT, message=_l("不能超过2000个字")),
        ],
        description=_l("逐项说明成果如何满足榜单的量化指标，例如实测数据、试点或应用情况。"),
    )

    def set_outcomes(self, outcomes, chosen=None) -> None:
        """The picker's page of outcomes; ``chosen`` (the outcome just submitted) stays
        selectable when the page shown does not hold it."""
        listed = list(outcomes)
        if chosen is not None and all(o.id != chosen.id for o in listed):
            listed.insert(0, chosen)
        self.outcome_id.choices = options(
            [("", _l("请选择")), *((str(o.id), o.title) for o in listed)]
        )

    def outcome_ref(self) -> int | None:
        try:
            return int(self.outcome_id.data)
        except (TypeError, ValueError):
            return None


class AccessRequestForm(FlaskForm):
    """分级保密: ask the owner of a 脱敏 demand to see who posted it."""

    purpose = TextAreaField(
        _l("申请理由"),
        validators=[
            DataRequired(_l("请说明为什么需要查看完整信息")),
            Length(max=500, message=_l("不能超过500个字")),
        ],
        description=_l("例如：本单位有相关成果，希望与发布方直接洽谈合作细节。"),
    )
    nda = BooleanField(
        _l("我代表本单位同意上述保密承诺"),
        validators=[DataRequired(_l("请阅读并同意保密承诺后再申请"))],
    )


class IntroRequestForm(FlaskForm):
    """请经纪人牵线对接, with an optional word to the broker."""

    message = TextAreaField(
        _l("给经纪人的留言（可选）"),
        validators=[Optional(), Length(max=1000, message=_l("不能超过1000个字"))],
    )


class BundleDecisionForm(FlaskForm):
    """The bundle's version the broker saw, so two brokers never both decide it."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class BundleAcceptForm(BundleDecisionForm):
    comment = TextAreaField(_l("备注（可选）"), validators=[Optional(), Length(max=2000)])


class BundleRejectForm(BundleDecisionForm):
    reason = SelectField(
        _l("拒绝原因"),
        choices=options([("", _l("请选择")), *REJECTION_REASONS.items()]),
        validators=[DataRequired(message=_l("请选择拒绝原因"))],
    )
    comment = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
