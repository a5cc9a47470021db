"""``bench match`` end to end on a small synthetic catalogue: every row it reports is filled."""

from benchmarks.bench import bench_match


def test_bench_match_reports_first_and_second_pass_and_the_batch(app):
    report = bench_match(n_outcomes=300, n_demands=15, n_queries=12)
    assert report["outcomes"] == 300
    for row in ("faiss_only", "demand_to_top10_with_explanations", "same_demands_again"):
        assert report[row]["n"] == 12
        assert 0 < report[row]["p50_ms"] <= report[row]["p95_ms"]
    assert report["free_text_search_with_encoding"]["n"] == 12
    assert report["batch_proposals"]["demands"] == 15 and report["batch_proposals"]["per_s"] > 0
    assert report["proposals_one_by_one"]["demands"] == 3


def test_bench_apps_keep_the_host_apps_matching_settings(app, monkeypatch):
    """``MARKET_MATCH_NEIGHBOR_GROW_FROM=50 flask … bench match`` measures growth on: the
    throwaway app the bench builds carries every MATCH_ setting of the app it runs in."""
    import market

    monkeypatch.setitem(app.config, "MATCH_NEIGHBOR_GROW_FROM", 50)
    monkeypatch.setitem(app.config, "MATCH_IPC_POOL", 0)
    built = []
    real = market.create_app
    monkeypatch.setattr(
        market, "create_app", lambda config=None: built.append(config) or real(config)
    )
    bench_match(n_outcomes=60, n_demands=3, n_queries=2)
    (config,) = built
    assert config["MATCH_NEIGHBOR_GROW_FROM"] == 50 and config["MATCH_IPC_POOL"] == 0
    assert config.get("MATCH_WEIGHTS") == app.config.get("MATCH_WEIGHTS")
