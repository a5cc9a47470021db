"""Posting, editing and closing listings (场景需求 and 科技成果) and their patents."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from market.search.codes import normalize_industry, normalize_ipc
from models import (
    Demand,
    Industry,
    IpcCode,
    Organization,
    Outcome,
    Patent,
    ValidationError,
    db,
)
from models.enums import N_

from . import audit

DEMAND_FIELDS = [
    "title",
    "description",
    "field",
    "scenario_type",
    "industry_code",
    "indicators",
    "offered_resources",
    "budget_min_fen",
    "budget_max_fen",
    "cooperation_modes",
    "required_maturity",
    "deadline",
    "province",
    "city",
    "confidentiality",
    "reward_fen",
    "challenge_deadline",
    "status",
    "ipc_codes",
]
OUTCOME_FIELDS = [
    "title",
    "abstract",
    "team",
    "field",
    "maturity",
    "trl",
    "indicators",
    "incumbent_comparison",
    "fiscal_funded",
    "transfer_modes",
    "asking_price_fen",
    "use_first_eligible",
    "team_share_pct",
    "use_right_years",
    "research_type",
    "province",
    "city",
    "status",
    "implemented",
]


def yuan_to_fen(value: Any, field: str, label: str) -> int | None:
    """Parse an amount typed in 万元 or 元 into integer fen, refusing floats' rounding games."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation as e:
        raise ValidationError(N_("%(label)s必须是数字"), field, label=label) from e
    if amount < 0:
        raise ValidationError(N_("%(label)s不能为负数"), field, label=label)
    return int(amount * 100)


def wan_to_fen(value: Any, field: str, label: str) -> int | None:
    fen = yuan_to_fen(value, field, label)
    return None if fen is None else fen * 10_000


def _check_industry(data: dict) -> dict:
    raw = (data.get("industry_code") or "").strip()
    code = normalize_industry(raw) if raw else None
    if "industry_code" in data:
        data = {**data, "industry_code": code}
    if raw and (code is None or db.session.get(Industry, code) is None):
        raise ValidationError(N_("未知的国民经济行业代码：%(raw)s"), "industry_code", raw=raw)
    return data


def _check_budget(demand: Demand) -> None:
    low, high = demand.budget_min_fen, demand.budget_max_fen
    if low is not None and high is not None and low > high:
        raise ValidationError(N_("预算下限不能高于预算上限"), "budget_min")


def check_ipc_codes(codes: list[str], field: str = "ipc_codes") -> list[str]:
    """IPC codes as typed ("h01m 10/48", "Ｈ０１Ｍ１０／４８") in their stored spelling
    ("H01M10/48"); a malformed or unknown code is refused, naming the field (the forms show
    the expected spelling beside it)."""
    typed = [c.strip() for c in codes or [] if c and c.strip()]
    if not typed:
        return []
    normal = [normalize_ipc(c) for c in typed]
    spelled = [c for c in normal if c is not None]
    known = set(db.session.scalars(select(IpcCode.code).where(IpcCode.code.in_(spelled))))
    unknown = [raw for raw, code in zip(typed, normal, strict=True) if code not in known]
    if unknown:
        raise ValidationError(N_("未知的IPC分类号：%(value)s"), field, value="、".join(unknown))
    return list(dict.fromkeys(normal))


# What a demand must say before it is matched: ten random proposals for "无人机" or an English
# paragraph help nobody (the catalogue is Chinese).
MIN_DEMAND_CHINESE = 8  # distinct Chinese characters in the title and description together
MIN_DESCRIPTION_CHINESE = 4  # and in the description alone: one word is not a description
MIN_CHINESE_SHARE = 0.3
_CHINESE_RE = re.compile(r"[\u4e00-\u9fff]")
_LATIN_RE = re.compile(r"[A-Za-z]")


def check_demand_text(data: dict, demand: Demand | None = None) -> None:
    """A 场景需求 about to be published must say what it needs, in Chinese, in more than a word.

    ``data`` is what the form or API sends (merged over ``demand`` when editing); drafts pass.
    Called by the demand form and the API before they save, so both answer alike."""
    status = data.get("status", getattr(demand, "status", None) or "published")
    if status != "published":
        return
    title = (data.get("title", getattr(demand, "title", "")) or "").strip()
    text = (data.get("description", getattr(demand, "description", "")) or "").strip()
    if not text:
        raise ValidationError(
            N_("需求描述不能为空：请写清应用场景、现状和希望达到的指标"), "description"
        )
    chinese = len(_CHINESE_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    if chinese < MIN_CHINESE_SHARE * (chinese + latin):
        raise ValidationError(
            N_(
                "需求描述请以中文填写：成果库以中文为主，英文描述无法可靠匹配（专业术语可保留英文）"
            ),
            "description",
        )
    own = set(_CHINESE_RE.findall(text))
    if len(own) < MIN_DESCRIPTION_CHINESE or len(own | set(_CHINESE_RE.findall(title))) < (
        MIN_DEMAND_CHINESE
    ):
        raise ValidationError(
            N_(
                "需求描述过于简短：请用几句话写清应用场景、现状和希望达到的指标，"
                "否则无法匹配到合适的成果"
            ),
            "description",
        )


def _check_dates(data: dict) -> None:
    for name, label in (("deadline", "截止日期"), ("challenge_deadline", "揭榜截止日期")):
        value = data.get(name)
        if value is not None and not isinstance(value, date):
            raise ValidationError(N_("%(label)s格式无效"), name, label=label)


def post_demand(org: Organization, data: dict, user_id: int | None = None) -> Demand:
    """Create a 场景需求 for an organisation."""
    if org is None:
        raise ValidationError(N_("必须指定发布机构"), "organization")
    data = _check_industry(data)
    _check_dates(data)
    if "ipc_codes" in data:
        data = {**data, "ipc_codes": check_ipc_codes(data["ipc_codes"])}
    demand = Demand(organization=org, province=org.province, city=org.city)
    _assign(demand, data, DEMAND_FIELDS)
    _check_budget(demand)
    demand.refresh_hash()
    db.session.add(demand)
    db.session.flush()
    audit.record(user_id, "demand.post", demand, after=audit.snapshot(demand, ["title", "status"]))
    return demand


def update_demand(demand: Demand, data: dict, user_id: int | None = None) -> Demand:
    before = audit.snapshot(demand, [f for f in DEMAND_FIELDS if f in data])
    data = _check_industry(data)
    _check_dates(data)
    if "ipc_codes" in data:
        data = {**data, "ipc_codes": check_ipc_codes(data["ipc_codes"])}
    _assign(demand, data, DEMAND_FIELDS)
    _check_budget(demand)
    demand.refresh_hash()
    db.session.flush()
    audit.record(
        user_id, "demand.update", demand, before=before, after=audit.snapshot(demand, list(before))
    )
    return demand


def post_outcome(
    org: Organization, data: dict, user_id: int | None = None, ipc_codes: list[str] | None = None
) -> Outcome:
    """Create a 科技成果 for an institution."""
    if org is None:
        raise ValidationError(N_("必须指定成果所属机构"), "organization")
    outcome = Outcome(organization=org, province=org.province, city=org.city)
    _assign(outcome, data, OUTCOME_FIELDS)
    if ipc_codes:
        outcome.ipc = [db.session.get(IpcCode, c) for c in check_ipc_codes(ipc_codes)]
    outcome.refresh_hash()
    db.session.add(outcome)
    db.session.flush()
    audit.record(
        user_id, "outcome.post", outcome, after=audit.snapshot(outcome, ["title", "status"])
    )
    return outcome


def update_outcome(
    outcome: Outcome, data: dict, user_id: int | None = None, ipc_codes: list[str] | None = None
) -> Outcome:
    before = audit.snapshot(outcome, [f for f in OUTCOME_FIELDS if f in data])
    _assign(outcome, data, OUTCOME_FIELDS)
    if ipc_codes is not None:
        outcome.ipc = [db.session.get(IpcCode, c) for c in check_ipc_codes(ipc_codes)]
    outcome.refresh_hash()
    db.session.flush()
    audit.record(
        user_id,
        "outcome.update",
        outcome,
        before=before,
        after=audit.snapshot(outcome, list(before)),
    )
    return outcome


def set_status(listing: Demand | Outcome, status: str, user_id: int | None = None):
    before = {"status": listing.status}
    listing.status = status
    db.session.flush()
    audit.record(
        user_id,
        f"{type(listing).__name__.lower()}.status",
        listing,
        before=before,
        after={"status": status},
    )
    return listing


def add_patent(outcome: Outcome | None, data: dict, user_id: int | None = None) -> Patent:
    number = (data.get("number") or "").strip().upper().replace(" ", "")
    if number and db.session.scalar(select(Patent.id).where(Patent.number == number)):
        raise ValidationError(N_("专利号 %(number)s 已存在"), "number", number=number)
    codes = check_ipc_codes(data.get("ipc_codes") or [])
    patent = Patent(outcome=outcome, **{**data, "ipc_codes": codes})
    if patent.applied_on and patent.granted_on and patent.granted_on < patent.applied_on:
        raise ValidationError(N_("授权日不能早于申请日"), "granted_on")
    db.session.add(patent)
    db.session.flush()
    audit.record(user_id, "patent.add", patent, after={"number": patent.number})
    return patent


def _assign(obj, data: dict, allowed: list[str]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError(
            N_("不支持的字段：%(value)s"), sorted(unknown)[0], value="、".join(sorted(unknown))
        )
    for name in allowed:
        if name in data:
            setattr(obj, name, data[name])
