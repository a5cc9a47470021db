"""组合方案 (bundle proposals): two or three outcomes of one organisation proposed as one item for a
demand, when together they meet more of the demand's indicators than any single proposed outcome.

Coverage is read with the indicator machinery of the proposals' 指标对照 (``match_indicators`` on
``listing_indicators``, which ``matching.structured_indicators`` caches): per demand indicator
an outcome is met / not_met / unknown, and a bundle meets an indicator when one of its members
does. A bundle is proposed only when

- its members are current proposals of the demand (proposed or accepted, not in the 不建议 band)
  and all belong to one organisation (partners across organisations are future work);
- it meets strictly more indicators than the best single candidate of any organisation;
- every member meets at least one indicator that the other members do not (no passengers).

Its score is the mean of its members' calibrated relevance. Bundles are recomputed whenever the
demand's proposals are (``matching.propose_for_demand`` calls ``propose_bundles``): undecided
ones are replaced, a broker's decision is kept. Flushes, never commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import combinations
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from market import licensing
from market.licensing.sheet import DERIVED_UNITS
from market.search.indicators import listing_indicators, match_indicators
from models import (
    Conflict,
    Deal,
    Demand,
    Match,
    MatchBundle,
    Outcome,
    TermSheet,
    User,
    ValidationError,
    db,
    local_today,
    utcnow,
)
from models.enums import N_, REJECTION_REASONS
from models.listings import outcome_text

from ..policy import require
from . import audit, deals, terms

log = logging.getLogger(__name__)

MAX_MEMBERS = 3
MAX_BUNDLES = 5  # per demand, the best by coverage, then fewer members, then score
CANDIDATE_STAGES = ("proposed", "accepted")
TAKEN = N_("该组合方案已由其他经纪人处理（%(stage)s），请刷新页面")


# -- coverage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One proposed outcome of the demand and what it meets of the demand's indicators."""

    match_id: int
    outcome_id: int
    organization_id: int
    relevance: float
    statuses: tuple[str, ...]
    claims: tuple[str | None, ...] = ()

    @property
    def met(self) -> frozenset[int]:
        return frozenset(i for i, s in enumerate(self.statuses) if s == "met")


@dataclass(frozen=True)
class Plan:
    """A bundle worth proposing (not yet stored)."""

    members: tuple[Candidate, ...]
    best_single: int

    @property
    def key(self) -> str:
        return "-".join(str(m.outcome_id) for m in self.members)

    @property
    def organization_id(self) -> int:
        return self.members[0].organization_id

    @property
    def covered(self) -> int:
        return len(frozenset().union(*(m.met for m in self.members)))

    @property
    def score(self) -> float:
        return sum(m.relevance for m in self.members) / len(self.members)

    @property
    def combined(self) -> tuple[str, ...]:
        columns = zip(*(m.statuses for m in self.members), strict=True)
        return tuple(combined_status(col) for col in columns)


def combined_status(statuses) -> str:
    """A bundle meets an indicator when a member does; it fails it only when every member does."""
    statuses = list(statuses)
    if "met" in statuses:
        return "met"
    if statuses and all(s == "not_met" for s in statuses):
        return "not_met"
    return "unknown"


def demand_indicators(demand: Demand) -> list:
    """The demand's indicators as its proposals' 指标对照 reads them (declared rows first)."""
    return listing_indicators(demand.indicators, demand.embedding_text())


def outcome_coverage(demand_inds: list, outcome: Outcome) -> list:
    """Per demand indicator, the outcome's closest claim and whether it meets the target."""
    text = outcome_text(outcome.title, outcome.abstract)
    return match_indicators(demand_inds, listing_indicators(outcome.indicators, text))


def candidates(demand: Demand, demand_inds: list | None = None) -> list[Candidate]:
    """The demand's current proposals (not 不建议) with their per-indicator coverage."""
    demand_inds = demand_indicators(demand) if demand_inds is None else demand_inds
    matches = db.session.scalars(
        select(Match)
        .where(Match.demand_id == demand.id, Match.stage.in_(CANDIDATE_STAGES))
        .order_by(Match.id)
    ).all()
    found = []
    for match in matches:
        if match.band == "weak":
            continue
        pairs = outcome_coverage(demand_inds, match.outcome)
        relevance = match.relevance if match.relevance is not None else match.score
        found.append(
            Candidate(
                match_id=match.id,
                outcome_id=match.outcome_id,
                organization_id=match.outcome.organization_id,
                relevance=float(relevance or 0.0),
                statuses=tuple(p.status for p in pairs),
                claims=tuple(p.outcome.label if p.outcome is not None else None for p in pairs),
            )
        )
    return found


def find_bundles(cands: list[Candidate], limit: int = MAX_BUNDLES) -> list[Plan]:
    """Pairs and triples of one organisation that beat the best single candidate, no passengers."""
    best = max((len(c.met) for c in cands), default=0)
    by_org: dict[int, list[Candidate]] = defaultdict(list)
    for cand in cands:
        if cand.met:  # an outcome meeting nothing cannot add anything
            by_org[cand.organization_id].append(cand)
    plans = []
    for group in by_org.values():
        group.sort(key=lambda c: c.outcome_id)
        for size in range(2, MAX_MEMBERS + 1):
            for members in combinations(group, size):
                plan = Plan(members, best)
                if plan.covered > best and _no_passenger(members):
                    plans.append(plan)
    plans.sort(key=lambda p: (-p.covered, len(p.members), -p.score, p.key))
    return plans[:limit]


def _no_passenger(members: tuple[Candidate, ...]) -> bool:
    for i, member in enumerate(members):
        others = frozenset().union(*(m.met for j, m in enumerate(members) if j != i))
        if not member.met - others:
            return False
    return True


# -- storing -----------------------------------------------------------------------------------


def bundles_of(demand: Demand, stages: tuple[str, ...] | None = None) -> list[MatchBundle]:
    stmt = select(MatchBundle).where(MatchBundle.demand_id == demand.id)
    if stages is not None:
        stmt = stmt.where(MatchBundle.stage.in_(stages))
    return list(
        db.session.scalars(stmt.order_by(MatchBundle.covered.desc(), MatchBundle.score.desc()))
    )


def awaiting_review(limit: int = 10) -> tuple[list[MatchBundle], int]:
    """Bundles no broker has decided yet (open demands only), best first, and how many there are."""
    stmt = (
        select(MatchBundle)
        .join(Demand, MatchBundle.demand_id == Demand.id)
        .where(MatchBundle.stage == "proposed", Demand.status == "published")
    )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(MatchBundle.covered.desc(), MatchBundle.score.desc()).limit(limit)
    ).all()
    return list(rows), total


def propose_bundles(demand: Demand) -> dict[str, int]:
    """Recompute the demand's bundles from its current proposals: undecided bundles are replaced
    (kept when found again), decided ones stay as the broker left them."""
    existing = {b.key: b for b in bundles_of(demand)}
    plans: list[Plan] = []
    demand_inds: list = []
    if demand.status == "published":
        demand_inds = demand_indicators(demand)
        if len(demand_inds) >= 2:
            plans = find_bundles(candidates(demand, demand_inds))
    keep = set()
    for plan in plans:
        bundle = existing.get(plan.key)
        if bundle is None:
            bundle = MatchBundle(demand_id=demand.id, key=plan.key, stage="proposed")
            db.session.add(bundle)
        keep.add(plan.key)
        if bundle.stage == "proposed":
            _fill(bundle, plan, demand_inds)
    removed = 0
    for key, bundle in existing.items():
        if key not in keep and bundle.stage == "proposed":
            db.session.delete(bundle)
            removed += 1
    db.session.flush()
    return {"demand": demand.id, "bundles": len(plans), "removed": removed}


def _fill(bundle: MatchBundle, plan: Plan, demand_inds: list) -> None:
    members = plan.members
    bundle.organization_id = plan.organization_id
    bundle.outcome_ids = [m.outcome_id for m in members]
    bundle.match_ids = [m.match_id for m in members]
    bundle.coverage = [
        {
            "indicator": ind.label,
            "declared": bool(ind.declared),
            "members": [m.statuses[i] for m in members],
            "claims": [m.claims[i] if m.claims else None for m in members],
            "combined": plan.combined[i],
        }
        for i, ind in enumerate(demand_inds)
    ]
    bundle.indicator_count = len(demand_inds)
    bundle.covered = plan.covered
    bundle.best_single = plan.best_single
    bundle.score = round(plan.score, 6)
    bundle.updated_at = utcnow()


def containing(match: Match) -> list[MatchBundle]:
    """The demand's bundles that have ``match``'s outcome as a member."""
    return [b for b in bundles_of(match.demand) if match.id in (b.match_ids or [])]


def members(bundle: MatchBundle) -> list[Outcome]:
    """The member outcomes, in the bundle's order."""
    found = {
        o.id: o
        for o in db.session.scalars(select(Outcome).where(Outcome.id.in_(bundle.outcome_ids)))
    }
    return [found[i] for i in bundle.outcome_ids if i in found]


def member_matches(bundle: MatchBundle) -> list[Match]:
    found = {
        m.id: m for m in db.session.scalars(select(Match).where(Match.id.in_(bundle.match_ids)))
    }
    return [found[i] for i in bundle.match_ids if i in found]


# -- broker decisions --------------------------------------------------------------------------


def _claim(bundle: MatchBundle, user: User, expected_version: int | None) -> None:
    require(user, "bundle.review", bundle)
    if bundle.stage != "proposed":
        raise Conflict(TAKEN, stage=bundle.stage_label)
    if expected_version is not None and expected_version != bundle.version_id:
        raise Conflict(TAKEN, stage=N_("组合方案内容已更新"))


def _flush_decision() -> None:
    try:
        db.session.flush()
    except StaleDataError as e:
        raise Conflict(TAKEN, stage=N_("刚刚被处理")) from e


MEMBER_DECIDED = N_("组合中的“%(title)s”的推荐状态为“%(stage)s”，不能整体接受；请先查看该推荐")


def accept_bundle(
    bundle: MatchBundle, user: User, expected_version: int | None = None, comment: str = ""
) -> MatchBundle:
    """A broker takes the bundle on and carries it as one project per licensed outcome: each
    member proposal still open is accepted (a Deal each, as a single proposal would be); a
    member already accepted keeps its project. A member rejected or withdrawn meanwhile stops
    the whole acceptance, before anything changes."""
    _claim(bundle, user, expected_version)
    matches = member_matches(bundle)
    for match in matches:
        if match.stage not in ("proposed", "accepted"):
            raise Conflict(MEMBER_DECIDED, title=match.outcome.title, stage=match.stage_label)
    bundle.stage, bundle.broker_id = "accepted", user.id
    bundle.comment = (comment or "").strip()[:2000] or None
    bundle.decided_at = utcnow()
    _flush_decision()
    note = f"组合方案 #{bundle.id}" + (f"：{bundle.comment}" if bundle.comment else "")
    opened = []
    for match in matches:
        if match.stage == "proposed":
            opened.append(deals.accept_match(match, user, comment=note).id)
    audit.record(
        user.id,
        "bundle.accept",
        bundle,
        before={"stage": "proposed"},
        after={
            "stage": "accepted",
            "outcomes": bundle.outcome_ids,
            "comment": bundle.comment,
            "deals_opened": opened,
        },
    )
    return bundle


def member_deals(bundle: MatchBundle) -> list[Deal]:
    """The projects carrying an accepted bundle, one per licensed outcome, in member order."""
    ids = [m.id for m in member_matches(bundle)]
    found = {d.match_id: d for d in db.session.scalars(select(Deal).where(Deal.match_id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def reject_bundle(
    bundle: MatchBundle,
    user: User,
    reason: str,
    comment: str = "",
    expected_version: int | None = None,
) -> MatchBundle:
    if reason not in REJECTION_REASONS:
        raise ValidationError(N_("请选择拒绝原因"), "reason")
    comment = (comment or "").strip()
    if reason == "other" and not comment:
        raise ValidationError(N_("选择“其他”时请写明原因"), "comment")
    _claim(bundle, user, expected_version)
    bundle.stage, bundle.broker_id, bundle.rejection_reason = "rejected", user.id, reason
    bundle.comment = comment[:2000] or None
    bundle.decided_at = utcnow()
    _flush_decision()
    audit.record(
        user.id,
        "bundle.reject",
        bundle,
        before={"stage": "proposed"},
        after={"stage": "rejected", "reason": reason, "comment": comment},
    )
    return bundle


def decide(
    bundle: MatchBundle,
    user: User,
    decision: str,
    reason: str | None = None,
    comment: str = "",
    expected_version: int | None = None,
) -> MatchBundle:
    """accept / reject by one verb (the API's decision endpoint)."""
    if decision == "accepted":
        return accept_bundle(bundle, user, expected_version, comment)
    if decision == "rejected":
        return reject_bundle(bundle, user, reason or "", comment, expected_version)
    raise ValidationError(N_("请选择接受或拒绝"), "decision")


# -- one combined term sheet -------------------------------------------------------------------

TOTAL_FIELDS = ("entry_fee", "milestone_total", "deferred_total", "fixed_fee_total")


@dataclass
class TermsRow:
    """One licensed outcome of the bundle with its licensor and its own (validated) sheet."""

    outcome: Outcome
    licensor: str
    sheet: licensing.TermSheet | None
    stored: bool = False  # the member's saved draft, not a fresh preview
    error: str = ""
    violations: list[licensing.Violation] = field(default_factory=list)

    def value(self, name: str) -> Any:
        if self.sheet is None:
            return None
        if name not in self.sheet.terms and name not in DERIVED_UNITS:
            return None
        return self.sheet.value(name)


@dataclass
class CombinedTerms:
    """One combined term sheet: a row per licensed outcome, totals and the combined checks."""

    profile_key: str
    mode: str
    rows: list[TermsRow]
    totals: dict[str, Any]
    violations: list[licensing.Violation]
    warnings: list[licensing.Violation] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(r.sheet is not None for r in self.rows)

    @property
    def valid(self) -> bool:
        return self.complete and not self.violations and not any(r.violations for r in self.rows)

    @property
    def licensors(self) -> list[str]:
        return sorted({r.licensor for r in self.rows})


def combined_terms(
    bundle: MatchBundle,
    profile_key: str | None = None,
    mode: str = "use_first",
    today: date | None = None,
) -> CombinedTerms:
    """Draft the bundle's combined 先用后转 terms from its members' per-outcome drafts.

    A member whose proposal already has a saved draft under the profile and mode contributes that
    sheet; the others a fresh preview (``terms.preview_for_match``). Every sheet is validated by
    the profile's rules, and so are the stacked royalties: a licensee paying each member's royalty
    on the same base pays their sum, which must still respect the profile's royalty rules (a
    practice default's range is only a warning)."""
    profile = terms.get_profile(profile_key)
    today = today or local_today()
    rows = []
    for match in member_matches(bundle):
        outcome = match.outcome
        row = TermsRow(outcome=outcome, licensor=outcome.organization.name, sheet=None)
        saved = _saved_sheet(match, profile.key, mode)
        if saved is not None:
            row.sheet, row.stored = saved, True
        else:
            row.sheet, row.error = terms.preview_for_match(match, profile.key, mode, today)
        if row.sheet is not None:
            row.violations = licensing.validate(row.sheet, profile, terms.outcome_facts(outcome))
        rows.append(row)
    stacked = _stacked_royalty_violations(rows, profile)
    # A practice default (2–5% for one licence) is not a rule: the stack may exceed it, and the
    # page says so; a profile rule or core check (开放许可 ≤ 20%) refuses it.
    return CombinedTerms(
        profile_key=profile.key,
        mode=mode,
        rows=rows,
        totals=_totals(rows, bundle.demand),
        violations=[v for v in stacked if not v.source.startswith("default:")],
        warnings=[v for v in stacked if v.source.startswith("default:")],
    )


def _saved_sheet(match: Match, profile_key: str, mode: str) -> licensing.TermSheet | None:
    row = db.session.scalars(
        select(TermSheet)
        .where(
            TermSheet.match_id == match.id,
            TermSheet.profile_key == profile_key,
            TermSheet.mode == mode,
        )
        .order_by(TermSheet.id.desc())
        .limit(1)
    ).first()
    return terms.sheet_of(row) if row is not None else None


def _totals(rows: list[TermsRow], demand: Demand) -> dict[str, Any]:
    sheets = [r for r in rows if r.sheet is not None]
    totals: dict[str, Any] = {
        name: sum(int(r.value(name) or 0) for r in sheets) for name in TOTAL_FIELDS
    }
    totals["contract_amount"] = sum(int(r.value("contract_amount") or 0) for r in sheets)
    conversions = [r.value("conversion_price") for r in sheets]
    totals["conversion_price"] = sum(int(c) for c in conversions if c is not None)
    royalties: dict[str, int] = defaultdict(int)
    for r in sheets:
        base, rate = r.value("royalty_base"), int(r.value("royalty_rate") or 0)
        if base and base != "none" and rate:
            royalties[base] += rate
    totals["royalties"] = dict(royalties)  # bps per base, stacked
    windows = [int(r.value("free_window_months") or 0) for r in sheets]
    totals["free_window_min"] = min(windows, default=None)
    totals["free_window_max"] = max(windows, default=None)
    totals["notice_required"] = any(bool(r.value("notice_required")) for r in sheets)
    notice_days = [int(r.value("notice_days") or 0) for r in sheets if r.value("notice_required")]
    totals["notice_days"] = max(notice_days, default=None)
    totals["budget_fen"] = demand.budget_max_fen
    totals["over_budget"] = (
        demand.budget_max_fen is not None and totals["contract_amount"] > demand.budget_max_fen
    )
    return totals


def _stacked_royalty_violations(
    rows: list[TermsRow], profile: licensing.Profile
) -> list[licensing.Violation]:
    """The profile's royalty rules applied to the sum of the members' rates on each base."""
    by_base: dict[str, list[TermsRow]] = defaultdict(list)
    for r in rows:
        if r.sheet is not None and r.value("royalty_base") not in (None, "none"):
            by_base[r.value("royalty_base")].append(r)
    found = []
    for group in by_base.values():
        if len(group) < 2:
            continue  # one sheet: already validated on its own
        first = group[0]
        stacked = sum(int(r.value("royalty_rate") or 0) for r in group)
        term = replace(first.sheet.term("royalty_rate"), value=stacked)
        sheet = replace(first.sheet, terms={**first.sheet.terms, "royalty_rate": term})
        facts = terms.outcome_facts(first.outcome)
        found += [v for v in licensing.validate(sheet, profile, facts) if v.field == "royalty_rate"]
    return found
