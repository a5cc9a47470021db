"""Forms of the broker cockpit, term-sheet page and consent page; messages in Chinese."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from market.i18n import chinese_marker
from market.licensing import ENUM_LABELS, FIELD_LABELS, SUPPORTED_MODES
from market.licensing.exports import SECTIONS
from market.licensing.sheet import ENUM_VALUES, FIELD_UNITS, NULLABLE_FIELDS, READ_ONLY_FIELDS
from models.enums import COOPERATION_MODES, N_, REJECTION_REASONS

from ..services.notices import METHODS, RESOLUTIONS

MONEY_MAX = Decimal("100000000000")  # 元: a thousand 亿
REQUIRED = _l("此项必填")


def options(items) -> list[SelectChoice]:
    """Choices as SelectChoice objects (tuples are deprecated in WTForms 3.3); plain-string labels
    are catalogue msgids, shown in the reader's language."""
    return [
        SelectChoice(str(value), _l(label) if isinstance(label, str) else label)
        for value, label in items
    ]


def profile_options() -> list[SelectChoice]:
    """Policy profiles by name: the names of Chinese policy documents, kept as written."""
    from ..services.terms import profile_choices

    marker = chinese_marker()
    return [SelectChoice(key, name, render_kw=marker) for key, name in profile_choices()]


def fen(yuan_amount: Decimal | None) -> int | None:
    """元 with up to two decimals → integer fen."""
    if yuan_amount is None:
        return None
    return int((yuan_amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money_field(label, required: bool = True) -> DecimalField:
    first = InputRequired(message=REQUIRED) if required else Optional()
    return DecimalField(
        label,
        places=2,
        validators=[
            first,
            NumberRange(min=0, max=MONEY_MAX, message=_l("金额须在0到1000亿元之间")),
        ],
    )


class VersionedForm(FlaskForm):
    version = HiddenField()

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class AcceptForm(VersionedForm):
    comment = TextAreaField(_l("备注（可选）"), validators=[Optional(), Length(max=2000)])


class RejectForm(VersionedForm):
    reason = SelectField(
        _l("拒绝原因"),
        choices=options([("", _l("请选择")), *REJECTION_REASONS.items()]),
        validators=[DataRequired(message=_l("请选择拒绝原因"))],
    )
    comment = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])


class MoveForm(VersionedForm):
    to_stage = SelectField(_l("转到阶段"), validators=[DataRequired(message=_l("请选择阶段"))])
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    registration_no = StringField(
        _l("技术合同登记号（转为“已登记”时必填）"), validators=[Optional(), Length(max=64)]
    )


class DraftTermsForm(FlaskForm):
    profile_key = SelectField(_l("政策档案"), validators=[DataRequired(message=REQUIRED)])
    mode = SelectField(
        _l("合作方式"),
        choices=options((m, COOPERATION_MODES.get(m, m)) for m in SUPPORTED_MODES),
        default="use_first",
        validators=[DataRequired(message=REQUIRED)],
    )


class NoticeForm(FlaskForm):
    price = money_field(_l("成交价格（元，已有条款书时留空即取其合同成交额）"), required=False)
    method = SelectField(_l("定价方式"), choices=options(METHODS.items()), default="negotiated")
    office = StringField(
        _l("异议受理部门（留空为权利人的成果转化管理部门）"),
        validators=[Optional(), Length(max=120)],
    )
    contact = StringField(
        _l("异议联系方式（留空为经办经纪人邮箱）"), validators=[Optional(), Length(max=120)]
    )


class SubsidyForm(FlaskForm):
    amount = money_field(_l("技术转移服务补助金额（元）"))


class RewardForm(FlaskForm):
    recipient = SelectField(
        _l("奖励对象"), coerce=int, validators=[InputRequired(message=REQUIRED)]
    )
    amount = money_field(_l("奖励金额（元）"))
    note = StringField(_l("说明"), validators=[Optional(), Length(max=200)])


class ResolveForm(FlaskForm):
    decision = RadioField(
        _l("处理结果"),
        choices=options(RESOLUTIONS.items()),
        validators=[DataRequired(message=_l("请选择处理结果"))],
    )
    note = TextAreaField(
        _l("处理说明"),
        validators=[
            DataRequired(message=REQUIRED),
            Length(min=5, max=2000, message=_l("5到2000个字")),
        ],
    )


class ConsentForm(FlaskForm):
    pass


class IntroAnswerForm(FlaskForm):
    """A broker's answer to a party's 牵线 request; a refusal needs a reason the party reads."""

    decision = RadioField(
        _l("答复"),
        choices=options(
            [
                ("accepted", _l("接受，我将联系双方")),
                ("declined", _l("婉拒（请说明原因）")),
            ]
        ),
        validators=[DataRequired(message=_l("请选择答复"))],
    )
    note = TextAreaField(
        _l("说明（婉拒时必填，对方可见）"),
        validators=[Optional(), Length(max=1000, message=_l("不能超过1000个字"))],
    )


class ReasonReviewForm(FlaskForm):
    decision = RadioField(
        _l("审核结果"),
        choices=options(
            [
                ("upheld", _l("理由成立，暂不转入")),
                ("rejected", _l("理由不成立，请权利人重新确认")),
            ]
        ),
        validators=[DataRequired(message=_l("请选择审核结果"))],
    )
    note = TextAreaField(
        _l("审核意见"),
        validators=[
            DataRequired(message=_l("请写明审核意见")),
            Length(min=5, max=2000, message=_l("审核意见须为5到2000个字")),
        ],
    )


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        _l("不同意的理由"),
        validators=[
            DataRequired(message=_l("请说明理由")),
            Length(min=5, max=2000, message=_l("理由须为5到2000个字")),
        ],
    )


class SimulateForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    low = money_field(_l("保守情景年销售额（万元）"))
    base = money_field(_l("基准情景年销售额（万元）"))
    high = money_field(_l("乐观情景年销售额（万元）"))
    discount = DecimalField(
        _l("折现率（%）"),
        places=2,
        default=Decimal("8"),
        validators=[
            InputRequired(message=REQUIRED),
            NumberRange(min=0, max=100, message=_l("折现率须在0到100之间")),
        ],
    )


# -- the term-sheet edit form, built from the engine's field list --------------------------------

BOOL_CHOICES = [("true", _l("是")), ("false", _l("否"))]


def editable_fields() -> list[str]:
    names = [n for _, fields in SECTIONS for n in fields]
    return [n for n in names if n not in READ_ONLY_FIELDS and n in FIELD_UNITS]


def _term_label(label: str, suffix: str = "") -> LazyString:
    """A term's label (a catalogue msgid) and its unit suffix, both in the reader's language."""
    return LazyString(lambda: gettext(label) + (gettext(suffix) if suffix else ""))


def _term_field(name: str):
    unit, label = FIELD_UNITS[name], FIELD_LABELS[name]
    nullable = name in NULLABLE_FIELDS
    first = Optional() if nullable else InputRequired(message=REQUIRED)
    if unit == "fen":
        return DecimalField(_term_label(label, N_("（元）")), places=2, validators=[first])
    if unit == "bps":
        return DecimalField(
            _term_label(label, "（%）"),
            places=2,
            validators=[first, NumberRange(min=0, max=100, message=_l("须在0到100之间"))],
        )
    if unit in ("months", "days"):
        suffix = N_("（个月）") if unit == "months" else N_("（日）")
        return IntegerField(_term_label(label, suffix), validators=[first])
    if unit == "date":
        return DateField(_term_label(label), validators=[first])
    if unit == "bool":
        return SelectField(_term_label(label), choices=options(BOOL_CHOICES))
    if unit == "enum":
        labels = ENUM_LABELS.get(name, {})
        return SelectField(
            _term_label(label),
            choices=options((v, labels.get(v, v)) for v in ENUM_VALUES[name]),
        )
    # Free text may stay empty until negotiated (shown as 待定).
    return StringField(_term_label(label), validators=[Optional(), Length(max=200)])


# Milestone and 延期支付 rows: blank rows are ignored, a started row must be complete.
MAX_ROWS = 30
REVENUE_EVENT = "revenue_at_least"


def _row_money(label, minimum: Decimal = Decimal(0), message=None) -> DecimalField:
    return DecimalField(
        label,
        places=2,
        validators=[
            Optional(),
            NumberRange(
                min=minimum, max=MONEY_MAX, message=message or _l("金额须在0到1000亿元之间")
            ),
        ],
    )


class RowForm(Form):
    """One row of a schedule table (no CSRF of its own: the page form carries it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.row_errors: list[str] = []  # rule violations the engine pinned on this row

    def is_blank(self) -> bool:
        return all(f.data in (None, "") for f in self)

    def _require(self, field, message) -> bool:
        if field.data in (None, "") and not field.errors:
            field.errors.append(message)
            return False
        return True


class MilestoneRowForm(RowForm):
    event = SelectField(
        _l("里程碑事件"),
        choices=options([("", _l("请选择")), *ENUM_LABELS["milestone_event"].items()]),
        validators=[Optional()],
    )
    threshold = _row_money(
        _l("约定累计收入（元）"), Decimal("0.01"), _l("约定额须大于0且不超过1000亿元")
    )
    amount = _row_money(_l("支付金额（元）"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.is_blank():
            return ok
        ok = self._require(self.event, _l("请选择里程碑事件")) and ok
        ok = self._require(self.amount, _l("请填写支付金额")) and ok
        if self.event.data == REVENUE_EVENT:
            ok = self._require(self.threshold, _l("请填写约定的累计销售收入")) and ok
        elif self.threshold.data is not None:
            self.threshold.errors.append(_l("只有“累计销售收入达到约定额”需要填写约定额"))
            ok = False
        return ok

    def engine_row(self) -> dict[str, Any]:
        threshold = self.threshold.data if self.event.data == REVENUE_EVENT else None
        return {
            "event": self.event.data,
            "amount": fen(self.amount.data),
            "threshold": fen(threshold),
        }


class InstalmentRowForm(RowForm):
    due_on = DateField(_l("到期日"), validators=[Optional()], render_kw={"type": "date"})
    amount = _row_money(
        _l("本期金额（元）"), Decimal("0.01"), _l("每期金额须大于0且不超过1000亿元")
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.is_blank():
            return ok
        ok = self._require(self.due_on, _l("请填写到期日（YYYY-MM-DD）")) and ok
        ok = self._require(self.amount, _l("请填写本期金额")) and ok
        return ok

    def engine_row(self) -> dict[str, Any]:
        return {"due_on": self.due_on.data.isoformat(), "amount": fen(self.amount.data)}


def _rows(form_class: type[RowForm]) -> FieldList:
    return FieldList(
        FormField(form_class),
        min_entries=1,
        max_entries=MAX_ROWS,
    )


class TermsFormBase(VersionedForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_errors: dict[str, list[str]] = {}  # rules broken by a row table as a whole


def terms_form_class() -> type[VersionedForm]:
    attrs: dict[str, Any] = {name: _term_field(name) for name in editable_fields()}
    attrs["milestones"] = _rows(MilestoneRowForm)
    attrs["deferred_schedule"] = _rows(InstalmentRowForm)
    # Present only when the page sent its row tables: a post without them leaves the rows alone.
    attrs["rows_sent"] = HiddenField(default="1")
    return type("TermsForm", (TermsFormBase,), attrs)


def list_rows(form, name: str) -> list[dict[str, Any]]:
    """The non-blank rows of a schedule table as the engine reads them."""
    return [entry.form.engine_row() for entry in form[name] if not entry.form.is_blank()]


def current_rows(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A stored sheet's milestones or instalments in the same plain shape as `list_rows`."""
    if name == "milestones":
        return [
            {
                "event": m["event"],
                "amount": m["amount"]["value"],
                "threshold": m["threshold"]["value"] if m.get("threshold") else None,
            }
            for m in data.get("milestones", [])
        ]
    return [
        {"due_on": i["due_on"]["value"], "amount": i["amount"]["value"]}
        for i in data.get("deferred_schedule", [])
    ]


def row_form_data(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Stored rows as the row forms show them (元, dates), plus one blank row to add."""
    shown = []
    for row in current_rows(data, name):
        if name == "milestones":
            shown.append(
                {
                    "event": row["event"],
                    "amount": _yuan(row["amount"]),
                    "threshold": _yuan(row["threshold"]),
                }
            )
        else:
            shown.append(
                {"due_on": date.fromisoformat(row["due_on"]), "amount": _yuan(row["amount"])}
            )
    return [*shown, {}]


def _yuan(amount_fen: int | None) -> Decimal | None:
    return None if amount_fen is None else Decimal(amount_fen) / 100


def form_value(name: str, value: Any) -> Any:
    """An engine value as the form shows it (元, %, yes/no)."""
    unit = FIELD_UNITS[name]
    if value is None:
        return None
    if unit == "fen":
        return Decimal(value) / 100
    if unit == "bps":
        return Decimal(value) / 100
    if unit == "bool":
        return "true" if value else "false"
    if unit == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def engine_value(name: str, value: Any) -> Any:
    """A form value as the engine reads it (fen, bps, ISO dates)."""
    unit = FIELD_UNITS[name]
    if unit == "text":
        return (value or "").strip()
    if value is None or value == "":
        return None
    if unit in ("fen", "bps"):
        return fen(value)
    if unit == "date":
        return value.isoformat()
    if unit == "bool":
        return value == "true"
    return value
