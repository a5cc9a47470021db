"""Relevance first: the calibrated model, its bands, "no good match", and fit as a tie-breaker.

The model math is tested on synthetic data; the product path on the real database and index
with the hash test embedder and a hand-set model (probability rises with the cosine alone), so
the assertions follow from the texts, not from a trained model's quirks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from market.api.auth import issue_token
from market.search import relevance as rel
from market.services import indexing, matching
from market.services.listings import post_demand, post_outcome
from models import Demand, Match, db

WIDTH = len(rel.FEATURES) + len(rel.INTERACTIONS)


def cosine_only_model(slope: float = 12.0, offset: float = -6.0) -> rel.RelevanceModel:
    coef = [0.0] * WIDTH
    coef[rel.FEATURES.index("cosine")] = slope
    return rel.RelevanceModel([0.0] * WIDTH, [1.0] * WIDTH, coef, offset, embedder="hash-test")


@pytest.fixture
def relevance_dir(app, tmp_path, monkeypatch):
    """A hand-set relevance model for the hash test embedder, read by the matcher."""
    rel.save_model(cosine_only_model(), rel.model_path("hash-test", tmp_path))
    monkeypatch.setitem(app.config, "MATCH_RELEVANCE_DIR", str(tmp_path))
    rel.load_model.cache_clear()
    yield tmp_path
    rel.load_model.cache_clear()


# -- the model -------------------------------------------------------------------------------


def test_design_rows_have_every_feature_and_interaction():
    row = rel.design_row({"cosine": 0.8, "query_length": 3.0, "bm25_ratio": 0.5})
    assert len(row) == WIDTH
    assert row[rel.FEATURES.index("cosine")] == 0.8
    pairs = list(rel.INTERACTIONS)
    assert row[len(rel.FEATURES) + pairs.index(("bm25_ratio", "query_length"))] == 1.5
    assert rel.design([]).shape == (0, WIDTH)


def test_the_ranker_learns_which_signal_carries_relevance():
    rng = np.random.default_rng(7)
    signals = [
        {"cosine": c, "bm25_ratio": b, "query_length": 4.0}
        for c, b in rng.uniform(0, 1, size=(400, 2))
    ]
    x = rel.design(signals)
    y = np.array([1.0 if s["cosine"] > 0.6 else 0.0 for s in signals])
    mean, scale, coef, intercept = rel.fit_ranker(x, y, np.ones(len(y)))
    model = rel.RelevanceModel(mean, scale, coef, intercept)
    p = model.probabilities(x)
    assert p[y == 1].mean() > 0.7 > 0.3 > p[y == 0].mean()
    assert abs(coef[rel.FEATURES.index("cosine")]) > abs(coef[rel.FEATURES.index("bm25_ratio")])


def test_calibration_maps_logits_to_observed_rates():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 2, 4000)
    truth = 1 / (1 + np.exp(-(0.5 * logits - 1.0)))
    accepted = rng.uniform(size=len(logits)) < truth
    a, c = rel.fit_calibration(logits, accepted)
    assert a == pytest.approx(0.5, abs=0.1) and c == pytest.approx(-1.0, abs=0.15)
    p = rel._sigmoid(a * logits + c)
    for row in rel.reliability(p, accepted.astype(float), bins=5):
        if row["pairs"] > 200:
            assert abs(row["predicted"] - row["observed"]) < 0.06


def test_bands_follow_the_model_edges():
    model = cosine_only_model()
    assert model.band(0.9) == "strong"
    assert model.band(model.bands["possible"]) == "possible"
    assert model.band(0.05) == "weak"


def test_fit_reorders_close_candidates_only():
    assert rel.order_key(0.60, 1.0) > rel.order_key(0.58, 0.0)  # close: fit decides
    assert rel.order_key(0.80, 0.0) > rel.order_key(0.60, 1.0)  # far apart: relevance decides


def test_a_saved_model_reads_back_and_refuses_other_features(tmp_path):
    path = rel.save_model(cosine_only_model(), rel.model_path("hash-test", tmp_path))
    again = rel.load_model("hash-test", tmp_path)
    assert again.coef == cosine_only_model().coef
    assert rel.load_model("some-other-model", tmp_path) is None  # never borrowed
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError, match="refit"):
        rel.RelevanceModel.from_json(data)


def test_auc_counts_ties_half():
    assert rel.auc([0.9, 0.5], [True, False]) == 1.0
    assert rel.auc([0.5, 0.5], [True, False]) == 0.5
    assert rel.auc([0.5], [True]) is None


# -- the product path ------------------------------------------------------------------------


@pytest.fixture
def catalogue(enterprise, institution):
    demand = post_demand(
        enterprise,
        {
            "title": "储能电站锂电池热失控预警",
            "scenario_type": "industry",
            "description": "储能电站锂电池热失控预警，要求提前预警，降低火灾风险。",
        },
    )
    close = post_outcome(
        institution,
        {"title": "储能电站锂电池热失控预警方法", "abstract": "锂电池热失控预警，储能电站适用。"},
    )
    far = post_outcome(
        institution, {"title": "中药材提取浓缩工艺", "abstract": "黄芪多糖提取率提高一倍。"}
    )
    db.session.commit()
    indexing.reconcile()
    db.session.commit()
    return demand, close, far


def test_candidates_carry_a_probability_and_a_band(relevance_dir, catalogue):
    demand, close, far = catalogue
    ranked = matching.outcomes_for_demand(demand, k=10)
    by_id = {c.listing_id: c for c in ranked}
    assert by_id[close.id].relevance > by_id[far.id].relevance
    assert by_id[close.id].score == by_id[close.id].relevance  # the shown score is P(accept)
    assert by_id[far.id].band == "weak"
    assert ranked[0].listing_id == close.id
    rel_block = by_id[close.id].explanation["relevance"]
    assert rel_block["band"] == by_id[close.id].band and 0 <= rel_block["fit"] <= 1


def test_weak_pairs_never_reach_the_broker_queue(relevance_dir, catalogue):
    demand, close, far = catalogue
    matching.propose_for_demand(demand.id)
    db.session.commit()
    proposed = {m.outcome_id for m in db.session.scalars(select(Match))}
    assert close.id in proposed and far.id not in proposed
    summary = db.session.get(Demand, demand.id).match_summary
    assert summary["no_good_match"] is False and summary["bands"]["weak"] >= 1


def test_a_demand_nothing_answers_says_so_and_how_to_reword(relevance_dir, enterprise, catalogue):
    lonely = post_demand(
        enterprise,
        {"title": "远洋渔船冷链", "scenario_type": "industry", "description": "远洋渔船冷链。"},
    )
    db.session.commit()
    matching.propose_for_demand(lonely.id)
    db.session.commit()
    assert not db.session.scalars(select(Match).where(Match.demand_id == lonely.id)).all()
    summary = db.session.get(Demand, lonely.id).match_summary
    assert summary["no_good_match"] is True
    codes = [a["code"] for a in summary["advice"]]
    assert codes[0] == "short" and "no_indicators" in codes and codes[-1] == "challenge"
    assert all(a["text"] for a in summary["advice"])


def test_without_a_model_for_the_embedder_the_ranking_is_unchanged(app, catalogue):
    demand, close, far = catalogue
    ranked = matching.outcomes_for_demand(demand, k=10)
    assert all(c.relevance is None and c.band is None for c in ranked)
    assert ranked[0].listing_id == close.id


# -- what people see -------------------------------------------------------------------------


def test_the_owner_sees_bands_and_an_honest_no_match(
    relevance_dir, catalogue, enterprise, create_user, auth, client
):
    demand, close, far = catalogue
    create_user("owner@example.com", "enterprise", enterprise)
    lonely = post_demand(
        enterprise,
        {"title": "远洋渔船冷链", "scenario_type": "industry", "description": "远洋渔船冷链。"},
    )
    db.session.commit()
    auth.login("owner@example.com")
    waiting = client.get(f"/my/demands/{demand.id}/proposals").get_data(as_text=True)
    assert 'data-testid="matching-in-progress"' in waiting and 'http-equiv="refresh"' in waiting
    matching.propose_for_demand(demand.id)
    matching.propose_for_demand(lonely.id)
    db.session.commit()
    page = client.get(f"/my/demands/{demand.id}/proposals").get_data(as_text=True)
    assert 'data-band="strong"' in page or 'data-band="possible"' in page
    assert close.title in page and far.title not in page
    none = client.get(f"/my/demands/{lonely.id}/proposals").get_data(as_text=True)
    assert 'data-testid="no-good-match"' in none and "揭榜挂帅" in none
    assert "需求描述只有" in none and "refresh" not in none
    assert "能耗降低20%”" in none  # the template's %% is one percent sign


def test_the_api_gives_the_band_and_the_match_summary(
    relevance_dir, catalogue, create_user, client
):
    demand, close, far = catalogue
    matching.propose_for_demand(demand.id)
    db.session.commit()
    _token, plain = issue_token(create_user("broker@example.com", "broker"), "测试令牌")
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    listed = client.get("/api/v1/matches", headers=headers).get_json()
    item = next(i for i in listed["items"] if i["outcome"]["id"] == close.id)
    assert item["band"] in ("strong", "possible") and item["relevance"] == item["score"]
    shown = client.get(f"/api/v1/demands/{demand.id}", headers=headers).get_json()
    assert shown["match_summary"]["no_good_match"] is False
    assert set(shown["match_summary"]["bands"]) == {"strong", "possible", "weak"}


def test_publishing_returns_at_once_and_matching_runs_in_the_background(
    app, client, auth, enterprise, create_user, relevance_dir, catalogue, monkeypatch
):
    """The embedded default has no worker: tasks run on a background thread, so the publish
    request answers at once and the page shows matching in progress until it is done."""
    from market import tasks

    demand, close, far = catalogue
    monkeypatch.setitem(app.config, "TASKS_IN_BACKGROUND", True)
    create_user("owner2@example.com", "enterprise", enterprise)
    auth.login("owner2@example.com")
    demand.match_summary = None
    db.session.commit()
    assert tasks.enqueue("match_listing", "demand", demand.id) is True
    assert tasks.drain(timeout=60)
    db.session.expire_all()
    assert db.session.get(Demand, demand.id).match_summary is not None
    page = client.get(f"/my/demands/{demand.id}/proposals").get_data(as_text=True)
    assert close.title in page and "matching-in-progress" not in page
