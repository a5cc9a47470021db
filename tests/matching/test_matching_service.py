"""Proposals end to end over the real DB and index (hash test embedder: plumbing, not quality)."""

from datetime import date

import pytest
from sqlalchemy import select

from market.services import indexing, matching
from market.services.listings import (
    add_patent,
    post_demand,
    post_outcome,
    set_status,
    update_outcome,
)
from models import IpcCode, Match, Outcome, db

TODAY = date(2026, 11, 22)


@pytest.fixture
def market(enterprise, institution, create_org):
    far = create_org("示例西部研究院", "institute", city="成都市")
    demand = post_demand(
        enterprise,
        {
            "title": "海上风电场无人机自主巡检",
            "scenario_type": "industry",
            "description": "目前人工巡检每台风机约需2小时。需要无人机自主巡检叶片，续航≥40分钟，"
            "识别精度≥95%。",
            "required_maturity": "pilot",
            "budget_max_fen": 300 * 10**6,
            "cooperation_modes": ["license", "use_first"],
            "indicators": [{"name": "续航", "op": ">=", "value": 40, "unit": "分钟"}],
        },
    )
    good = post_outcome(
        institution,
        {
            "title": "风电叶片无人机自主巡检系统",
            "abstract": "无人机自主巡检风电叶片，续航50分钟。",
            "maturity": "pilot",
            "trl": 6,
            "asking_price_fen": 100 * 10**6,
            "transfer_modes": ["license", "use_first"],
            "use_first_eligible": True,
        },
    )
    early = post_outcome(
        far,
        {
            "title": "无人机巡检叶片缺陷识别算法",
            "abstract": "无人机巡检图像识别，续航30分钟。",
            "maturity": "lab",
            "trl": 3,
            "asking_price_fen": 900 * 10**6,
            "transfer_modes": ["transfer"],
        },
    )
    expired = post_outcome(
        institution,
        {"title": "风电无人机巡检装置（专利已失效）", "abstract": "无人机巡检风电叶片。"},
    )
    add_patent(expired, {"number": "CN1111B", "legal_status": "expired"})
    unrelated = post_outcome(institution, {"title": "中药提取浓缩工艺", "abstract": "提取率提高。"})
    db.session.commit()
    indexing.reconcile()
    db.session.commit()
    return demand, good, early, expired, unrelated


def test_demand_gets_ranked_explained_proposals(market):
    demand, good, early, expired, unrelated = market
    result = matching.propose_for_demand(demand.id)
    db.session.commit()
    matches = db.session.scalars(select(Match).order_by(Match.rank)).all()
    assert result["proposed"] == len(matches) >= 2
    assert matches[0].outcome_id == good.id
    assert expired.id not in {m.outcome_id for m in matches}  # hard constraint filters
    top = matches[0]
    assert top.stage == "proposed" and top.model_version.startswith("hash-test@")
    assert set(top.components) >= {"semantic", "lexical", "maturity", "budget", "dense", "fused"}
    explanation = top.explanation
    assert "无人机" in "".join(explanation["matched_phrases"])
    assert explanation["highlight"]["demand_spans"] and explanation["highlight"]["outcome_spans"]
    assert explanation["sentence"].endswith("。")
    assert any(row["status"] == "met" for row in explanation["indicators"])
    weaker = next(m for m in matches if m.outcome_id == early.id)
    assert weaker.score < top.score
    assert "成熟度" in weaker.explanation["sentence"] or weaker.complexity > top.complexity


def test_proposals_are_deduplicated_and_decisions_kept(market):
    demand, good, *_ = market
    matching.propose_for_demand(demand.id)
    db.session.commit()
    first = db.session.scalars(select(Match).where(Match.outcome_id == good.id)).one()
    first.stage, first.rejection_reason = "rejected", "price_gap"
    db.session.commit()
    matching.propose_for_demand(demand.id)
    db.session.commit()
    again = db.session.scalars(select(Match).where(Match.outcome_id == good.id)).all()
    assert len(again) == 1 and again[0].stage == "rejected"


def test_closing_a_demand_withdraws_open_proposals(market):
    demand, *_ = market
    matching.propose_for_demand(demand.id)
    set_status(demand, "closed")
    db.session.commit()
    result = matching.propose_for_demand(demand.id)
    db.session.commit()
    assert result["withdrawn"] >= 2
    assert {m.stage for m in db.session.scalars(select(Match))} == {"withdrawn"}


def test_outcome_to_demands_direction(market):
    demand, good, *_ = market
    ranked = matching.demands_for_outcome(good, today=TODAY)
    assert [c.listing_id for c in ranked] == [demand.id]
    assert ranked[0].explanation["sentence"]


def test_broker_only_demand_hidden_from_institutions(market, enterprise):
    demand, good, *_ = market
    secret = post_demand(
        enterprise,
        {
            "title": "风电无人机巡检（保密）",
            "scenario_type": "industry",
            "description": "无人机自主巡检风电叶片。",
            "confidentiality": "broker_only",
        },
    )
    db.session.commit()
    indexing.reconcile()
    seen = {c.listing_id for c in matching.demands_for_outcome(good, viewer_is_broker=False)}
    assert secret.id not in seen and demand.id in seen
    seen = {c.listing_id for c in matching.demands_for_outcome(good, viewer_is_broker=True)}
    assert secret.id in seen


def test_free_text_search_modes(market):
    _, good, *_ = market
    for mode in ("bm25", "dense", "hybrid"):
        hits = matching.search_text("outcome", "风电叶片 无人机 巡检", mode=mode)
        assert hits and hits[0].listing_id in {good.id, market[2].id, market[3].id}, mode
    assert matching.search_text("outcome", "区块链存证", mode="bm25") == []


def test_refresh_proposals_counts(market):
    totals = matching.refresh_proposals()
    assert totals["demands"] == 1 and totals["proposed"] >= 2


def test_bulk_facts_equal_the_orm_facts(market, institution):
    _, good, early, expired, unrelated = market
    add_patent(
        good, {"number": "CN2222B", "legal_status": "granted", "expires_on": date(2031, 1, 1)}
    )
    add_patent(good, {"number": "CN3333A", "legal_status": "pending"})
    good.ipc = [db.session.get(IpcCode, "B64C"), db.session.get(IpcCode, "F03D")]
    good.indicators = [{"name": "续航", "op": ">=", "value": 50, "unit": "分钟"}]
    db.session.flush()
    ids = [good.id, early.id, expired.id, unrelated.id]
    bulk = matching.load_outcome_facts(ids, TODAY)
    for outcome in (good, early, expired, unrelated):
        expected = matching.outcome_facts(outcome, TODAY)
        got = bulk[outcome.id]
        assert got.__dict__.keys() == expected.__dict__.keys()
        for name in expected.__dict__:
            mine, theirs = getattr(got, name), getattr(expected, name)
            if name == "ipc_codes":
                mine, theirs = sorted(mine), sorted(theirs)
            assert mine == theirs, (outcome.title, name)
    assert bulk[good.id].patent_status == "granted"
    assert bulk[expired.id].patent_status == "expired"
    assert sorted(bulk[good.id].ipc_codes) == ["B64C", "F03D"]


def test_a_batch_reads_each_outcome_facts_and_neighbourhood_once(market, monkeypatch):
    demand, *_ = market
    calls = {"facts": [], "hoods": []}

    def spy(name, real, ids_at):
        return lambda *args: calls[name].append(list(args[ids_at])) or real(*args)

    facts = spy("facts", matching.load_outcome_facts, 0)  # (ids, today)
    monkeypatch.setattr(matching, "load_outcome_facts", facts)
    monkeypatch.setattr(indexing, "neighborhoods", spy("hoods", indexing.neighborhoods, 1))
    monkeypatch.setitem(matching.current_app.config, "MATCH_IPC_GAIN", 100.0)  # channel on
    with matching.batch():
        first = matching.outcomes_for_demand(demand, today=TODAY)
        again = matching.outcomes_for_demand(demand, today=TODAY)
    assert [c.listing_id for c in first] == [c.listing_id for c in again]
    # the second demand found everything cached: no second read of any kind
    assert {name: len(found) for name, found in calls.items()} == {"facts": 1, "hoods": 1}
    matching.outcomes_for_demand(demand, today=TODAY)
    assert calls["facts"][1] == calls["facts"][0]  # outside a batch nothing is kept
    assert len(calls["hoods"]) == 2


def test_hybrid_candidates_carry_neighbour_and_ipc_evidence(market):
    demand, good, *_ = market
    ranked = matching.outcomes_for_demand(demand, today=TODAY)
    top = ranked[0]
    assert top.listing_id == good.id
    assert top.neighbors is not None and 0 <= top.neighbors <= indexing.NEIGHBORS
    evidence = top.explanation["retrieval"]
    assert evidence == top.retrieval_evidence()
    assert evidence["neighbors"] == indexing.NEIGHBORS
    # Single retrievers report no hybrid evidence.
    vector = matching.query_vector("demand", demand)
    plain = matching.retrieve("outcome", demand.embedding_text(), vector, "dense")
    assert all(c.neighbors is None and c.ipc is None for c in plain)


def test_hybrid_order_is_expanded_dense_plus_bm25_then_neighbour_diffusion(
    app, market, monkeypatch
):
    """The hybrid order, recomputed by hand from the stored neighbourhoods: RRF of the pool
    ranked by expanded vectors and of BM25, then diffused over the neighbour graph. With
    λ = 0 it is plain RRF; a large λ lets neighbours decide."""
    import numpy as np

    from market.search.fusion import neighbor_diffusion, rrf

    demand = market[0]
    text, vector = demand.embedding_text(), matching.query_vector("demand", demand)
    monkeypatch.setitem(app.config, "MATCH_IPC_GAIN", 0.0)  # two rankings only
    dense = [i for i, _ in matching.dense_hits("outcome", vector, matching.CANDIDATES)]
    lexical = [i for i, _ in matching.lexical_hits("outcome", text, matching.CANDIDATES)]
    pool = list(dict.fromkeys(dense + lexical))
    hoods = indexing.neighborhoods("outcome", pool)
    assert set(hoods) == set(pool) and all(h.expanded is not None for h in hoods.values())
    cosine = {i: float(hoods[i].expanded @ vector.reshape(-1)) for i in pool}
    by_expanded = sorted(pool, key=lambda i: (-cosine[i], pool.index(i)))
    fused = dict(rrf([by_expanded, lexical], k=matching.RRF_K))
    neighbors = {i: h.neighbors for i, h in hoods.items()}
    assert all(neighbors.values())
    for weight, rounds in ((0.0, 2), (2.0, 1), (2.0, 2), (50.0, 2)):
        monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_WEIGHT", weight)
        monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_ROUNDS", rounds)
        spread = neighbor_diffusion(fused, neighbors, weight, indexing.NEIGHBORS, rounds=rounds)
        expected = sorted(spread, key=lambda i: (-spread[i], list(fused).index(i)))
        got = [c.listing_id for c in matching.retrieve("outcome", text, vector, "hybrid")]
        assert got == expected
    assert np.isfinite(list(cosine.values())).all()


def test_neighbour_weight_leans_on_ipc_when_the_subclass_is_sure(app, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_WEIGHT", 3.0)
    monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_WEIGHT_SURE", 1.0)
    assert matching.neighbor_weight(0.0) == pytest.approx(3.0)
    assert matching.neighbor_weight(1.0) == pytest.approx(1.0)
    assert matching.neighbor_weight(0.25) == pytest.approx(2.5)


def test_diffusion_brings_in_missed_neighbours_that_are_still_listed(app, market, monkeypatch):
    """With growth on and a one-listing pool, its stored neighbours become candidates (the
    second round reaches them), except listings no longer in the index (closed since the
    lists were made) and excluded ones; with one round or growth off, nothing is added."""
    demand, good, early, expired, unrelated = market
    text, vector = demand.embedding_text(), matching.query_vector("demand", demand)
    monkeypatch.setitem(app.config, "MATCH_IPC_GAIN", 0.0)
    top = matching.retrieve("outcome", text, vector, "dense", k=1)[0].listing_id
    stored = indexing.neighbor_lists("outcome", [top])[top]
    assert set(stored) == {good.id, early.id, expired.id, unrelated.id} - {top}
    set_status(unrelated, "closed")
    db.session.commit()
    indexing.reconcile()
    db.session.commit()
    assert unrelated.id not in indexing.get_index("outcome")
    assert unrelated.id in indexing.neighbor_lists("outcome", [top])[top]  # list not yet redone

    neighbors = {top: stored}
    monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_GROW_FROM", 50)
    grown = matching._grown("outcome", {top: 1.0}, neighbors, {top, early.id})
    assert set(grown) == {good.id, early.id, expired.id} - {top, early.id}
    assert all(neighbors[i] for i in grown)  # their own lists were read for the next round

    seen = []

    def spy(scores, neighbors, weight, k, rounds=1, candidates=None):
        seen.append((set(scores), list(candidates or ())))
        return diffusion(scores, neighbors, weight, k, rounds, candidates)

    diffusion = matching.neighbor_diffusion
    monkeypatch.setattr(matching, "neighbor_diffusion", spy)
    for rounds, grow_from in ((1, 50), (2, 0), (2, 50)):
        monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_ROUNDS", rounds)
        monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_GROW_FROM", grow_from)
        ranked = matching.retrieve("outcome", "", vector, "hybrid", k=1, exclude={early.id})
        assert len(ranked) == 1 and ranked[0].neighbors is not None
    (pool_one, grown_one), (pool_off, grown_off), (pool_two, grown_two) = seen
    assert pool_one == pool_off == pool_two and len(pool_two) == 1
    assert grown_one == grown_off == []  # one round, or growth off: the pool only
    assert set(grown_two) == {good.id, expired.id} - pool_two  # live, not excluded


def test_only_the_best_fused_hits_lend_their_neighbours(app, market, monkeypatch):
    _, good, early, expired, unrelated = market
    fused, known = {good.id: 0.2, early.id: 0.1}, {good.id, early.id}
    for grow_from, expected in ((1, [expired.id]), (2, [expired.id, unrelated.id])):
        monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_GROW_FROM", grow_from)
        lists = {good.id: [expired.id], early.id: [unrelated.id, good.id]}
        assert matching._grown("outcome", fused, lists, known) == expected


def test_ipc_channel_weight_follows_the_query_confidence(app):
    from market.search.ipc_suggest import IpcProfile

    assert matching.ipc_channel_weight(IpcProfile()) == 0.0
    vague = IpcProfile({"B64C": 0.8, "A01B": 0.6}, confidence=1.05)
    clear = IpcProfile({"B64C": 1.0}, confidence=1.8)
    assert matching.ipc_channel_weight(vague) == pytest.approx(0.1)
    assert matching.ipc_channel_weight(clear) == 1.0
    assert matching.ipc_channel_weight(IpcProfile.from_codes(["B64C"])) == 1.0


def test_query_profile_prefers_declared_codes_then_the_stored_profile(app):
    from market.search.ipc_suggest import IpcProfile

    stored = IpcProfile({"A01B": 1.0}, confidence=1.5).to_json()
    assert set(matching.query_profile(["B64C 39/02"], stored, "x").weights) == {"B64C"}
    assert set(matching.query_profile([], stored, "x").weights) == {"A01B"}
    computed = matching.query_profile([], None, "无人驾驶飞行器的旋翼")
    assert computed and computed == indexing.ipc_profile("无人驾驶飞行器的旋翼")


def test_ipc_channel_brings_same_subclass_listings_forward(app, market, monkeypatch):
    """With a confident query profile, a pooled listing of the same subclass gains a rank
    in the IPC list; the rest of the ranking is RRF as usual."""
    from market.search.ipc_suggest import IpcProfile

    demand, good, early, _, unrelated = market
    monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_WEIGHT", 0.0)
    text, vector = demand.embedding_text(), matching.query_vector("demand", demand)
    for outcome, code in ((good, "H02J"), (early, "B64C"), (unrelated, "A61K")):
        update_outcome(outcome, {}, ipc_codes=[code])
    db.session.commit()
    indexing.index_listings("outcome", [good.id, early.id, unrelated.id])  # as an edit does
    db.session.commit()
    query = IpcProfile.from_codes(["B64C"])
    ranked = matching.retrieve("outcome", text, vector, "hybrid", profile=query)
    by_id = {c.listing_id: c for c in ranked}
    assert by_id[early.id].ipc == pytest.approx(1.0)
    assert by_id[good.id].ipc == 0.0
    without = matching.retrieve("outcome", text, vector, "hybrid", profile=IpcProfile())
    position = [c.listing_id for c in ranked].index(early.id)
    assert position <= [c.listing_id for c in without].index(early.id)
    assert by_id[early.id].fused >= {c.listing_id: c for c in without}[early.id].fused


def test_declared_codes_of_a_candidate_win_over_its_text_profile(app, market):
    from market.search.ipc_suggest import IpcProfile
    from market.services.listings import update_outcome

    demand, good, *_ = market
    assert "A61K" not in good.ipc_profile["weights"]  # its text sits elsewhere
    text, vector = demand.embedding_text(), matching.query_vector("demand", demand)
    query = IpcProfile.from_codes(["A61K"])
    before = {
        c.listing_id: c for c in matching.retrieve("outcome", text, vector, "hybrid", profile=query)
    }
    assert not before[good.id].ipc
    update_outcome(good, {}, ipc_codes=["A61K"])
    db.session.commit()
    indexing.index_listings("outcome", [good.id])  # every edit re-indexes the listing
    db.session.commit()
    ranked = matching.retrieve("outcome", text, vector, "hybrid", profile=query)
    assert {c.listing_id: c for c in ranked}[good.id].ipc == pytest.approx(1.0)
    assert "A61K" not in db.session.get(Outcome, good.id).ipc_profile["weights"]  # text kept


def test_a_clear_subclass_pools_its_listings_from_the_whole_catalogue(app, market, monkeypatch):
    """Listings that neither search reached join the pool by IPC profile when the query's
    subclass is clear (IPC ranking weight ≥ MATCH_IPC_POOL_FROM), and say so; a vague query,
    or the pool turned off, adds none."""
    from market.search.ipc_suggest import IpcProfile

    demand, good, early, expired, unrelated = market
    lead = max(good.ipc_profile["weights"], key=good.ipc_profile["weights"].get)
    classified = [i for i, _ in indexing.get_ipc_index("outcome").top({lead: 1.0}, 10)]
    assert good.id in classified and unrelated.id not in classified
    monkeypatch.setattr(matching, "dense_hits", lambda *a, **kw: [])  # BM25 alone finds
    herb = [i for i, _ in matching.lexical_hits("outcome", "中药提取", 100)]
    assert herb == [unrelated.id]
    monkeypatch.setitem(app.config, "MATCH_IPC_POOL", 100)
    monkeypatch.setitem(app.config, "MATCH_IPC_POOL_FROM", 0.5)
    sure = IpcProfile.from_codes([lead])
    ranked = matching.retrieve("outcome", "中药提取", None, "hybrid", profile=sure)
    by_id = {c.listing_id: c for c in ranked}
    assert set(by_id) == {unrelated.id} | set(classified)
    assert not by_id[unrelated.id].via_ipc
    assert all(by_id[i].via_ipc and by_id[i].retrieval_evidence()["via_ipc"] for i in classified)
    stored = IpcProfile.from_json(good.ipc_profile)  # its text profile (rounded when stored)
    assert by_id[good.id].ipc == pytest.approx(sure.similarity(stored), rel=1e-4)
    excluded = matching.retrieve(
        "outcome", "中药提取", None, "hybrid", profile=sure, exclude={good.id}
    )
    assert good.id not in {c.listing_id for c in excluded}
    vague = IpcProfile({lead: 0.8, "A01B": 0.6}, confidence=1.1)  # IPC ranking weighs 0.2
    for profile, size in ((vague, 100), (sure, 0)):
        monkeypatch.setitem(app.config, "MATCH_IPC_POOL", size)
        ranked = matching.retrieve("outcome", "中药提取", None, "hybrid", profile=profile)
        assert [c.listing_id for c in ranked] == [unrelated.id]


def test_a_demand_not_yet_indexed_gets_its_ipc_suggestions_on_the_spot(market, enterprise):
    """The IPC fit feature needs the demand's subclasses: stored ones once it is indexed,
    suggested from its text before that (a draft, a benchmark query)."""
    demand = market[0]
    indexed = matching.demand_facts(demand)
    assert indexed.ipc_codes == [s["code"] for s in demand.suggested_ipc] != []
    fresh = post_demand(
        enterprise,
        {"title": "锂电池热失控早期预警", "description": "需要电池包热失控预警方法。"},
    )
    db.session.flush()
    assert fresh.indexed_hash is None and not fresh.suggested_ipc
    facts = matching.demand_facts(fresh)
    expected = [s["code"] for s in indexing.suggest_ipc(fresh.embedding_text())]
    assert facts.ipc_codes == expected and expected
    fresh.ipc_codes = ["H01M"]  # declared codes still win
    assert matching.demand_facts(fresh).ipc_codes == ["H01M"]


def test_structured_indicators_say_none_found_with_an_empty_list():
    assert matching.structured_indicators([], "一种无人机外壳") == []
    rows = [{"name": "续航", "op": ">=", "value": 30, "unit": "分钟"}]
    found = matching.structured_indicators(rows, "续航45分钟，重量2kg")
    assert [i.name for i in found][:1] == ["续航"] and len(found) == 2


def test_stored_explanations_are_plain_json():
    import numpy as np

    value = {1: (np.float32(0.5), np.int64(3)), "on": date(2026, 1, 2), "x": [np.float64(1.25)]}
    assert matching._json_safe(value) == {"1": [0.5, 3], "on": "2026-01-02", "x": [1.25]}


def test_retrieval_reads_no_neighbourhood_rows_from_the_database(app, market, monkeypatch):
    """Neighbour lists and expanded vectors come from memory (the graph and the vector index):
    a match reads the demand's own stored vector and nothing else of listing_vector."""
    from sqlalchemy import event

    demand = market[0]
    monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_GROW_FROM", 50)  # the graph walk too
    matching.query_vector("demand", demand)  # stored once, before counting
    db.session.commit()
    statements = []
    engine = db.engine

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        ranked = matching.outcomes_for_demand(demand, today=TODAY)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert ranked and ranked[0].neighbors is not None
    assert statements  # the listener did see the match's queries (facts, patents, …)
    touching = [s for s in statements if "listing_vector" in s]
    assert len(touching) <= 1  # the demand's own row, by its key
    assert all("listing_vector.listing_id = " in s and " IN (" not in s for s in touching)
