"""Forms for the workspaces: the guided 场景需求 form, the 科技成果 form, patents and uploads."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError
from wtforms.widgets import CheckboxInput, ListWidget

from market.i18n import chinese_marker
from market.search.codes import split_codes
from market.ui.forms import options
from models import local_today
from models.challenges import NOTE_LIMIT
from models.enums import (
    CONFIDENTIALITY,
    COOPERATION_MODES,
    INDICATOR_OPS,
    MATURITY,
    MATURITY_TRL,
    PATENT_KINDS,
    PATENT_STATUS,
    RESEARCH_TYPES,
    SCENARIO_TYPES,
)
from models.listings import TITLE_LIMIT, USE_RIGHT_YEARS

SEED_DEMANDS = Path(__file__).resolve().parent.parent.parent / "seed_data" / "demands.json"
OTHER_FIELD = "其他"
MIN_INDICATOR_ROWS = 3
MONEY_LIMIT = Decimal("10000000")  # 万元: a thousand 亿, far beyond any real listing

CONFIDENTIALITY_HELP = {
    "public": _l("所有访客都能看到需求内容和贵单位名称。"),
    "desensitized": _l("所有访客都能看到需求内容，但不显示贵单位名称；请勿在描述中写出单位名称。"),
    "broker_only": _l("只有平台的技术经纪人能看到，由经纪人代为寻找合适的成果。"),
}
OFFERS = {
    "site": _l("应用场地"),
    "data": _l("数据"),
    "pilot": _l("中试线或试验条件"),
}
OFFER_PREFIX = "可提供："


@lru_cache(maxsize=1)
def listing_fields() -> tuple[str, ...]:
    """The fields used by the seed catalogue, so new listings share the public filter's words."""
    records = json.loads(SEED_DEMANDS.read_text(encoding="utf-8"))
    return tuple(sorted({r["field"] for r in records if r.get("field")}))


def field_choices(current: str | None = None) -> list[SelectChoice]:
    """Seed fields plus 其他; a listing's own older value stays selectable when editing it."""
    known = list(listing_fields())
    if current and current not in known and current != OTHER_FIELD:
        known.append(current)
    # Field names are the catalogue's own vocabulary (stored and matched as Chinese text), so they
    # stay Chinese in every language, marked as such for screen readers.
    fields = [SelectChoice(f, f, render_kw=chinese_marker()) for f in known]
    return [*options([("", _l("请选择"))]), *fields, *options([(OTHER_FIELD, _l("其他"))])]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _money(label) -> DecimalField:
    return DecimalField(
        label,
        places=None,
        validators=[
            Optional(),
            NumberRange(min=0, max=MONEY_LIMIT, message=_l("请输入0到1000万之间的金额（万元）")),
        ],
    )


class IndicatorRow(Form):
    """One quantified indicator; a row left blank is ignored."""

    name = StringField(_l("指标名称"), validators=[Length(max=60, message=_l("不能超过60个字"))])
    op = SelectField(_l("比较"), choices=options(INDICATOR_OPS), default=">=")
    value = StringField(_l("数值"), validators=[Length(max=30)])
    unit = StringField(_l("单位"), validators=[Length(max=16, message=_l("不能超过16个字"))])

    def is_blank(self) -> bool:
        return not (self.name.data or "").strip() and not (self.value.data or "").strip()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.is_blank():
            return ok
        if not (self.name.data or "").strip():
            self.name.errors = [*self.name.errors, _("请填写指标名称")]
            ok = False
        try:
            float((self.value.data or "").strip())
        except ValueError:
            self.value.errors = [*self.value.errors, _("请填写数字，例如 95 或 0.5")]
            ok = False
        return ok

    def as_dict(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "op": self.op.data,
            "value": float(self.value.data.strip()),
            "unit": (self.unit.data or "").strip(),
        }


class IndicatorsMixin:
    def indicator_rows(self) -> list[dict]:
        return [row.form.as_dict() for row in self.indicators if not row.form.is_blank()]

    def pad_indicators(self) -> None:
        """Always offer empty rows (at least three in all) so the form works without JavaScript."""
        if all(not row.form.is_blank() for row in self.indicators):
            self.indicators.append_entry()
        while len(self.indicators) < MIN_INDICATOR_ROWS:
            self.indicators.append_entry()


class DemandForm(IndicatorsMixin, FlaskForm):
    title = StringField(
        _l("需求名称"),
        validators=[
            DataRequired(_l("请填写需求名称")),
            Length(max=TITLE_LIMIT, message=_l("不能超过200个字")),
        ],
        description=_l("一句话说清要解决什么问题，例如“海上风电叶片无人机自主巡检”。"),
    )
    description = TextAreaField(
        _l("需求描述"),
        validators=[
            DataRequired(_l("请填写需求描述")),
            Length(max=20000, message=_l("不能超过20000个字")),
        ],
        description=_l(
            "写清应用场景、目前怎么做、现有水平、想达到什么效果。数字越具体，匹配越准。"
        ),
    )
    field = SelectField(_l("所属领域"), default="", validators=[DataRequired(_l("请选择所属领域"))])
    scenario_type = SelectField(_l("场景类型"), choices=options(SCENARIO_TYPES), default="industry")
    industry_code = StringField(
        _l("国民经济行业代码（可选）"),
        validators=[Optional(), Length(max=8, message=_l("行业代码最多8位"))],
        description=_l(
            "按《国民经济行业分类》（GB/T 4754-2017）填写，例如 C3825；不清楚可以留空。"
        ),
    )
    ipc_codes = StringField(
        _l("IPC分类号（可选）"),
        validators=[Optional(), Length(max=400, message=_l("不能超过400个字"))],
        description=_l("例如 H01M 或 H01M 10/48，多个用分号隔开；可点选系统建议的分类。"),
    )
    offers = MultiCheckboxField(_l("可提供的场景资源"), choices=options(OFFERS))
    offered_detail = TextAreaField(
        _l("场景资源说明（可选）"),
        validators=[Optional(), Length(max=5000, message=_l("不能超过5000个字"))],
        description=_l("例如：开放2台设备作为试点，提供约1万张已标注的历史图像。"),
    )
    indicators = FieldList(FormField(IndicatorRow), min_entries=MIN_INDICATOR_ROWS, max_entries=30)
    budget_min = _money(_l("预算下限（万元）"))
    budget_max = _money(_l("预算上限（万元）"))
    cooperation_modes = MultiCheckboxField(_l("接受的合作方式"), choices=options(COOPERATION_MODES))
    required_maturity = SelectField(
        _l("要求的技术成熟度"),
        choices=options([("", _l("不限")), *MATURITY.items()]),
        default="",
        validators=[Optional()],
        description=_l("小试：实验室验证；中试：小批量试产或现场试用；产业化：已规模应用。"),
    )
    deadline = DateField(_l("征集截止日期"), validators=[Optional()], format="%Y-%m-%d")
    confidentiality = RadioField(_l("公开范围"), choices=options(CONFIDENTIALITY), default="public")
    reward = _money(_l("揭榜挂帅奖励（万元，可选）"))
    challenge_deadline = DateField(
        _l("揭榜截止日期（可选）"), validators=[Optional()], format="%Y-%m-%d"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field.choices = field_choices(getattr(kwargs.get("obj"), "field", None))

    def validate_budget_max(self, field) -> None:
        low, high = self.budget_min.data, field.data
        if low is not None and high is not None and high < low:
            raise FieldError(_("预算上限不能小于下限"))

    def validate_deadline(self, field) -> None:
        if field.data and field.data < local_today() and field.object_data != field.data:
            raise FieldError(_("截止日期不能早于今天"))

    def validate_challenge_deadline(self, field) -> None:
        if field.data and self.reward.data is None:
            raise FieldError(_("设置揭榜截止日期时，请同时填写揭榜奖励"))
        if field.data and field.data < local_today() and field.object_data != field.data:
            raise FieldError(_("揭榜截止日期不能早于今天"))

    def service_data(self) -> dict:
        """The fields as ``services.listings.post_demand`` takes them."""
        from ..services.listings import wan_to_fen

        return {
            "title": self.title.data,
            "description": self.description.data,
            "field": self.field.data or None,
            "scenario_type": self.scenario_type.data,
            "industry_code": (self.industry_code.data or "").strip() or None,
            "ipc_codes": split_codes(self.ipc_codes.data),
            "indicators": self.indicator_rows(),
            "offered_resources": compose_offers(self.offers.data, self.offered_detail.data),
            "budget_min_fen": wan_to_fen(self.budget_min.data, "budget_min", "预算下限"),
            "budget_max_fen": wan_to_fen(self.budget_max.data, "budget_max", "预算上限"),
            "cooperation_modes": self.cooperation_modes.data,
            "required_maturity": self.required_maturity.data or None,
            "deadline": self.deadline.data,
            "confidentiality": self.confidentiality.data,
            "reward_fen": wan_to_fen(self.reward.data, "reward", "揭榜奖励"),
            "challenge_deadline": self.challenge_deadline.data,
        }

    def load(self, demand) -> None:
        """Fill a fresh form (GET) from a stored demand."""
        offers, detail = split_offers(demand.offered_resources)
        self.offers.data, self.offered_detail.data = offers, detail
        self.budget_min.data = fen_to_wan(demand.budget_min_fen)
        self.budget_max.data = fen_to_wan(demand.budget_max_fen)
        self.reward.data = fen_to_wan(demand.reward_fen)
        self.ipc_codes.data = "；".join(demand.ipc_codes or [])
        load_indicators(self, demand.indicators)


def load_indicators(form, rows: list[dict]) -> None:
    while len(form.indicators):
        form.indicators.pop_entry()
    for row in rows or []:
        form.indicators.append_entry(
            {
                "name": row["name"],
                "op": row["op"],
                "value": f"{row['value']:g}",
                "unit": row["unit"],
            }
        )
    form.pad_indicators()


def fen_to_wan(fen: int | None) -> Decimal | None:
    # Decimal division keeps the smallest exact form: 150000000 fen → 150, 1500000 → 1.5.
    return None if fen is None else Decimal(fen) / 1_000_000


def compose_offers(offers: list[str], detail: str | None) -> str | None:
    """Offered resources as one readable text: a first line naming what is offered, then details."""
    labels = [str(OFFERS[o]) for o in offers or [] if o in OFFERS]
    lines = [OFFER_PREFIX + "、".join(labels)] if labels else []
    if detail and detail.strip():
        lines.append(detail.strip())
    return "\n".join(lines) or None


def split_offers(text: str | None) -> tuple[list[str], str]:
    if not text:
        return [], ""
    first, _sep, rest = text.partition("\n")
    if not first.startswith(OFFER_PREFIX):
        return [], text
    names = first.removeprefix(OFFER_PREFIX).split("、")
    by_label = {str(label): code for code, label in OFFERS.items()}
    return [by_label[n] for n in names if n in by_label], rest


USE_RIGHT_YEARS_ERROR = _l("长期使用权年限须为1到30之间的整数（年）")


class OutcomeForm(IndicatorsMixin, FlaskForm):
    title = StringField(
        _l("成果名称"),
        validators=[
            DataRequired(_l("请填写成果名称")),
            Length(max=TITLE_LIMIT, message=_l("不能超过200个字")),
        ],
    )
    abstract = TextAreaField(
        _l("成果简介"),
        validators=[Optional(), Length(max=20000, message=_l("不能超过20000个字"))],
        description=_l("用企业听得懂的话写：解决什么问题、关键性能、适用场景、已有应用。"),
    )
    field = SelectField(_l("所属领域"), default="", validators=[Optional()])
    ipc_codes = StringField(
        _l("IPC分类号（可选）"),
        validators=[Optional(), Length(max=400)],
        description=_l("例如 G06T 或 H01M 10/48，多个用分号隔开；可点选系统建议的分类。"),
    )
    maturity = SelectField(
        _l("成熟度"),
        choices=options([("", _l("请选择")), *MATURITY.items()]),
        default="",
        validators=[DataRequired(_l("请选择成熟度"))],
    )
    trl = IntegerField(
        _l("技术就绪度（TRL 1–9）"),
        validators=[Optional(), NumberRange(1, 9, message=_l("请输入1到9之间的整数"))],
        description=_l("小试对应1–4级，中试5–6级，产业化7–9级。"),
    )
    research_type = SelectField(
        _l("研究类型"),
        choices=options([("", _l("未填写（有专利的按应用技术）")), *RESEARCH_TYPES.items()]),
        default="",
        validators=[Optional()],
        description=_l("财政资助的应用技术类成果长期未实施的，进入到期即转（先用后转）清单。"),
    )
    indicators = FieldList(FormField(IndicatorRow), min_entries=MIN_INDICATOR_ROWS, max_entries=30)
    incumbent_comparison = TextAreaField(
        _l("与现有技术对比"),
        validators=[Optional(), Length(max=5000, message=_l("不能超过5000个字"))],
        description=_l("与市场上主流产品或方法相比好在哪里，最好给出数字。"),
    )
    transfer_modes = MultiCheckboxField(_l("转化方式"), choices=options(COOPERATION_MODES))
    asking_price = _money(_l("报价（万元，可选）"))
    use_first_eligible = BooleanField(
        _l("支持先用后转"),
        description=_l("中小企业可先免费或低价使用，产生收益后再付费转化。"),
    )
    team = StringField(
        _l("成果团队（可选）"),
        validators=[Optional(), Length(max=400, message=_l("不能超过400个字"))],
    )
    team_share_pct = IntegerField(
        _l("团队赋权比例（%）"),
        validators=[Optional(), NumberRange(0, 100, message=_l("请输入0到100之间的整数"))],
        description=_l("职务科技成果赋予完成团队的所有权或长期使用权比例；深圳等地要求不低于70%。"),
    )
    use_right_years = IntegerField(
        _l("长期使用权年限（年）"),
        validators=[Optional()],
        invalid_value_message=USE_RIGHT_YEARS_ERROR,
        description=_l("赋予完成团队长期使用权的，填写年限；深圳措施（十二）为10年。"),
    )
    fiscal_funded = BooleanField(
        _l("财政资金资助形成"),
        description=_l("财政资助的成果如长期未实施，将按规定进入先用后转清单。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field.choices = field_choices(getattr(kwargs.get("obj"), "field", None))

    def validate_trl(self, field) -> None:
        span = MATURITY_TRL.get(self.maturity.data or "")
        if field.data is not None and span and not span[0] <= field.data <= span[1]:
            label = MATURITY[self.maturity.data]
            raise FieldError(_("成熟度“%(m)s”对应TRL %(a)s–%(b)s级", m=label, a=span[0], b=span[1]))

    def validate_use_right_years(self, field) -> None:
        low, high = USE_RIGHT_YEARS
        if field.data is not None and not low <= field.data <= high:
            raise FieldError(str(USE_RIGHT_YEARS_ERROR))

    def ipc_list(self) -> list[str]:
        return split_codes(self.ipc_codes.data)

    def service_data(self) -> dict:
        from ..services.listings import wan_to_fen

        return {
            "title": self.title.data,
            "abstract": self.abstract.data,
            "field": self.field.data or None,
            "maturity": self.maturity.data or None,
            "trl": self.trl.data,
            "indicators": self.indicator_rows(),
            "incumbent_comparison": (self.incumbent_comparison.data or "").strip() or None,
            "transfer_modes": self.transfer_modes.data,
            "asking_price_fen": wan_to_fen(self.asking_price.data, "asking_price", "报价"),
            "use_first_eligible": self.use_first_eligible.data,
            "team": (self.team.data or "").strip() or None,
            "team_share_pct": self.team_share_pct.data,
            "use_right_years": self.use_right_years.data,
            "research_type": self.research_type.data or None,
            "fiscal_funded": self.fiscal_funded.data,
        }

    def load(self, outcome) -> None:
        self.asking_price.data = fen_to_wan(outcome.asking_price_fen)
        self.ipc_codes.data = "；".join(outcome.ipc_codes)
        load_indicators(self, outcome.indicators)


def split_multi(text: str | None) -> list[str]:
    """Values separated by ；, ;, ， or , (what people type in Chinese and English input modes)."""
    for sep in ("；", "，", ","):
        text = (text or "").replace(sep, ";")
    return [part.strip() for part in text.split(";") if part.strip()]


class PatentForm(FlaskForm):
    number = StringField(
        _l("专利号"),
        validators=[DataRequired(_l("请填写专利号")), Length(max=40, message=_l("专利号过长"))],
        description=_l("例如 CN202310123456.7 或 ZL202310123456.7"),
    )
    kind = SelectField(_l("专利类型"), choices=options(PATENT_KINDS), default="invention")
    applied_on = DateField(_l("申请日"), validators=[Optional()], format="%Y-%m-%d")
    granted_on = DateField(_l("授权日"), validators=[Optional()], format="%Y-%m-%d")
    expires_on = DateField(_l("到期日"), validators=[Optional()], format="%Y-%m-%d")
    legal_status = SelectField(_l("法律状态"), choices=options(PATENT_STATUS), default="granted")
    ipc = StringField(
        _l("IPC分类号"),
        validators=[Optional(), Length(max=400)],
        description=_l("多个用分号隔开"),
    )

    def service_data(self) -> dict:
        return {
            "number": self.number.data,
            "kind": self.kind.data,
            "applied_on": self.applied_on.data,
            "granted_on": self.granted_on.data,
            "expires_on": self.expires_on.data,
            "legal_status": self.legal_status.data,
            "ipc_codes": split_multi(self.ipc.data),
        }


class UploadForm(FlaskForm):
    file = FileField(
        _l("成果表格文件"),
        validators=[FileRequired(_l("请选择要上传的文件"))],
        description=_l(
            "支持 .xlsx 和 .csv（UTF-8 或 GBK 编码），最多5000行。请使用下载的模板填写。"
        ),
    )


class ConfirmImportForm(FlaskForm):
    publish = BooleanField(_l("导入后立即发布（不勾选则保存为草稿）"), default=True)


class VersionedForm(FlaskForm):
    version = HiddenField()

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class DecisionForm(VersionedForm):
    """入围 / 选定揭榜方 on one entry; the pressed button names the decision."""

    note = TextAreaField(
        _l("决定说明（可选）"),
        validators=[Optional(), Length(max=NOTE_LIMIT, message=_l("不能超过2000个字"))],
    )
    # 选定揭榜方 cannot be undone: it closes the challenge and marks every other entry.
    confirm_winner = BooleanField(_l("我确认选定该揭榜方（不可撤销，其余揭榜将标记为未入选）"))


class WithdrawForm(VersionedForm):
    pass


class AccessDecisionForm(FlaskForm):
    """The owner grants, refuses or revokes; the pressed button names the decision."""

    note = TextAreaField(
        _l("说明（拒绝时必填）"),
        validators=[Optional(), Length(max=500, message=_l("不能超过500个字"))],
    )
