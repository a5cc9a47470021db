"""``bench tune``: coordinate ascent on the dev sets' collected features."""

import pytest

from benchmarks.bench import tune_weights


def _collected(name: str, queries: int = 6) -> dict:
    """Per query: the relevant document ranks last by the fused score but first by lexical;
    use_first is 0 for everyone (a feature the text-only corpora never vary)."""
    candidates, qrels = {}, {}
    for q in range(queries):
        qid = f"{name}-q{q}"
        qrels[qid] = {f"{qid}-good": 2}
        candidates[qid] = [
            (f"{qid}-d{n}", {"fused": 1.0 - n / 10, "lexical": 0.1, "use_first": 0.0})
            for n in range(5)
        ] + [(f"{qid}-good", {"fused": 0.5, "lexical": 1.0, "use_first": 0.0})]
    return {
        "name": name,
        "qrels": qrels,
        "excludes": {},
        "qids": sorted(qrels),
        "candidates": candidates,
    }


def test_tuning_raises_the_helpful_feature_and_leaves_constant_ones_alone(app, monkeypatch):
    start = {"fused": 8.0, "lexical": 0.0, "use_first": 1.0}
    monkeypatch.setitem(app.config, "MATCH_WEIGHTS", start)
    result = tune_weights([_collected("a"), _collected("b")])
    assert result["features_tuned"] == ["fused", "lexical"]  # use_first never varies
    assert result["weights"]["use_first"] == 1.0
    assert result["weights"]["lexical"] > 0
    assert result["after"]["a"] > result["before"]["a"]
    assert result["after"]["a"] == pytest.approx(1.0)  # the good document now ranks first
