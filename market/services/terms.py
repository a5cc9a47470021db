"""先用后转 term sheets in the database: policy profiles as rows, drafting from a Match, versioned
edits with optimistic locking, simulation and exports. Flushes, never commits."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from market import licensing
from market.licensing import charts, exports
from market.licensing.sheet import LIST_FIELDS
from models import (
    Conflict,
    Deal,
    Match,
    Outcome,
    PolicyProfile,
    TermSheet,
    User,
    ValidationError,
    db,
    local_today,
    utcnow,
)
from models.enums import N_

from . import audit

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "zhuhai-2025"
STALE_MESSAGE = "条款书已被他人修改（当前为第{v}版），请刷新页面查看最新版本后再修改"
_cache: dict[tuple, dict[str, licensing.Profile]] = {}


class TermsRefused(ValidationError):
    """An edit or draft breaks a policy rule; ``violations`` name each rule and its citation."""

    def __init__(self, violations: list[licensing.Violation]):
        first = violations[0]
        super().__init__(
            f"{first.message}（依据：{first.citation}；规则 {first.rule_id}）", first.field
        )
        self.violations = violations


# -- policy profiles ---------------------------------------------------------------------------


def policy_dir() -> Path:
    return Path(current_app.config["POLICY_DIR"])


def load_policy_profiles(directory: str | Path | None = None) -> dict[str, int]:
    """Store every seed_data/policies/*.toml profile as a PolicyProfile row (idempotent: rows
    whose source text is unchanged are left alone)."""
    directory = Path(directory) if directory else policy_dir()
    profiles = licensing.load_profiles(directory)  # parse everything first: all or nothing
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for profile in profiles.values():
        text = Path(profile.path).read_text(encoding="utf-8")
        row = db.session.get(PolicyProfile, profile.key)
        if row is None:
            row = PolicyProfile(key=profile.key)
            db.session.add(row)
            counts["added"] += 1
        elif row.source_text == text:
            counts["unchanged"] += 1
            continue
        else:
            counts["updated"] += 1
        row.name, row.data, row.source_text = profile.name, profile.to_dict(), text
    db.session.flush()
    log.info("policy profiles loaded from %s: %s", directory, counts)
    return counts


def profiles() -> dict[str, licensing.Profile]:
    """Profiles parsed from the database rows (their TOML source), else from the files."""
    rows = db.session.execute(
        select(PolicyProfile.key, PolicyProfile.source_text, PolicyProfile.updated_at)
    ).all()
    rows = [r for r in rows if r.source_text]
    if not rows:
        return licensing.load_profiles(policy_dir())
    stamp = tuple(sorted((r.key, r.updated_at.isoformat(), len(r.source_text)) for r in rows))
    if stamp not in _cache:
        _cache.clear()
        _cache[stamp] = _parse_rows(rows)
    return _cache[stamp]


def _parse_rows(rows) -> dict[str, licensing.Profile]:
    # `extends` resolves among sibling files, so the rows are laid out as files once.
    with tempfile.TemporaryDirectory(prefix="policies-") as tmp:
        for row in rows:
            (Path(tmp) / f"{row.key}.toml").write_text(row.source_text, encoding="utf-8")
        return licensing.load_profiles(tmp)


def get_profile(key: str | None = None) -> licensing.Profile:
    key = key or current_app.config.get("DEFAULT_POLICY_PROFILE", DEFAULT_PROFILE)
    try:
        return profiles()[key]
    except KeyError as e:
        raise ValidationError(N_("未知的政策档案：%(key)s"), "profile_key", key=key) from e


def profile_choices() -> list[tuple[str, str]]:
    return [(p.key, p.name) for p in profiles().values()]


# -- facts from the database -------------------------------------------------------------------


def outcome_facts(outcome: Outcome) -> licensing.OutcomeFacts:
    """The outcome, its patents and owner as the licensing engine sees them."""
    try:
        return licensing.OutcomeFacts(
            maturity=outcome.maturity or "lab",
            patents=tuple(_patent_facts(p) for p in outcome.patents if p.expires_on),
            asking_price_fen=outcome.asking_price_fen,
            owner_kind=outcome.organization.kind,
            ownership_shared_with_team=bool(outcome.team_share_pct),
            team_ownership_bps=(
                outcome.team_share_pct * 100 if outcome.team_share_pct is not None else None
            ),
            use_right_years=outcome.use_right_years,
            research_type=outcome.research_type,
            owner_state_owned=bool(outcome.organization.state_owned),
            fiscal_funded=outcome.fiscal_funded,
            implemented=outcome.implemented,
            in_use_first_pool=outcome.use_first_state in ("pending_consent", "pooled"),
            field_code=(outcome.ipc_codes or [""])[0],
            ref=f"outcome:{outcome.id}",
        )
    except licensing.LicensingError as e:
        raise ValidationError(N_("成果信息不完整：%(e)s"), e=e) from e


def _patent_facts(patent) -> licensing.PatentFacts:
    return licensing.PatentFacts(
        number=patent.number,
        kind=patent.kind,
        granted_on=patent.granted_on,
        expires_on=patent.expires_on,
        in_force=patent.legal_status == "granted",
    )


def licensee_facts(match: Match) -> licensing.LicenseeFacts:
    demand = match.demand
    org = demand.organization
    return licensing.LicenseeFacts(
        is_sme=bool(org.is_sme),
        region=demand.region_label or org.region_label,
        budget_fen=demand.budget_max_fen,
        name=org.name,
    )


# -- drafting and editing ----------------------------------------------------------------------


def draft_for_match(
    match: Match, profile_key: str | None, mode: str, user: User, today: date | None = None
) -> TermSheet:
    """Draft version 1 of the terms for a proposal and store it as a TermSheet row."""
    profile = get_profile(profile_key)
    facts = outcome_facts(match.outcome)
    try:
        sheet = licensing.draft_terms(
            facts, licensee_facts(match), mode, profile, today or local_today()
        )
    except licensing.DraftError as e:
        if e.violations:
            raise TermsRefused(e.violations) from e
        raise ValidationError(str(e)) from e
    except licensing.LicensingError as e:
        raise ValidationError(str(e), "mode") from e
    row = TermSheet(
        match_id=match.id,
        outcome_id=match.outcome_id,
        licensee_id=match.demand.organization_id,
        profile_key=profile.key,
        mode=mode,
        data=sheet.to_dict(),
        history=[],
        created_by=user.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(user.id, "termsheet.draft", row, after={"profile": profile.key, "mode": mode})
    return row


def draft_for_deal(
    deal: Deal, profile_key: str | None, mode: str, user: User, today: date | None = None
) -> TermSheet:
    """Draft the terms of a deal's pairing and make them the deal's current sheet."""
    row = draft_for_match(deal.match, profile_key, mode, user, today)
    deal.term_sheet_id = row.id
    db.session.flush()
    return row


def sheet_of(row: TermSheet) -> licensing.TermSheet:
    return licensing.TermSheet.from_dict(row.data)


def edit_terms(
    row: TermSheet, changes: dict[str, Any], user: User, expected_version: int | None
) -> TermSheet:
    """Apply an edit: re-validated against the profile, stored as a new version. Raises
    TermsRefused naming the rule broken, Conflict when someone else saved first."""
    if expected_version is not None and expected_version != row.version_id:
        raise Conflict(STALE_MESSAGE.format(v=row.version_id))
    before = sheet_of(row)
    try:
        edited = licensing.apply_edit(
            before, changes, get_profile(row.profile_key), outcome_facts(row.outcome), user.email
        )
    except licensing.TermsViolation as e:
        raise TermsRefused(e.violations) from e
    if edited is before:
        return row
    row.data = edited.to_dict()
    row.history = [*row.history, {"version": before.version, "data": before.to_dict()}]
    row.updated_at = utcnow()
    _flush_or_conflict(row)
    audit.record(
        user.id,
        "termsheet.edit",
        row,
        before={k: _stored(before.to_dict(), k) for k in changes},
        after={k: _stored(row.data, k) for k in changes},
    )
    return row


def check_edit(row: TermSheet, changes: dict[str, Any], user: User) -> list[licensing.Violation]:
    """Every rule an edit would break, without saving it ([] when it would be accepted)."""
    if not changes:
        return []
    try:
        licensing.apply_edit(
            sheet_of(row),
            changes,
            get_profile(row.profile_key),
            outcome_facts(row.outcome),
            user.email,
        )
    except licensing.TermsViolation as e:
        return list(e.violations)
    return []


def _stored(data: dict[str, Any], name: str) -> Any:
    """A scalar term, or the milestone / instalment list, as stored in the sheet's JSON."""
    return data.get(name) if name in LIST_FIELDS else data["terms"].get(name)


def _flush_or_conflict(row: TermSheet) -> None:
    try:
        db.session.flush()
    except StaleDataError as e:
        raise Conflict(STALE_MESSAGE.format(v="更新")) from e


def changes_list(row: TermSheet) -> list[dict[str, Any]]:
    """Every change ever made, newest first (the engine keeps them in the sheet)."""
    return sorted(row.data.get("history", []), key=lambda c: -c["version"])


# -- simulation and exports --------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationInput:
    low_fen: int
    base_fen: int
    high_fen: int
    discount_pct: Decimal
    margin_bps: int = 2000


def simulate(row: TermSheet, given: SimulationInput) -> tuple[licensing.SimulationResult, str]:
    """Yearly cash flows, NPVs, buyout comparison and the SVG chart for three revenue cases."""
    scenarios = [
        licensing.RevenueScenario(name, (amount,), given.margin_bps)
        for name, amount in (
            ("low", given.low_fen),
            ("base", given.base_fen),
            ("high", given.high_fen),
        )
    ]
    try:
        result = licensing.simulate(sheet_of(row), scenarios, given.discount_pct / 100)
    except licensing.LicensingError as e:
        raise ValidationError(str(e), "discount_pct") from e
    return result, charts.simulation_svg(result)


def export_context(row: TermSheet) -> exports.ExportContext:
    """What the exports need beyond the sheet: both parties as the 技术合同登记表 asks for them."""
    outcome = row.outcome
    buyer = row.match.demand.organization if row.match else None
    deal = db.session.scalar(select(Deal).where(Deal.term_sheet_id == row.id).limit(1))
    broker = db.session.get(User, deal.broker_id) if deal and deal.broker_id else None
    broker_name = (broker.name or broker.email) if broker else ""
    return exports.ExportContext(
        licensor_name=outcome.organization.name,
        licensee_name=buyer.name if buyer else "",
        outcome_title=outcome.title,
        patent_numbers=tuple(p.number for p in outcome.patents),
        technical_field=outcome.field or "",
        broker_name=broker_name,
        licensor=_party(outcome.organization),
        licensee=_party(buyer) if buyer else exports.PartyFacts(),
        patent_kinds=tuple(p.kind for p in outcome.patents),
        technical_field_code=(outcome.ipc_codes or [""])[0],
        fiscal_funded=outcome.fiscal_funded,
        intermediary=f"场景桥平台（技术经纪人：{broker_name}）" if broker_name else "",
    )


def _party(org) -> exports.PartyFacts:
    return exports.PartyFacts(kind=org.kind, province=org.province or "", city=org.city or "")


EXPORTS = {
    "pdf": ("application/pdf", "pdf"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}


def export(row: TermSheet, kind: str) -> bytes:
    """The sheet as PDF, DOCX, or its 技术合同登记 record as JSON / CSV."""
    import json

    sheet, context = sheet_of(row), export_context(row)
    try:
        if kind == "pdf":
            return exports.to_pdf(sheet, context)
        if kind == "docx":
            return exports.to_docx(sheet, context)
    except licensing.CjkFontMissing as e:
        raise ValidationError(str(e)) from e
    record = exports.contract_registration_record(sheet, context)
    if kind == "json":
        return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
    if kind == "csv":
        return ("\ufeff" + exports.to_csv([record])).encode("utf-8")
    raise ValidationError(N_("不支持的导出格式：%(kind)s"), kind=kind)


def export_filename(row: TermSheet, kind: str) -> str:
    title = exports.document_title(sheet_of(row), export_context(row))
    if kind in ("json", "csv"):
        title = "技术合同登记表"
    return f"{row.outcome.title[:40]}-{title}-第{row.data.get('version', 1)}版.{EXPORTS[kind][1]}"


def preview_for_match(
    match: Match, profile_key: str | None = None, mode: str = "use_first", today: date | None = None
) -> tuple[licensing.TermSheet | None, str]:
    """An unsaved draft for the proposal page, or the reason none can be drafted."""
    try:
        profile = get_profile(profile_key)
        sheet = licensing.draft_terms(
            outcome_facts(match.outcome),
            licensee_facts(match),
            mode,
            profile,
            today or local_today(),
        )
    except licensing.DraftError as e:
        reasons = "；".join(v.message for v in e.violations) or str(e)
        return None, f"无法按该档案生成条款：{reasons}"
    except (licensing.LicensingError, ValidationError) as e:
        return None, str(e)
    return sheet, ""


SUMMARY_FIELDS = (
    "fee_form",
    "entry_fee",
    "free_window_months",
    "royalty_rate",
    "conversion_price",
    "risk_instrument",
    "notice_days",
)


def summary_rows(sheet: licensing.TermSheet) -> list[tuple[str, str, str]]:
    """(label, value, source) for the key terms shown on the proposal page."""
    return [
        (
            licensing.FIELD_LABELS[n],
            exports.display(n, sheet.term(n)),
            exports.source_label(sheet.term(n)),
        )
        for n in SUMMARY_FIELDS
        if n in sheet.terms
    ]
