from market.services.listings import post_demand, post_outcome
from models import Match, db


def test_dashboard_counts_live_data(client, enterprise, institution):
    demand = post_demand(
        enterprise,
        {
            "title": "无人机巡检",
            "description": "续航≥45分钟",
            "scenario_type": "industry",
            "field": "低空经济",
        },
    )
    post_demand(
        enterprise,
        {
            "title": "养殖监测",
            "description": "溶解氧",
            "field": "海洋经济",
            "scenario_type": "livelihood",
        },
    )
    outcome = post_outcome(institution, {"title": "巡检无人机", "maturity": "pilot"})
    db.session.add(Match(demand=demand, outcome=outcome, score=0.8, stage="accepted"))
    db.session.commit()
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="funnel-1">2<' in page  # demands
    assert 'data-testid="funnel-2">1<' in page  # with a proposal
    assert 'data-testid="funnel-3">1<' in page  # accepted
    assert "<td>低空经济</td><td>1</td>" in page
    assert "小时" in page


def test_dashboard_charts_are_svg_images(client, enterprise):
    post_demand(
        enterprise,
        {
            "title": "无人机巡检",
            "description": "x",
            "field": "低空经济",
            "scenario_type": "industry",
        },
    )
    db.session.commit()
    for name in ("fields", "regions", "maturity", "proposals", "deals", "funnel"):
        response = client.get(f"/dashboard/{name}.svg")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        body = response.get_data(as_text=True)
        assert "<svg" in body and "http" not in body.split("<svg", 1)[0]
        assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "低空经济" in client.get("/dashboard/fields.svg").get_data(as_text=True)
    assert client.get("/dashboard/nope.svg").status_code == 404
