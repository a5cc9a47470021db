"""Listings: 场景需求 (Demand), 科技成果 (Outcome) and their patents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .accounts import Organization
from .base import UTCDateTime, content_hash, db, utcnow
from .enums import (
    CONFIDENTIALITY,
    COOPERATION_MODES,
    INDICATOR_OPS,
    LISTING_STATUS,
    MATURITY,
    N_,
    PATENT_KINDS,
    PATENT_STATUS,
    RESEARCH_TYPES,
    SCENARIO_TYPES,
)
from .errors import ValidationError
from .taxonomy import IpcCode

TITLE_LIMIT = 200
TEXT_LIMIT = 20_000
USE_RIGHT_YEARS = (1, 30)


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def clean_text(value, field: str, label: str, limit: int, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationError(N_("%(label)s不能为空"), field, label=label)
        return None
    if len(value) > limit:
        raise ValidationError(
            N_("%(label)s不能超过%(limit)s个字（当前%(value)s字）"),
            field,
            label=label,
            limit=limit,
            value=len(value),
        )
    return value


def clean_codes(values, allowed: dict, field: str, label: str) -> list[str]:
    values = list(dict.fromkeys(values or []))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError(
            N_("%(label)s包含未知选项：%(value)s"),
            field,
            label=label,
            value="、".join(map(str, unknown)),
        )
    return values


def clean_indicators(rows, field: str = "indicators") -> list[dict]:
    """Indicators are rows of name / operator / value / unit."""
    cleaned = []
    for number, row in enumerate(rows or [], start=1):
        name = (row.get("name") or "").strip()
        if not name:
            raise ValidationError(N_("第%(number)s行指标缺少名称"), field, number=number)
        op = row.get("op") or ">="
        if op not in INDICATOR_OPS:
            raise ValidationError(
                N_("第%(number)s行指标的比较符无效：%(op)s"), field, number=number, op=op
            )
        try:
            value = float(row.get("value"))
        except (TypeError, ValueError) as e:
            raise ValidationError(
                N_("第%(number)s行指标“%(name)s”的数值无效"), field, number=number, name=name
            ) from e
        cleaned.append(
            {"name": name[:60], "op": op, "value": value, "unit": (row.get("unit") or "")[:16]}
        )
    return cleaned


class ListingMixin:
    """Columns every listing carries so the index can be checked against the database."""

    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    indexed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    indexed_hash: Mapped[str | None] = mapped_column(String(64))
    # When the matcher last stored this listing's proposals; older than ``indexed_at`` (or
    # empty) means a match task was lost, and reconcile recomputes them.
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @validates("status")
    def _status(self, _key, value):
        if value not in LISTING_STATUS:
            raise ValidationError(N_("未知的状态：%(value)s"), "status", value=value)
        return value

    @property
    def status_label(self) -> str:
        return LISTING_STATUS[self.status]

    @property
    def region_label(self) -> str:
        if self.province and self.city and self.province != self.city:
            return f"{self.province}{self.city}"
        return self.city or self.province or ""

    @property
    def needs_indexing(self) -> bool:
        return self.status == "published" and self.indexed_hash != self.content_hash


class Demand(ListingMixin, db.Model):
    """场景需求: a problem an enterprise wants solved, with its site, data and budget."""

    __tablename__ = "demand"
    __table_args__ = (
        CheckConstraint("budget_min_fen IS NULL OR budget_min_fen >= 0", name="budget_min"),
        CheckConstraint("budget_max_fen IS NULL OR budget_max_fen >= 0", name="budget_max"),
        CheckConstraint(
            "budget_min_fen IS NULL OR budget_max_fen IS NULL OR budget_min_fen <= budget_max_fen",
            name="budget_order",
        ),
        CheckConstraint("reward_fen IS NULL OR reward_fen >= 0", name="reward"),
        CheckConstraint(_in("scenario_type", SCENARIO_TYPES), name="scenario_type"),
        CheckConstraint(_in("confidentiality", CONFIDENTIALITY), name="confidentiality"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_LIMIT))
    description: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(40), index=True)
    scenario_type: Mapped[str] = mapped_column(String(20), default="industry")
    industry_code: Mapped[str | None] = mapped_column(ForeignKey("industry.code"), index=True)
    indicators: Mapped[list] = mapped_column(JSON, default=list)
    offered_resources: Mapped[str | None] = mapped_column(Text)
    budget_min_fen: Mapped[int | None] = mapped_column(BigInteger)
    budget_max_fen: Mapped[int | None] = mapped_column(BigInteger)
    cooperation_modes: Mapped[list] = mapped_column(JSON, default=list)
    required_maturity: Mapped[str | None] = mapped_column(String(16))
    deadline: Mapped[date | None] = mapped_column(Date)
    confidentiality: Mapped[str] = mapped_column(String(16), default="public")
    reward_fen: Mapped[int | None] = mapped_column(BigInteger)
    challenge_deadline: Mapped[date | None] = mapped_column(Date)
    review_state: Mapped[str] = mapped_column(String(16), default="approved")
    ipc_codes: Mapped[list] = mapped_column(JSON, default=list)
    suggested_ipc: Mapped[list] = mapped_column(JSON, default=list)
    # IpcProfile.to_json() of the text, written when the listing is indexed.
    ipc_profile: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # How the last matching went: proposals per relevance band, the best probability, and for
    # a demand nothing answers well, what to add (market.services.matching.match_summary).
    match_summary: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

    organization: Mapped[Organization] = relationship()

    @validates("title")
    def _title(self, _key, value):
        return clean_text(value, "title", "标题", TITLE_LIMIT)

    @validates("description")
    def _description(self, _key, value):
        return clean_text(value, "description", "需求描述", TEXT_LIMIT)

    @validates("offered_resources")
    def _resources(self, _key, value):
        return clean_text(
            value, "offered_resources", "可提供的场景资源", TEXT_LIMIT, required=False
        )

    @validates("budget_min_fen", "budget_max_fen", "reward_fen")
    def _money(self, key, value):
        if value is not None and value < 0:
            label = {"reward_fen": "揭榜奖励"}.get(key, "预算")
            raise ValidationError(N_("%(label)s不能为负数"), key.removesuffix("_fen"), label=label)
        return value

    @validates("scenario_type")
    def _scenario(self, _key, value):
        if value not in SCENARIO_TYPES:
            raise ValidationError(N_("未知的场景类型：%(value)s"), "scenario_type", value=value)
        return value

    @validates("confidentiality")
    def _confidentiality(self, _key, value):
        if value not in CONFIDENTIALITY:
            raise ValidationError(N_("未知的保密级别：%(value)s"), "confidentiality", value=value)
        return value

    @validates("required_maturity")
    def _maturity(self, _key, value):
        if value is not None and value not in MATURITY:
            raise ValidationError(N_("未知的成熟度：%(value)s"), "required_maturity", value=value)
        return value

    @validates("cooperation_modes")
    def _modes(self, _key, value):
        return clean_codes(value, COOPERATION_MODES, "cooperation_modes", "合作方式")

    @validates("indicators")
    def _indicators(self, _key, value):
        return clean_indicators(value)

    def embedding_text(self) -> str:
        # A description that already opens with the title would weigh its words twice.
        if self.description.startswith(self.title):
            return self.description
        return f"{self.title}\n{self.description}"

    def refresh_hash(self) -> None:
        self.content_hash = content_hash(self.title, self.description)

    @property
    def scenario_label(self) -> str:
        return SCENARIO_TYPES[self.scenario_type]

    @property
    def is_challenge(self) -> bool:
        return bool(self.reward_fen)


def outcome_text(title: str, abstract: str | None) -> str:
    """An outcome's text as embedded and matched (an abstract opening with the title wins)."""
    if abstract and abstract.startswith(title):
        return abstract
    return f"{title}\n{abstract or ''}".strip()


def patent_in_force(legal_status: str, expires_on: date | None, today: date) -> bool:
    if legal_status != "granted":
        return False
    return expires_on is None or expires_on > today


outcome_ipc = Table(
    "outcome_ipc",
    db.metadata,
    Column("outcome_id", ForeignKey("outcome.id", ondelete="CASCADE"), primary_key=True),
    Column("ipc_code", ForeignKey("ipc_code.code"), primary_key=True),
)


class Outcome(ListingMixin, db.Model):
    """科技成果: a research outcome offered by a university or institute."""

    __tablename__ = "outcome"
    __table_args__ = (
        CheckConstraint("asking_price_fen IS NULL OR asking_price_fen >= 0", name="price"),
        CheckConstraint(
            "team_share_pct IS NULL OR (team_share_pct >= 0 AND team_share_pct <= 100)",
            name="team_share",
        ),
        CheckConstraint("trl IS NULL OR (trl >= 1 AND trl <= 9)", name="trl"),
        CheckConstraint(
            f"research_type IS NULL OR {_in('research_type', RESEARCH_TYPES)}",
            name="research_type",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_LIMIT))
    abstract: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(400))
    field: Mapped[str | None] = mapped_column(String(40), index=True)
    maturity: Mapped[str | None] = mapped_column(String(16), index=True)
    trl: Mapped[int | None] = mapped_column(Integer)
    # 基础研究 / 应用技术 / 其他; unstated on an outcome with patents counts as 应用技术.
    research_type: Mapped[str | None] = mapped_column(String(16))
    indicators: Mapped[list] = mapped_column(JSON, default=list)
    incumbent_comparison: Mapped[str | None] = mapped_column(Text)
    fiscal_funded: Mapped[bool] = mapped_column(Boolean, default=False)
    transfer_modes: Mapped[list] = mapped_column(JSON, default=list)
    asking_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    use_first_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    team_share_pct: Mapped[int | None] = mapped_column(Integer)
    # 赋权 by a long-term use right instead of shared ownership (深圳 措施（十二）: 10 years).
    use_right_years: Mapped[int | None] = mapped_column(Integer)
    implemented: Mapped[bool] = mapped_column(Boolean, default=False)
    use_first_state: Mapped[str | None] = mapped_column(String(20))
    suggested_ipc: Mapped[list] = mapped_column(JSON, default=list)
    ipc_profile: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    source_ref: Mapped[str | None] = mapped_column(String(64))

    organization: Mapped[Organization] = relationship()
    patents: Mapped[list[Patent]] = relationship(back_populates="outcome")
    ipc: Mapped[list[IpcCode]] = relationship(secondary=outcome_ipc)

    @validates("title")
    def _title(self, _key, value):
        return clean_text(value, "title", "成果名称", TITLE_LIMIT)

    @validates("abstract")
    def _abstract(self, _key, value):
        return clean_text(value, "abstract", "成果简介", TEXT_LIMIT, required=False)

    @validates("asking_price_fen")
    def _price(self, _key, value):
        if value is not None and value < 0:
            raise ValidationError(N_("报价不能为负数"), "asking_price")
        return value

    @validates("maturity")
    def _maturity(self, _key, value):
        if value is not None and value not in MATURITY:
            raise ValidationError(N_("未知的成熟度：%(value)s"), "maturity", value=value)
        return value

    @validates("trl")
    def _trl(self, _key, value):
        if value is not None and not 1 <= int(value) <= 9:
            raise ValidationError(N_("技术就绪度（TRL）须在1到9之间"), "trl")
        return value

    @validates("team_share_pct")
    def _share(self, _key, value):
        if value is not None and not 0 <= int(value) <= 100:
            raise ValidationError(N_("团队赋权比例须在0到100之间"), "team_share_pct")
        return value

    @validates("use_right_years")
    def _use_right(self, _key, value):
        low, high = USE_RIGHT_YEARS
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(
                N_("长期使用权年限须为%(low)s到%(high)s之间的整数（年）"),
                "use_right_years",
                low=low,
                high=high,
            )
        return value

    @validates("research_type")
    def _research_type(self, _key, value):
        if value is not None and value not in RESEARCH_TYPES:
            raise ValidationError(N_("未知的研究类型：%(value)s"), "research_type", value=value)
        return value

    @validates("transfer_modes")
    def _modes(self, _key, value):
        return clean_codes(value, COOPERATION_MODES, "transfer_modes", "转化方式")

    @validates("indicators")
    def _indicators(self, _key, value):
        return clean_indicators(value)

    def embedding_text(self) -> str:
        return outcome_text(self.title, self.abstract)

    def refresh_hash(self) -> None:
        self.content_hash = content_hash(self.title, self.abstract)

    @property
    def maturity_label(self) -> str:
        return MATURITY.get(self.maturity or "", "未填写")

    @property
    def effective_research_type(self) -> str | None:
        """The stated research type; an outcome with patents that states none is 应用技术
        (platform default: a patent protects an application)."""
        if self.research_type is None and self.patents:
            return "applied"
        return self.research_type

    @property
    def research_type_label(self) -> str:
        code = self.effective_research_type
        if code is None:
            return "未填写"
        label = RESEARCH_TYPES[code]
        return label if self.research_type else f"{label}（有专利，默认）"

    @property
    def ipc_codes(self) -> list[str]:
        return [c.code for c in self.ipc]


class Patent(db.Model):
    __tablename__ = "patent"
    __table_args__ = (
        CheckConstraint(_in("kind", PATENT_KINDS), name="kind"),
        CheckConstraint(_in("legal_status", PATENT_STATUS), name="legal_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    outcome_id: Mapped[int | None] = mapped_column(
        ForeignKey("outcome.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str | None] = mapped_column(String(TITLE_LIMIT))
    kind: Mapped[str] = mapped_column(String(16), default="invention")
    applied_on: Mapped[date | None] = mapped_column(Date)
    granted_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    legal_status: Mapped[str] = mapped_column(String(16), default="granted")
    ipc_codes: Mapped[list] = mapped_column(JSON, default=list)

    outcome: Mapped[Outcome | None] = relationship(back_populates="patents")

    @validates("number")
    def _number(self, _key, value):
        value = (value or "").strip().upper().replace(" ", "")
        if not value:
            raise ValidationError(N_("专利号不能为空"), "number")
        if len(value) > 40:
            raise ValidationError(N_("专利号过长"), "number")
        return value

    @validates("kind")
    def _kind(self, _key, value):
        if value not in PATENT_KINDS:
            raise ValidationError(N_("未知的专利类型：%(value)s"), "kind", value=value)
        return value

    @validates("legal_status")
    def _status(self, _key, value):
        if value not in PATENT_STATUS:
            raise ValidationError(N_("未知的法律状态：%(value)s"), "legal_status", value=value)
        return value

    def in_force(self, today: date) -> bool:
        return patent_in_force(self.legal_status, self.expires_on, today)

    def remaining_years(self, today: date) -> float | None:
        if self.expires_on is None:
            return None
        return max(0.0, (self.expires_on - today).days / 365.25)

    @property
    def kind_label(self) -> str:
        return PATENT_KINDS[self.kind]

    @property
    def status_label(self) -> str:
        return PATENT_STATUS[self.legal_status]
