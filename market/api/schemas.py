"""Marshmallow schemas of the REST API; the OpenAPI document is derived from them.

Input fields come from the small factories below so every validation message names the field in
Chinese (``标题不能为空``), and every string is bounded to what the database column holds.
New resources add their ``…In``/``…Patch``/``…Out`` schemas here.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, post_load, validate, validates_schema

from models.enums import (
    CONFIDENTIALITY,
    COOPERATION_MODES,
    INDICATOR_OPS,
    MATURITY,
    N_,
    PATENT_KINDS,
    PATENT_STATUS,
    RESEARCH_TYPES,
    ROLES,
    SCENARIO_TYPES,
)
from models.listings import USE_RIGHT_YEARS

from ..formatting import first_sentence
from ..urls import MAX_ID
from .messages import (
    BAD_CHARS,
    FEN,
    INVALID,
    NOT_BOOL,
    NOT_CHOICE,
    NOT_DATE,
    NOT_INTEGER,
    NOT_LIST,
    NOT_NUMBER,
    NOT_OBJECT,
    NOT_TEXT,
    NULL,
    OUT_OF_RANGE,
    REQUIRED,
    TOO_LONG,
    TOO_MANY_CHANGES,
    TOO_MANY_CODES,
    TOO_MANY_ITEMS,
    TOO_MANY_ROWS,
    VALUE_OUT_OF_RANGE,
    field_message,
)

MAX_FEN = 10**15  # ¥10 trillion: far above any deal, far below BIGINT
MAX_PAGE = 10_000
MAX_PER_PAGE = 100
PUBLISHABLE = {"draft": "草稿", "published": "已发布"}


# PostgreSQL refuses NUL in text; lone surrogates cannot be encoded as UTF-8. Written as a
# Regexp validator so the OpenAPI document declares it (as ``pattern``, valid ECMA-262 too).
TEXT_PATTERN = r"^[^\x00\ud800-\udfff]*$"


def _no_bad_chars(label: str) -> validate.Regexp:
    return validate.Regexp(TEXT_PATTERN, error=field_message(BAD_CHARS, label))


def _messages(label: str, invalid: str = INVALID) -> dict:
    return {
        "required": field_message(REQUIRED, label),
        "null": field_message(NULL, label),
        "invalid": field_message(invalid, label),
    }


def text(label: str, limit: int, required: bool = False, **kwargs) -> fields.String:
    checks = [
        validate.Length(max=limit, error=field_message(TOO_LONG, label, "max")),
        _no_bad_chars(label),
    ]
    if required:
        checks.insert(0, validate.Length(min=1, error=field_message(NULL, label)))
    kwargs.setdefault("allow_none", not required)
    kwargs.setdefault("metadata", {"description": label})
    return fields.String(
        required=required,
        validate=checks,
        error_messages=_messages(label, NOT_TEXT),
        **kwargs,
    )


def choice(label: str, options: dict, required: bool = False, **kwargs) -> fields.String:
    listed = "、".join(f"{code}（{name}）" for code, name in options.items())
    return fields.String(
        required=required,
        validate=validate.OneOf(
            list(options), error=NOT_CHOICE % {"label": label, "listed": listed}
        ),
        error_messages=_messages(label),
        metadata={"description": f"{label}：{listed}"},
        **kwargs,
    )


def choices(label: str, options: dict, **kwargs) -> fields.List:
    return fields.List(
        choice(label, options),
        validate=validate.Length(
            max=len(options), error=field_message(TOO_MANY_ITEMS, label, "max")
        ),
        error_messages=_messages(label, NOT_LIST),
        metadata={"description": label},
        **kwargs,
    )


def integer(label: str, low: int, high: int, strict: bool = True, **kwargs) -> fields.Integer:
    """Strict in JSON bodies (1.5 and "1" are refused); query strings are text, so not there."""
    return fields.Integer(
        strict=strict,
        validate=validate.Range(low, high, error=field_message(OUT_OF_RANGE, label, "min", "max")),
        error_messages=_messages(label, NOT_INTEGER),
        metadata={"description": label},
        **kwargs,
    )


def money(label: str, rule: str = "") -> fields.Integer:
    field = integer(f"{label}{FEN}", 0, MAX_FEN, allow_none=True)
    if rule:
        field.metadata["description"] = f"{label}（分）；{rule}"
    return field


def day(label: str) -> fields.Date:
    return fields.Date(
        allow_none=True,
        error_messages=_messages(label, NOT_DATE),
        metadata={"description": label},
    )


def flag(label: str) -> fields.Boolean:
    return fields.Boolean(
        error_messages=_messages(label, NOT_BOOL),
        metadata={"description": label},
    )


def code_list(label: str, limit: int = 20) -> fields.List:
    return fields.List(
        text(label, 32, required=True),
        validate=validate.Length(max=limit, error=field_message(TOO_MANY_CODES, label, "max")),
        error_messages=_messages(label, NOT_LIST),
        metadata={"description": label},
    )


class Label(fields.String):
    """A label whose source text is Chinese (enum and state labels), given in the request's
    language: ``?lang=en`` answers in English. Stored values and the ``*`` codes beside the
    labels never change with the language."""

    def _serialize(self, value, attr, obj, **kwargs):
        from ..i18n import label

        return None if value is None else label(value)


class ApiSchema(ma.Schema):
    """Unknown fields are refused, so a typo never silently does nothing."""

    class Meta:
        unknown = ma.RAISE

    error_messages = {"unknown": N_("不支持的字段"), "type": N_("请求内容必须是 JSON 对象")}


# ---- shared -----------------------------------------------------------------------------------


class ErrorOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "机器可读的错误代码"})
    message = fields.String(
        required=True, metadata={"description": "给用户看的说明（默认中文；?lang=en 时为英文）"}
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "按字段列出的问题"},
    )


class PageArgs(ApiSchema):
    page = integer(N_("页码"), 1, MAX_PAGE, strict=False, load_default=1)
    per_page = integer(N_("每页条数"), 1, MAX_PER_PAGE, strict=False, load_default=20)


def page_of(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The JSON envelope every list answers with: {items, total, page, pages, per_page}."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )


class OrganizationOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    kind_label = Label()
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    is_sme = fields.Boolean()
    state_owned = fields.Boolean(metadata={"description": "国有企业（到期即转范围）"})


class Indicator(ApiSchema):
    name = text(N_("指标名称"), 60, required=True)
    op = choice(N_("比较符"), INDICATOR_OPS, load_default=">=")
    value = fields.Float(
        required=True,
        allow_nan=False,
        validate=validate.Range(
            -1e15, 1e15, error=field_message(VALUE_OUT_OF_RANGE, N_("指标数值"))
        ),
        error_messages=_messages(N_("指标数值"), NOT_NUMBER),
    )
    unit = text(N_("单位"), 16, load_default="")


# ---- demands 场景需求 --------------------------------------------------------------------------


class ListingArgs(PageArgs):
    q = text(N_("关键词"), 100, load_default="")
    field = text(N_("领域"), 40, load_default="")
    region = text(N_("地区"), 32, load_default="")
    maturity = choice(N_("成熟度"), MATURITY)
    scenario_type = choice(N_("场景类型"), SCENARIO_TYPES)
    challenge = flag(N_("仅揭榜挂帅"))


class DemandPatch(ApiSchema):
    title = text(N_("标题"), 200, allow_none=False)
    description = text(
        N_("需求描述"),
        20_000,
        allow_none=False,
        metadata={"description": "需求描述；发布（status=published）时须为中文，且不止一个词"},
    )
    field = text(N_("领域"), 40)
    scenario_type = choice(N_("场景类型"), SCENARIO_TYPES)
    industry_code = text(N_("国民经济行业代码"), 8)
    indicators = fields.List(
        fields.Nested(Indicator),
        validate=validate.Length(max=50, error=field_message(TOO_MANY_ROWS, N_("量化指标"), "max")),
        error_messages=_messages(N_("量化指标"), NOT_LIST),
    )
    offered_resources = text(N_("可提供的场景资源"), 20_000)
    budget_min_fen = money(N_("预算下限"), "不得高于预算上限")
    budget_max_fen = money(N_("预算上限"), "不得低于预算下限")
    cooperation_modes = choices(N_("合作方式"), COOPERATION_MODES)
    required_maturity = choice(N_("要求的成熟度"), MATURITY, allow_none=True)
    deadline = day(N_("截止日期"))
    confidentiality = choice(N_("保密级别"), CONFIDENTIALITY)
    reward_fen = money(N_("揭榜奖励"))
    challenge_deadline = day(N_("揭榜截止日期"))
    status = choice(N_("状态"), PUBLISHABLE)
    ipc_codes = code_list(N_("IPC分类号"))

    @post_load
    def _blank_code_is_none(self, data: dict, **_kwargs) -> dict:
        # An empty industry code means "none", not a code that does not exist.
        if data.get("industry_code") is not None and not data["industry_code"].strip():
            data["industry_code"] = None
        return data

    @validates_schema
    def _budget_order(self, data: dict, **_kwargs) -> None:
        low, high = data.get("budget_min_fen"), data.get("budget_max_fen")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError(N_("预算下限不能高于预算上限"), "budget_min_fen")


class DemandIn(DemandPatch):
    title = text(N_("标题"), 200, required=True)
    description = text(
        N_("需求描述"),
        20_000,
        required=True,
        metadata={"description": "需求描述；发布（status=published）时须为中文，且不止一个词"},
    )


class MatchBands(ma.Schema):
    strong = fields.Integer(required=True)
    possible = fields.Integer(required=True)
    weak = fields.Integer(required=True)


class AdviceOut(ma.Schema):
    code = fields.String(required=True)
    text = fields.String(required=True)
    n = fields.Integer()


class MatchSummaryOut(ma.Schema):
    matched_at = fields.String(required=True)
    bands = fields.Nested(MatchBands, required=True)
    best = fields.Float(allow_none=True)
    no_good_match = fields.Boolean(required=True)
    advice = fields.List(fields.Nested("AdviceOut"))
    closest = fields.List(fields.Integer(), metadata={"description": "最接近但相关度不足的成果"})


class DemandOut(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    field = fields.String(allow_none=True)
    scenario_type = fields.String(required=True)
    scenario_label = Label()
    industry_code = fields.String(allow_none=True)
    indicators = fields.List(fields.Nested(Indicator))
    offered_resources = fields.String(allow_none=True)
    budget_min_fen = fields.Integer(allow_none=True)
    budget_max_fen = fields.Integer(allow_none=True)
    cooperation_modes = fields.List(fields.String())
    required_maturity = fields.String(allow_none=True)
    deadline = fields.Date(allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    confidentiality = fields.String(required=True)
    reward_fen = fields.Integer(allow_none=True)
    challenge_deadline = fields.Date(allow_none=True)
    status = fields.String(required=True)
    ipc_codes = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    organization = fields.Nested(
        OrganizationOut,
        allow_none=True,
        metadata={"description": "发布机构；脱敏需求对他人显示为 null"},
    )
    match_summary = fields.Nested(
        "MatchSummaryOut",
        allow_none=True,
        metadata={"description": "最近一次匹配的结果：各档推荐数、最高概率、无合适匹配时的建议"},
    )


DemandPage = page_of(DemandOut, "DemandPage")


# ---- outcomes 科技成果 and patents -------------------------------------------------------------


class PatentIn(ApiSchema):
    number = text(N_("专利号"), 40, required=True)
    title = text(N_("专利名称"), 200)
    kind = choice(N_("专利类型"), PATENT_KINDS)
    applied_on = day(N_("申请日"))
    granted_on = day(N_("授权日"))
    expires_on = day(N_("到期日"))
    legal_status = choice(N_("法律状态"), PATENT_STATUS)
    ipc_codes = code_list(N_("IPC分类号"))


class PatentOut(ma.Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    outcome_id = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)
    kind = fields.String(required=True)
    kind_label = Label()
    applied_on = fields.Date(allow_none=True)
    granted_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    legal_status = fields.String(required=True)
    status_label = Label()
    ipc_codes = fields.List(fields.String())


class PatentArgs(PageArgs):
    number = text(N_("专利号"), 40, load_default="")
    ipc = text(N_("IPC分类号前缀"), 32, load_default="")


PatentPage = page_of(PatentOut, "PatentPage")


class OutcomeListArgs(PageArgs):
    q = text(N_("关键词"), 100, load_default="")
    field = text(N_("领域"), 40, load_default="")
    region = text(N_("地区"), 32, load_default="")
    maturity = choice(N_("成熟度"), MATURITY)


class OutcomePatch(ApiSchema):
    title = text(N_("成果名称"), 200, allow_none=False)
    abstract = text(N_("成果简介"), 20_000)
    team = text(N_("团队"), 400)
    field = text(N_("领域"), 40)
    maturity = choice(N_("成熟度"), MATURITY, allow_none=True)
    trl = integer(N_("技术就绪度（TRL）"), 1, 9, allow_none=True)
    research_type = choice(N_("研究类型"), RESEARCH_TYPES, allow_none=True)
    indicators = fields.List(
        fields.Nested(Indicator),
        validate=validate.Length(max=50, error=field_message(TOO_MANY_ROWS, N_("技术指标"), "max")),
        error_messages=_messages(N_("技术指标"), NOT_LIST),
    )
    incumbent_comparison = text(N_("与现有技术对比"), 20_000)
    fiscal_funded = flag(N_("财政资助"))
    transfer_modes = choices(N_("转化方式"), COOPERATION_MODES)
    asking_price_fen = money(N_("报价"))
    use_first_eligible = flag(N_("可先用后转"))
    team_share_pct = integer(N_("团队赋权比例"), 0, 100, allow_none=True)
    use_right_years = integer(N_("长期使用权年限"), *USE_RIGHT_YEARS, allow_none=True)
    implemented = flag(N_("已实施"))
    status = choice(N_("状态"), PUBLISHABLE)
    ipc_codes = code_list(N_("IPC分类号"))


class OutcomeIn(OutcomePatch):
    title = text(N_("成果名称"), 200, required=True)


class OutcomeOut(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    abstract = fields.String(allow_none=True)
    summary = fields.Function(
        lambda o: first_sentence(o.abstract),
        metadata={"description": "成果简介的第一句（列表中显示的摘要）"},
    )
    team = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    maturity = fields.String(allow_none=True)
    maturity_label = Label()
    trl = fields.Integer(allow_none=True)
    indicators = fields.List(fields.Nested(Indicator))
    incumbent_comparison = fields.String(allow_none=True)
    fiscal_funded = fields.Boolean()
    transfer_modes = fields.List(fields.String())
    asking_price_fen = fields.Integer(allow_none=True)
    use_first_eligible = fields.Boolean()
    team_share_pct = fields.Integer(allow_none=True)
    use_right_years = fields.Integer(allow_none=True)
    research_type = fields.String(allow_none=True)
    effective_research_type = fields.String(
        allow_none=True, metadata={"description": "研究类型；有专利而未填写的按应用技术（applied）"}
    )
    research_type_label = Label()
    implemented = fields.Boolean()
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    status = fields.String(required=True)
    ipc_codes = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    organization = fields.Nested(OrganizationOut, allow_none=True)


class OutcomeDetailOut(OutcomeOut):
    patents = fields.List(fields.Nested(PatentOut))


OutcomePage = page_of(OutcomeOut, "OutcomePage")


# ---- taxonomies --------------------------------------------------------------------------------


class IpcArgs(PageArgs):
    code = text(N_("IPC分类号"), 32, load_default="")
    prefix = text(N_("IPC分类号前缀"), 32, load_default="")
    q = text(N_("关键词"), 100, load_default="")


class IpcOut(ma.Schema):
    code = fields.String(required=True)
    level = fields.String(required=True)
    parent = fields.String(allow_none=True)
    title = fields.String(required=True)
    notes = fields.String(allow_none=True)


IpcPage = page_of(IpcOut, "IpcPage")


class IndustryArgs(PageArgs):
    code = text(N_("行业代码"), 8, load_default="")
    parent = text(N_("上级行业代码"), 8, load_default="")
    section = text(N_("门类"), 1, load_default="")
    q = text(N_("关键词"), 100, load_default="")


class IndustryOut(ma.Schema):
    code = fields.String(required=True)
    level = fields.Integer(required=True)
    section = fields.String(required=True)
    parent = fields.String(allow_none=True)
    name = fields.String(required=True)
    remark = fields.String(allow_none=True)


IndustryPage = page_of(IndustryOut, "IndustryPage")


class CodeSuggestArgs(ApiSchema):
    text = text(N_("需求或成果文本"), 2000, required=True)
    k = integer(N_("每类建议的条数"), 1, 10, strict=False, load_default=3)


class IpcSuggestionOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "IPC小类，如 H01M"})
    title = fields.String(required=True, metadata={"description": "中文名称"})
    score = fields.Float(required=True)


class IndustrySuggestionOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "GB/T 4754 小类代码，如 3841"})
    name = fields.String(required=True, metadata={"description": "中文名称"})
    score = fields.Float(required=True)


class CodeSuggestionsOut(ma.Schema):
    ipc = fields.List(fields.Nested(IpcSuggestionOut), required=True)
    industries = fields.List(fields.Nested(IndustrySuggestionOut), required=True)


# ---- search ------------------------------------------------------------------------------------

SEARCH_KINDS = {"demand": "场景需求", "outcome": "科技成果"}


class SearchArgs(ApiSchema):
    kind = choice(N_("检索对象"), SEARCH_KINDS, required=True)
    q = text(N_("检索内容"), 500, required=True)
    k = integer(N_("返回条数"), 1, 50, strict=False, load_default=10)


class SearchHit(ma.Schema):
    score = fields.Float(allow_none=True, metadata={"description": "语义相似度；关键词检索为 null"})
    demand = fields.Nested(DemandOut, allow_none=True)
    outcome = fields.Nested(OutcomeOut, allow_none=True)


class Unavailable(ma.Schema):
    retriever = fields.String(required=True, metadata={"description": "semantic：语义检索"})
    reason = fields.String(required=True)


class SearchOut(ma.Schema):
    kind = fields.String(required=True)
    method = fields.String(
        required=True,
        validate=validate.OneOf(["semantic", "keyword"]),
        metadata={"description": "semantic：向量索引；keyword：索引为空时的关键词检索"},
    )
    unavailable = fields.List(
        fields.Nested(Unavailable),
        required=True,
        metadata={"description": "暂不可用的检索方式及原因（如索引文件损坏、正在从数据库重建）"},
    )
    items = fields.List(fields.Nested(SearchHit), required=True)


# ---- me and tokens -----------------------------------------------------------------------------


class MeOut(ma.Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(list(ROLES)))
    role_label = Label()
    organization = fields.Nested(OrganizationOut, allow_none=True)
    permissions = fields.List(fields.String(), metadata={"description": "可执行的集合级操作"})
    auth = fields.String(
        required=True, metadata={"description": "token：API 令牌；session：浏览器登录"}
    )


class TokenIn(ApiSchema):
    name = text(N_("令牌名称"), 80, required=True)


class TokenOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreatedOut(TokenOut):
    token = fields.String(
        required=True, metadata={"description": "完整令牌，只显示这一次，请妥善保存"}
    )


# ---- matches 推荐 ------------------------------------------------------------------------------

MATCH_STAGE_CHOICES = {
    "proposed": "系统推荐",
    "accepted": "经纪人已接受",
    "rejected": "经纪人已拒绝",
    "withdrawn": "已撤回",
}
REJECTION_CHOICES = {
    "unclear_benefit": "效益不明确",
    "too_early": "技术尚不成熟",
    "price_gap": "价格差距过大",
    "field_mismatch": "领域不匹配",
    "duplicate": "重复推荐",
    "not_genuine": "需求不真实",
    "other": "其他",
}


class MatchArgs(PageArgs):
    demand_id = integer(N_("场景需求编号"), 1, MAX_ID, strict=False)
    outcome_id = integer(N_("科技成果编号"), 1, MAX_ID, strict=False)
    stage = choice(N_("推荐状态"), MATCH_STAGE_CHOICES)


class ListingRef(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)


class MatchOut(ma.Schema):
    id = fields.Integer(required=True)
    demand = fields.Nested(ListingRef, required=True)
    outcome = fields.Nested(ListingRef, required=True)
    score = fields.Float(
        required=True, metadata={"description": "经校准的概率：经纪人会接受这一配对的可能性"}
    )
    relevance = fields.Float(allow_none=True, metadata={"description": "同 score；旧推荐为 null"})
    band = fields.String(
        allow_none=True,
        metadata={"description": "strong 强匹配 / possible 可能相关 / weak 不建议"},
    )
    rank = fields.Integer(allow_none=True)
    complexity = fields.Float()
    stage = fields.String(required=True)
    stage_label = Label()
    rejection_reason = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    version = fields.Integer(
        required=True,
        attribute="version_id",
        metadata={"description": "乐观锁版本号：接受/拒绝时回传，以免覆盖他人的处理"},
    )
    created_at = fields.DateTime()


class ObjectOut(fields.Dict):
    """A JSON object that is never null: a missing value (older rows) is answered as {}."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value if value is not None else {}, attr, obj, **kwargs)


class ExplanationOut(ObjectOut):
    """A proposal's explanation with its sentence and labels in the request's language."""

    def _serialize(self, value, attr, obj, **kwargs):
        from ..i18n import explanation_for_reader

        return super()._serialize(explanation_for_reader(value), attr, obj, **kwargs)


class MatchDetailOut(MatchOut):
    components = ObjectOut(
        keys=fields.String(),
        values=fields.Float(allow_none=True),
        required=True,
        metadata={"description": "各项得分；null 表示该项无从判断（如一方未填预算、无语义命中）"},
    )
    explanation = ExplanationOut(
        required=True,
        metadata={
            "description": "评分构成、约束检查、指标对照与匹配短语；sentence 与各 label 随请求语言"
            "（?lang=en 为英文），sentence_clauses 为可翻译的分句（模板与取值）"
        },
    )


MatchPage = page_of(MatchOut, "MatchPage")


class AcceptIn(ApiSchema):
    version = integer(N_("版本号"), 1, 2**31 - 1, allow_none=True)
    comment = text(N_("备注"), 2000, load_default="")


class RejectIn(ApiSchema):
    reason = choice(N_("拒绝原因"), REJECTION_CHOICES, required=True)
    comment = text(N_("说明"), 2000, load_default="")
    version = integer(N_("版本号"), 1, 2**31 - 1, allow_none=True)


INTRO_STATE_CHOICES = {
    "none": "未请求",
    "requested": "待经纪人答复",
    "accepted": "经纪人已接受，将联系双方",
    "declined": "经纪人已婉拒",
}


class IntroIn(ApiSchema):
    message = text(N_("给经纪人的留言"), 1000, load_default="")


class IntroOut(ma.Schema):
    match_id = fields.Integer(required=True)
    state = fields.String(
        required=True,
        metadata={"description": "；".join(f"{k} {v}" for k, v in INTRO_STATE_CHOICES.items())},
    )
    state_label = Label(required=True)
    organization = fields.String(
        allow_none=True, metadata={"description": "请求方机构（脱敏需求对成果方隐去）"}
    )
    requested_by = fields.String(allow_none=True)
    requested_at = fields.DateTime(allow_none=True)
    message = fields.String(allow_none=True)
    answered_by = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    answer_note = fields.String(
        allow_none=True, metadata={"description": "经纪人的说明；婉拒时为原因"}
    )
    may_request = fields.Boolean(
        required=True, metadata={"description": "调用者现在能否（再次）请求牵线"}
    )


# ---- term sheets 条款书, deals 项目, notices 公示 ------------------------------------------------

TERMSHEET_MODES = {
    "use_first": "先用后转",
    "license": "许可",
    "transfer": "转让",
    "open_license": "开放许可",
}
DEAL_STAGE_CHOICES = {
    "reviewed": "已审核",
    "introduced": "已对接",
    "negotiating": "洽谈中",
    "notice": "公示中",
    "signed": "已签约",
    "registered": "已登记",
    "lost": "已终止",
}


class TermSheetArgs(PageArgs):
    match_id = integer(N_("推荐编号"), 1, MAX_ID, strict=False)


class TermSheetIn(ApiSchema):
    match_id = integer(N_("推荐编号"), 1, MAX_ID, required=True)
    profile_key = text(N_("政策档案"), 40, load_default=None)
    mode = text(N_("交易方式"), 16, load_default="use_first", allow_none=False)


class TermSheetPatch(ApiSchema):
    version = integer(N_("版本号"), 1, 2**31 - 1, allow_none=True)
    changes = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        required=True,
        validate=validate.Length(min=1, max=40, error=field_message(TOO_MANY_CHANGES, "", "max")),
        error_messages=_messages(N_("修改内容"), NOT_OBJECT),
        metadata={"description": '{条款名: 新值}，如 {"royalty_rate": 300}（基点）'},
    )


class ViolationOut(ma.Schema):
    rule_id = fields.String(required=True)
    source = fields.String()
    citation = fields.String()
    field = fields.String()
    message = fields.String(required=True)


class TermSheetOut(ma.Schema):
    id = fields.Integer(required=True)
    match_id = fields.Integer(allow_none=True)
    outcome_id = fields.Integer(required=True)
    licensee_id = fields.Integer(allow_none=True)
    profile_key = fields.String(required=True)
    mode = fields.String(required=True)
    status = fields.String()
    version = fields.Integer(required=True, attribute="version_id")
    terms = fields.Method("_terms", metadata={"description": "每项条款的值、单位与来源"})
    sheet_version = fields.Method("_sheet_version")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _terms(self, row) -> dict:
        return (row.data or {}).get("terms", {})

    def _sheet_version(self, row) -> int:
        return int((row.data or {}).get("version", 1))


class TermSheetDetailOut(TermSheetOut):
    data = fields.Dict(metadata={"description": "完整条款书（里程碑、延期付款计划、修改记录）"})


TermSheetPage = page_of(TermSheetOut, "TermSheetPage")


class DealArgs(PageArgs):
    stage = choice(N_("项目阶段"), DEAL_STAGE_CHOICES)


class DealEventOut(ma.Schema):
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String(required=True)
    user_id = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    at = fields.DateTime(required=True)


class DealOut(ma.Schema):
    id = fields.Integer(required=True)
    match_id = fields.Integer(required=True)
    stage = fields.String(required=True)
    stage_label = Label()
    broker_id = fields.Integer(allow_none=True)
    term_sheet_id = fields.Integer(allow_none=True)
    price_fen = fields.Integer(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    contract_registration_no = fields.String(allow_none=True)
    stage_changed_at = fields.DateTime()
    version = fields.Integer(required=True, attribute="version_id")
    created_at = fields.DateTime()


class DealDetailOut(DealOut):
    match = fields.Nested(MatchOut)
    events = fields.List(fields.Nested(DealEventOut))
    allowed_moves = fields.List(fields.String())


DealPage = page_of(DealOut, "DealPage")


class MoveIn(ApiSchema):
    to_stage = choice(N_("目标阶段"), DEAL_STAGE_CHOICES, required=True)
    note = text(N_("说明"), 2000, load_default="")
    registration_no = text(N_("技术合同登记号"), 64, load_default="")
    version = integer(N_("版本号"), 1, 2**31 - 1, allow_none=True)


class NoticeOut(ma.Schema):
    id = fields.Integer(required=True)
    deal_id = fields.Integer(allow_none=True)
    outcome_title = fields.String(required=True)
    parties = fields.String(required=True)
    price_fen = fields.Integer(required=True)
    method = fields.String(required=True)
    opens_at = fields.DateTime(required=True)
    closes_at = fields.DateTime(required=True)
    status = fields.String(required=True)


class ObjectionOut(ma.Schema):
    """What the public sees of an objection: never the objector's contact details."""

    id = fields.Integer(required=True)
    notice_id = fields.Integer(required=True)
    name = fields.String(required=True)
    text = fields.String(required=True)
    status = fields.String(required=True)
    resolution = fields.String(allow_none=True)
    created_at = fields.DateTime()


class NoticeDetailOut(NoticeOut):
    objections = fields.List(fields.Nested(ObjectionOut))


NoticePage = page_of(NoticeOut, "NoticePage")


class ObjectionIn(ApiSchema):
    name = text(N_("姓名或单位"), 80, required=True)
    contact = text(N_("联系方式"), 120, required=True)
    text = text(N_("异议内容"), 2000, required=True)


# ---- 标杆案例 ------------------------------------------------------------------------------------


class CaseOut(ma.Schema):
    id = fields.Integer(required=True, attribute="case.id")
    title = fields.String(required=True, attribute="case.title")
    summary = fields.String(required=True, attribute="case.summary")
    published_at = fields.DateTime(attribute="case.published_at")
    outcome_title = fields.String(required=True)
    demand_title = fields.String(
        allow_none=True, metadata={"description": "需求方要求保密时为 null"}
    )
    region = fields.String()
    field = fields.String()
    signed_at = fields.DateTime(allow_none=True)


CasePage = page_of(CaseOut, "CasePage")


# ---- 揭榜挂帅 challenge submissions ------------------------------------------------------------

SUBMISSION_STATE_CHOICES = {
    "submitted": "已揭榜",
    "shortlisted": "已入围",
    "winner": "揭榜方",
    "not_selected": "未入选",
    "withdrawn": "已撤回",
}
DECISION_CHOICES = {
    "shortlist": "入围（需求方）",
    "winner": "选定揭榜方（需求方）",
    "withdraw": "撤回（揭榜机构）",
}


class SubmissionArgs(PageArgs):
    state = choice(N_("揭榜状态"), SUBMISSION_STATE_CHOICES)


class SubmissionIn(ApiSchema):
    outcome_id = integer(N_("科技成果编号"), 1, MAX_ID, required=True)
    pitch = text(N_("揭榜说明"), 2000, required=True)


class DecisionIn(ApiSchema):
    decision = choice(N_("决定"), DECISION_CHOICES, required=True)
    note = text(N_("决定说明"), 2000, load_default="")
    version = integer(N_("版本号"), 1, 2**31 - 1, allow_none=True)


class SubmissionOut(ma.Schema):
    id = fields.Integer(required=True)
    demand = fields.Nested(ListingRef, required=True)
    outcome = fields.Nested(ListingRef, required=True)
    organization = fields.Nested(OrganizationOut, required=True)
    pitch = fields.String(required=True)
    state = fields.String(required=True)
    state_label = Label()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    match_id = fields.Integer(
        allow_none=True, metadata={"description": "选定揭榜方后生成的推荐编号（经纪人据此对接）"}
    )
    version = fields.Integer(
        required=True,
        attribute="version_id",
        metadata={"description": "乐观锁版本号：作出决定时回传，以免覆盖他人的处理"},
    )
    created_at = fields.DateTime()


SubmissionPage = page_of(SubmissionOut, "SubmissionPage")


# ---- 分级保密: requests to see who posted a 脱敏 demand ---------------------------------------

ACCESS_DECISION_CHOICES = {"grant": "同意", "refuse": "拒绝", "revoke": "撤销授权"}


class AccessRequestIn(ApiSchema):
    purpose = text(N_("申请理由"), 500, required=True)
    nda_accepted = fields.Boolean(
        required=True,
        metadata={"description": "是否代表本单位同意保密承诺（见 nda_text）；须为 true"},
        error_messages={
            "required": N_("请阅读并同意保密承诺（nda_accepted: true）"),
            "invalid": N_("保密承诺须为布尔值"),
        },
    )


class AccessDecisionIn(ApiSchema):
    decision = choice(N_("决定"), ACCESS_DECISION_CHOICES, required=True)
    note = text(N_("说明"), 500, load_default="")


class AccessOut(ma.Schema):
    id = fields.Integer(required=True)
    demand = fields.Nested(ListingRef, required=True)
    organization = fields.Nested(OrganizationOut, required=True)
    purpose = fields.String(required=True)
    nda_version = fields.String(required=True)
    nda_accepted_at = fields.DateTime(required=True)
    state = fields.String(required=True)
    state_label = Label()
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class AccessList(ma.Schema):
    nda_text = fields.String(required=True, metadata={"description": "申请时须同意的保密承诺"})
    items = fields.List(fields.Nested(AccessOut), required=True)


# ---- 组合方案 (bundles) ------------------------------------------------------------------------

BUNDLE_DECISION_CHOICES = {"accepted": "接受", "rejected": "拒绝"}
COVERAGE_DESCRIPTION = "met 满足 / not_met 不满足 / unknown 未知"


class BundleMemberOut(ma.Schema):
    outcome = fields.Nested(ListingRef, required=True)
    match_id = fields.Integer(required=True, metadata={"description": "该成果的单项推荐编号"})


class CoverageRowOut(ma.Schema):
    indicator = fields.String(required=True, metadata={"description": "需求指标（含目标值）"})
    declared = fields.Boolean(metadata={"description": "发布需求时在指标表中填写"})
    members = fields.List(
        fields.String(),
        required=True,
        metadata={"description": f"按成员顺序，各成员是否满足：{COVERAGE_DESCRIPTION}"},
    )
    claims = fields.List(
        fields.String(allow_none=True), metadata={"description": "各成员与之对照的成果指标"}
    )
    combined = fields.String(
        required=True, metadata={"description": f"组合：{COVERAGE_DESCRIPTION}"}
    )


class BundleOut(ma.Schema):
    id = fields.Integer(required=True)
    demand = fields.Nested(ListingRef, required=True)
    organization = fields.Nested(OrganizationOut, required=True)
    members = fields.List(fields.Nested(BundleMemberOut), required=True)
    indicator_count = fields.Integer(required=True, metadata={"description": "需求的指标数"})
    covered = fields.Integer(required=True, metadata={"description": "组合满足的指标数"})
    best_single = fields.Integer(
        required=True, metadata={"description": "单项推荐成果中最多满足的指标数"}
    )
    score = fields.Float(required=True, metadata={"description": "各成员推荐相关概率的平均值"})
    coverage = fields.List(fields.Nested(CoverageRowOut), required=True)
    stage = fields.String(required=True)
    stage_label = Label()
    rejection_reason = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    version = fields.Integer(
        required=True,
        attribute="version_id",
        metadata={"description": "乐观锁版本号：接受/拒绝时回传，以免覆盖他人的处理"},
    )
    deal_ids = fields.List(
        fields.Integer(),
        metadata={"description": "接受后为每项成员成果建立的项目编号（按成员顺序；未接受时为空）"},
    )
    created_at = fields.DateTime()


class BundleTermsRowOut(ma.Schema):
    outcome = fields.Nested(ListingRef, required=True)
    licensor = fields.String(required=True)
    stored = fields.Boolean(metadata={"description": "取自已保存的条款书（否则为预览）"})
    error = fields.String(metadata={"description": "无法生成条款时的原因"})
    violations = fields.List(fields.Nested(ViolationOut))
    sheet = fields.Dict(allow_none=True, metadata={"description": "该成果的条款书（金额单位为分）"})


class BundleTermsOut(ma.Schema):
    profile_key = fields.String(required=True)
    mode = fields.String(required=True)
    licensors = fields.List(fields.String(), required=True)
    rows = fields.List(fields.Nested(BundleTermsRowOut), required=True)
    totals = ObjectOut(
        required=True,
        metadata={
            "description": "合计（分）：入门费、里程碑、延期支付、固定费用、合同成交额、后转价格；"
            "royalties 为各提成基数下叠加的提成比例（基点）；免费使用期最短/最长；公示"
        },
    )
    violations = fields.List(
        fields.Nested(ViolationOut), metadata={"description": "叠加提成违反的档案规则"}
    )
    warnings = fields.List(
        fields.Nested(ViolationOut), metadata={"description": "叠加提成超出单项许可的实践默认区间"}
    )
    valid = fields.Boolean(required=True)


class BundleDetailOut(BundleOut):
    terms = fields.Nested(BundleTermsOut, required=True)


BundlePage = page_of(BundleOut, "BundlePage")


class BundleTermsArgs(ApiSchema):
    profile = text(N_("政策档案"), 40)
    mode = choice(
        N_("交易方式"), {m: COOPERATION_MODES[m] for m in ("use_first", "license", "transfer")}
    )


class BundleDecisionIn(ApiSchema):
    decision = choice(N_("决定"), BUNDLE_DECISION_CHOICES, required=True)
    reason = choice(N_("拒绝原因"), REJECTION_CHOICES)
    comment = text(N_("说明"), 2000, load_default="")
    version = integer(N_("版本号"), 1, 2**31 - 1, allow_none=True)
