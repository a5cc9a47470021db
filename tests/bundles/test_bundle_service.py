"""组合方案: which outcomes of one organisation are proposed together, on the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from market.services import bundles
from market.services.bundles import Candidate, find_bundles
from market.services.listings import post_demand, set_status
from models import AuditLog, Conflict, MatchBundle, ValidationError, db

from .conftest import ENDURANCE, make_outcome, propose


def cand(outcome_id: int, statuses: str, org: int = 1, relevance: float = 0.6) -> Candidate:
    """statuses spelled one letter per indicator: m(et), n(ot met), u(nknown)."""
    spelled = {"m": "met", "n": "not_met", "u": "unknown"}
    return Candidate(
        match_id=outcome_id,
        outcome_id=outcome_id,
        organization_id=org,
        relevance=relevance,
        statuses=tuple(spelled[s] for s in statuses),
    )


def keys(plans) -> list[str]:
    return [p.key for p in plans]


def test_a_bundle_must_beat_the_best_single_outcome_strictly():
    best = cand(9, "mmn", org=2)
    pair = [cand(1, "mnn"), cand(2, "nmn")]
    assert find_bundles([best, *pair]) == []  # 2 of 3, as good as the best single: not proposed
    plans = find_bundles(pair + [cand(3, "nnm")])
    assert keys(plans)[0] == "1-2-3"
    assert plans[0].covered == 3 and plans[0].best_single == 1
    assert plans[0].combined == ("met", "met", "met")


def test_no_passengers_every_member_adds_an_indicator():
    a, b, twin = cand(1, "mnn"), cand(2, "nmn"), cand(3, "mnu")
    plans = find_bundles([a, b, twin])
    assert "1-2-3" not in keys(plans)  # the twin adds nothing the others miss
    assert set(keys(plans)) == {"1-2", "2-3"}


def test_at_most_three_members_and_only_one_organisation():
    four = [cand(i, "".join("m" if j == i else "n" for j in range(4))) for i in range(4)]
    plans = find_bundles(four, limit=50)
    assert max(len(p.members) for p in plans) == 3
    assert all(p.covered == len(p.members) for p in plans)
    mixed = [cand(1, "mn", org=1), cand(2, "nm", org=2)]
    assert find_bundles(mixed) == []  # partners across organisations: not (yet) proposed


def test_combined_status_reads_met_then_not_met_then_unknown():
    assert bundles.combined_status(["not_met", "met"]) == "met"
    assert bundles.combined_status(["not_met", "not_met"]) == "not_met"
    assert bundles.combined_status(["not_met", "unknown"]) == "unknown"


# -- on the database ---------------------------------------------------------------------------


def test_stored_bundle_has_coverage_table_and_members(drone_market):
    demand, uni, matches = drone_market
    result = bundles.propose_bundles(demand)
    db.session.commit()
    stored = bundles.bundles_of(demand)
    assert result["bundles"] == len(stored) >= 1
    best = stored[0]
    assert best.outcome_ids == sorted(o.id for o in uni.values())
    assert best.organization_id == uni["payload"].organization_id
    assert (best.covered, best.best_single, best.indicator_count) == (3, 1, 3)
    assert [row["combined"] for row in best.coverage] == ["met"] * 3
    assert best.coverage[0]["indicator"].startswith("续航")
    assert best.coverage[0]["declared"] is True
    assert sorted(r["members"].count("met") for r in best.coverage) == [1, 1, 1]
    assert best.score == pytest.approx(0.7)
    assert set(best.match_ids) == {matches[n].id for n in ("endurance", "accuracy", "payload")}
    assert all(b.organization_id == best.organization_id for b in stored)  # never the institute


def test_recomputing_is_idempotent_and_keeps_decisions(drone_market, create_user):
    demand, uni, matches = drone_market
    bundles.propose_bundles(demand)
    db.session.commit()
    first = {b.key: b.id for b in bundles.bundles_of(demand)}
    bundles.propose_bundles(demand)
    db.session.commit()
    assert {b.key: b.id for b in bundles.bundles_of(demand)} == first

    broker = create_user("broker@example.cn", "broker")
    triple = bundles.bundles_of(demand)[0]
    bundles.reject_bundle(triple, broker, "price_gap", "三项许可总价超出预算")
    db.session.commit()
    # The payload outcome's proposal goes away: undecided bundles with it go, the decision stays.
    matches["payload"].stage = "withdrawn"
    db.session.commit()
    bundles.propose_bundles(demand)
    db.session.commit()
    left = bundles.bundles_of(demand)
    assert triple in left and triple.stage == "rejected" and triple.rejection_reason == "price_gap"
    assert all(uni["payload"].id not in b.outcome_ids for b in left if b.stage == "proposed")


def test_closing_the_demand_drops_undecided_bundles(drone_market):
    from market.services import matching

    demand, *_ = drone_market
    bundles.propose_bundles(demand)
    set_status(demand, "closed")
    db.session.commit()
    matching.propose_for_demand(demand.id)  # the refresh hook
    db.session.commit()
    assert db.session.scalars(select(MatchBundle)).all() == []


def test_a_demand_with_one_indicator_gets_no_bundle(enterprise, institution):
    demand = post_demand(
        enterprise,
        {
            "title": "无人机续航提升",
            "scenario_type": "industry",
            "description": "需要提升巡检无人机的续航能力。",
            "indicators": [ENDURANCE],
        },
    )
    a = make_outcome(institution, "无人机电池", [{"name": "续航", "value": 60, "unit": "分钟"}])
    b = make_outcome(institution, "无人机机体", [{"name": "续航", "value": 50, "unit": "分钟"}])
    propose(demand, a)
    propose(demand, b)
    assert bundles.propose_bundles(demand)["bundles"] == 0


def test_broker_decisions_are_audited_and_guarded(drone_market, create_user, enterprise):
    demand, *_ = drone_market
    bundles.propose_bundles(demand)
    db.session.commit()
    bundle = bundles.bundles_of(demand)[0]
    owner = create_user("owner@example.cn", "enterprise", enterprise)
    with pytest.raises(Exception, match="权限"):
        bundles.accept_bundle(bundle, owner)
    broker = create_user("broker@example.cn", "broker")
    with pytest.raises(ValidationError):
        bundles.reject_bundle(bundle, broker, "other", "")
    stale = bundle.version_id
    bundles.accept_bundle(bundle, broker, stale, "两项专利一并许可")
    db.session.commit()
    with pytest.raises(Conflict):
        bundles.reject_bundle(bundle, broker, "price_gap", "", stale)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "bundle.accept")).one()
    assert entry.object_type == "matchbundle" and entry.object_id == bundle.id
    assert entry.after["outcomes"] == bundle.outcome_ids


def test_combined_terms_have_a_row_per_outcome_and_totals(drone_market):
    demand, uni, _ = drone_market
    bundles.propose_bundles(demand)
    db.session.commit()
    combined = bundles.combined_terms(bundles.bundles_of(demand)[0])
    assert [r.outcome.id for r in combined.rows] == sorted(o.id for o in uni.values())
    assert combined.complete, [r.error for r in combined.rows]
    assert combined.licensors == [uni["payload"].organization.name]
    totals = combined.totals
    assert totals["contract_amount"] == sum(r.value("contract_amount") for r in combined.rows)
    assert totals["entry_fee"] == 0  # 先用后转: 零门槛费 on every row
    rates = [r.value("royalty_rate") for r in combined.rows]
    assert sum(totals["royalties"].values()) == sum(rates)
    assert not any(r.violations for r in combined.rows)
    # 3 × 3% on net sales: within the profile's rules, above one licence's practice range
    assert combined.violations == [] and combined.valid
    assert [w.field for w in combined.warnings] == ["royalty_rate"]


def test_matching_a_demand_proposes_its_bundles(drone_market):
    """Through the real matcher (hash test embedder): the demand's refresh stores its bundles,
    computed from the proposals it just stored, and a second refresh keeps the same rows."""
    from market.services import indexing, matching

    demand, uni, matches = drone_market
    # The test embedder has no relevance model (no 不建议 band): the all-round outcome, weak in
    # the fixture, would be proposed and beat every bundle, so it leaves the catalogue.
    set_status(matches["weak"].outcome, "closed")
    for match in matches.values():
        db.session.delete(match)  # start from what the matcher itself proposes
    db.session.commit()
    indexing.reconcile()
    matching.propose_for_demand(demand.id)
    db.session.commit()
    expected = bundles.find_bundles(bundles.candidates(demand))
    stored = bundles.bundles_of(demand)
    assert [b.key for b in stored] == [p.key for p in expected]
    assert stored, "the three complementary outcomes are proposed and bundled"
    first = [b.id for b in stored]
    matching.propose_for_demand(demand.id)
    db.session.commit()
    assert [b.id for b in bundles.bundles_of(demand)] == first


def test_accepting_a_bundle_opens_a_project_per_outcome_once(drone_market, create_user):
    """The broker carries an accepted bundle as one Deal per licensed outcome; a member already
    accepted keeps its own project, and accepting never opens a second one for it."""
    from market.services import deals
    from models import Deal, Match

    demand, _uni, _matches = drone_market
    bundles.propose_bundles(demand)
    db.session.commit()
    bundle = bundles.bundles_of(demand)[0]
    broker = create_user("broker@example.cn", "broker")
    first, *rest = bundles.member_matches(bundle)
    earlier = deals.accept_match(first, broker, comment="先单独接受")
    db.session.commit()

    bundles.accept_bundle(bundle, broker, comment="组合许可")
    db.session.commit()
    opened = bundles.member_deals(bundle)
    assert [d.match_id for d in opened] == bundle.match_ids
    assert opened[0].id == earlier.id  # kept, not doubled
    assert all(db.session.get(Match, i).stage == "accepted" for i in bundle.match_ids)
    assert all(d.stage == "reviewed" for d in opened)
    assert db.session.scalar(select(func.count()).select_from(Deal)) == len(bundle.match_ids)
    assert f"组合方案 #{bundle.id}" in (rest[0].comment or "")
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "bundle.accept")).one()
    assert entry.after["deals_opened"] == [d.id for d in opened[1:]]


def test_a_member_rejected_meanwhile_stops_the_acceptance_before_anything_changes(
    drone_market, create_user
):
    from market.services import deals
    from models import Deal

    demand, _uni, _matches = drone_market
    bundles.propose_bundles(demand)
    db.session.commit()
    bundle = bundles.bundles_of(demand)[0]
    broker = create_user("broker@example.cn", "broker")
    member = bundles.member_matches(bundle)[-1]
    deals.reject_match(member, broker, "price_gap", "价格差距过大")
    db.session.commit()
    with pytest.raises(Conflict, match="不能整体接受"):
        bundles.accept_bundle(bundle, broker)
    db.session.rollback()
    assert bundle.stage == "proposed"
    assert db.session.scalar(select(func.count()).select_from(Deal)) == 0
