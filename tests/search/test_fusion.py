"""Reciprocal-rank and score fusion."""

from __future__ import annotations

import pytest

from market.search.fusion import normalize_scores, rrf, score_fusion


def test_rrf_hand_computed():
    fused = dict(rrf([["a", "b"], ["b", "c"]], k=60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["c"] == pytest.approx(1 / 62)


def test_rrf_order_and_weights():
    assert [d for d, _ in rrf([["a", "b"], ["b", "c"]])] == ["b", "a", "c"]
    weighted = rrf([["a", "b"], ["b", "a"]], weights=[2.0, 1.0])
    assert weighted[0][0] == "a"


def test_rrf_ties_break_by_best_rank_then_first_seen():
    # a and x both score 1/61 + 1/62; a reaches rank 1 first in list order.
    fused = rrf([["a", "x"], ["x", "a"]])
    assert [d for d, _ in fused] == ["a", "x"]
    # Equal score and equal best rank: first appearance decides.
    assert [d for d, _ in rrf([["p"], ["q"]])] == ["p", "q"]


def test_rrf_counts_a_repeated_id_once_and_mixed_id_types_do_not_crash():
    fused = dict(rrf([["a", "a", 1]]))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused[1] == pytest.approx(1 / 63)


def test_rrf_limit_and_validation():
    assert len(rrf([["a", "b", "c"]], limit=2)) == 2
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError):
        rrf([["a"]], k=-1)


def test_minmax_and_zscore_normalisation():
    mm = normalize_scores([("a", 10.0), ("b", 5.0), ("c", 0.0)], "minmax")
    assert mm == {"a": 1.0, "b": 0.5, "c": 0.0}
    z = normalize_scores([("a", 3.0), ("b", 1.0)], "zscore")
    assert z["a"] == pytest.approx(1.0) and z["b"] == pytest.approx(-1.0)
    assert normalize_scores([("a", 2.0), ("b", 2.0)], "minmax") == {"a": 1.0, "b": 1.0}
    with pytest.raises(ValueError):
        normalize_scores([("a", 1.0)], "rank")  # type: ignore[arg-type]


def test_score_fusion_weighted_minmax_with_missing_documents():
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    sparse = [("c", 12.0), ("d", 2.0)]
    fused = dict(score_fusion([dense, sparse], weights=[0.5, 0.5]))
    assert fused["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert fused["c"] == pytest.approx(0.5 * 0.0 + 0.5 * 1.0)
    assert fused["b"] == pytest.approx(0.5 * 0.5)
    assert fused["d"] == pytest.approx(0.0)


def test_score_fusion_is_deterministic_on_ties():
    first = score_fusion([[("x", 1.0), ("y", 0.0)], [("y", 1.0), ("x", 0.0)]])
    second = score_fusion([[("x", 1.0), ("y", 0.0)], [("y", 1.0), ("x", 0.0)]])
    assert first == second
    assert [d for d, _ in first] == ["x", "y"]


def test_score_fusion_zscore_prefers_consistent_documents():
    a = [("a", 5.0), ("b", 4.0), ("c", 1.0)]
    b = [("b", 5.0), ("a", 1.0), ("c", 0.5)]
    assert score_fusion([a, b], method="zscore")[0][0] == "b"


def test_one_round_of_diffusion_lifts_a_listing_whose_neighbours_scored():
    from market.search.fusion import neighbor_diffusion

    scores = {"a": 0.03, "b": 0.03, "n1": 0.02, "n2": 0.01}
    neighbors = {"a": ["n1", "n2", "gone"], "b": ["far1", "far2"]}
    smoothed = neighbor_diffusion(scores, neighbors, weight=2.0, k=4)
    # a: its neighbours n1, n2 were retrieved; "gone" was not and counts 0; the mean is over k
    assert smoothed["a"] == pytest.approx(0.03 + 2.0 * (0.02 + 0.01 + 0.0) / 4)
    assert smoothed["b"] == pytest.approx(0.03)  # none of b's neighbours was retrieved
    assert smoothed["n1"] == pytest.approx(0.02)  # no neighbour list: unchanged
    assert set(smoothed) == set(scores)  # never adds listings


def test_diffusion_reads_only_the_first_k_neighbours_and_validates():
    from market.search.fusion import neighbor_diffusion, neighbor_support

    scores = {"a": 1.0, "x": 1.0, "y": 1.0}
    assert neighbor_diffusion(scores, {"a": ["x", "y"]}, 1.0, k=1)["a"] == pytest.approx(2.0)
    assert neighbor_diffusion(scores, {"a": ["x"]}, 0.0, k=1, rounds=3) == scores
    assert neighbor_diffusion(scores, {"a": ["x"]}, 1.0, k=1, rounds=0) == scores
    for bad in (
        {"weight": -1.0, "k": 10},
        {"weight": 1.0, "k": 0},
        {"weight": 1.0, "k": 1, "rounds": -1},
    ):
        with pytest.raises(ValueError):
            neighbor_diffusion(scores, {}, **bad)
    assert neighbor_support("a", {"a": 1.0, "x": 0.5}, {"a": ["x", "z"]}) == 1
    assert neighbor_support("q", scores, {}) == 0


def test_diffusion_rounds_reach_the_neighbours_of_neighbours():
    """Round by round: s(d) = f(d) + w × mean over k of the previous round's neighbour scores.
    A listing with no score of its own (a candidate the retrieval missed) rises through the
    listings it is close to; one reached by nothing stays at 0."""
    from market.search.fusion import neighbor_diffusion

    f = {"hit": 1.0, "mid": 0.0}
    graph = {"hit": ["mid"], "mid": ["hit", "far"], "far": ["mid"], "alone": ["nobody"]}
    one = neighbor_diffusion(f, graph, 1.0, k=2, candidates=["far", "alone"])
    assert one == pytest.approx({"hit": 1.0, "mid": 0.5, "far": 0.0, "alone": 0.0})
    two = neighbor_diffusion(f, graph, 1.0, k=2, rounds=2, candidates=["far", "alone"])
    # hit: 1 + (0.5 + 0)/2; mid: 0 + (1 + 0)/2; far: 0 + (0.5 + 0)/2 (mid after round 1)
    assert two == pytest.approx({"hit": 1.25, "mid": 0.5, "far": 0.25, "alone": 0.0})
    three = neighbor_diffusion(f, graph, 1.0, k=2, rounds=3, candidates=["far", "alone"])
    assert three["far"] == pytest.approx(0.25) and three["hit"] == pytest.approx(1.25)
    assert three["mid"] == pytest.approx((1.25 + 0.25) / 2)
