"""/api/v1 matches, term sheets, deals and 公示 notices: visibility, decisions, locking, rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from market.services import deals, notices
from models import Deal, Demand, Match, Objection, Outcome, Patent, TermSheet, db

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def proposal(enterprise, institution):
    """A proposal pairing the buyer's demand with the seller's outcome (patent in force)."""

    def make(title: str = "钢结构裂纹智能检测系统", score: float = 0.8) -> Match:
        demand = Demand(
            organization_id=enterprise.id,
            title="港口起重机智能检测",
            description="需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%。",
            budget_max_fen=200_000_000,
            cooperation_modes=["license", "use_first"],
        )
        outcome = Outcome(
            organization_id=institution.id,
            title=title,
            abstract="基于机器视觉的钢结构裂纹智能检测方法，检出率98%。",
            maturity="pilot",
            asking_price_fen=100_000_000,
            fiscal_funded=True,
            transfer_modes=["license"],
        )
        for listing in (demand, outcome):
            listing.refresh_hash()
            db.session.add(listing)
        db.session.flush()
        db.session.add(
            Patent(
                number=f"ZL2019{outcome.id:06d}.X",
                outcome_id=outcome.id,
                kind="invention",
                applied_on=date(2017, 1, 5),
                granted_on=date(2019, 6, 1),
                expires_on=date(2037, 1, 5),
                legal_status="granted",
            )
        )
        match = Match(
            demand_id=demand.id,
            outcome_id=outcome.id,
            score=score,
            components={"semantic": 0.7},
            explanation={"sentence": "双方文本均涉及“裂纹智能检测”。", "matched_phrases": ["裂纹"]},
        )
        db.session.add(match)
        db.session.commit()
        return match

    return make


@pytest.fixture
def match(proposal):
    return proposal()


def _deal_at(match: Match, broker_user, stage: str) -> Deal:
    deal = deals.accept_match(match, broker_user)
    for step in ("introduced", "negotiating"):
        if deal.stage == stage:
            break
        deals.move_deal(deal, step, broker_user, "推进", now=NOW)
    if stage == "notice":
        notices.open_notice(deal, 50_000_000, "negotiated", broker_user)
    db.session.commit()
    return deal


# -- matches -----------------------------------------------------------------------------------


def test_matches_need_a_viewer_and_follow_match_view(client, match, broker, buyer, rival):
    assert client.get("/api/v1/matches").status_code == 401
    assert client.get("/api/v1/matches", headers=broker.headers).get_json()["total"] == 1
    assert client.get("/api/v1/matches", headers=buyer.headers).get_json()["total"] == 1
    assert client.get("/api/v1/matches", headers=rival.headers).get_json()["total"] == 0
    hidden = client.get(f"/api/v1/matches/{match.id}", headers=rival.headers)
    assert hidden.status_code == 404


def test_match_filters(client, proposal, broker):
    first, second = proposal(), proposal("另一项检测成果", score=0.5)
    by_demand = client.get(
        f"/api/v1/matches?demand_id={first.demand_id}", headers=broker.headers
    ).get_json()
    assert [m["id"] for m in by_demand["items"]] == [first.id]
    by_outcome = client.get(
        f"/api/v1/matches?outcome_id={second.outcome_id}", headers=broker.headers
    ).get_json()
    assert [m["id"] for m in by_outcome["items"]] == [second.id]
    assert client.get("/api/v1/matches?stage=accepted", headers=broker.headers).json["total"] == 0
    assert client.get("/api/v1/matches?stage=nope", headers=broker.headers).status_code == 422


def test_match_detail_carries_the_explanation(client, match, seller):
    body = client.get(f"/api/v1/matches/{match.id}", headers=seller.headers).get_json()
    assert body["explanation"]["matched_phrases"] == ["裂纹"]
    assert body["components"] == {"semantic": 0.7}
    assert body["version"] == 1 and body["stage"] == "proposed"


def test_only_brokers_decide_and_a_stale_version_is_409(client, match, broker, buyer, member):
    url = f"/api/v1/matches/{match.id}/accept"
    assert client.post(url, json={}).status_code == 401
    assert client.post(url, json={}, headers=buyer.headers).status_code == 403
    accepted = client.post(url, json={"version": 1, "comment": "值得对接"}, headers=broker.headers)
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["stage"] == "reviewed"
    assert accepted.get_json()["match"]["stage"] == "accepted"
    other = member("broker2@example.com", "broker")
    late = client.post(url, json={"version": 1}, headers=other.headers)
    assert late.status_code == 409
    assert late.get_json()["code"] == "conflict" and "其他经纪人" in late.get_json()["message"]


def test_reject_records_the_reason_code(client, match, broker):
    url = f"/api/v1/matches/{match.id}/reject"
    missing = client.post(url, json={"reason": "other"}, headers=broker.headers)
    assert missing.status_code == 422 and "comment" in missing.get_json()["errors"]
    unknown = client.post(url, json={"reason": "bored"}, headers=broker.headers)
    assert unknown.status_code == 422 and "reason" in unknown.get_json()["errors"]
    done = client.post(
        url,
        json={"reason": "price_gap", "comment": "报价过高", "version": 1},
        headers=broker.headers,
    )
    assert done.status_code == 200
    assert done.get_json()["rejection_reason"] == "price_gap"
    assert db.session.get(Match, match.id).stage == "rejected"
    again = client.post(url, json={"reason": "price_gap"}, headers=broker.headers)
    assert again.status_code == 409


def test_introduction_request_through_the_api(client, match, broker, buyer, seller, rival):
    url = f"/api/v1/matches/{match.id}/introduction"
    assert client.get(url).status_code == 401
    assert client.post(url, json={}).status_code == 401
    assert client.get(url, headers=rival.headers).status_code == 404
    assert client.post(url, json={}, headers=rival.headers).status_code == 404
    before = client.get(url, headers=buyer.headers).get_json()
    assert before["state"] == "none" and before["may_request"] is True
    assert client.post(url, json={"nope": 1}, headers=buyer.headers).status_code == 422
    asked = client.post(url, json={"message": "请尽快牵线"}, headers=buyer.headers)
    assert asked.status_code == 201, asked.get_json()
    body = asked.get_json()
    assert body["state"] == "requested" and body["message"] == "请尽快牵线"
    assert body["organization"] == "示例测试科技有限公司" and body["may_request"] is False
    again = client.post(url, json={}, headers=buyer.headers)
    assert again.status_code == 409 and again.get_json()["code"] == "conflict"
    seen = client.get(url, headers=broker.headers).get_json()
    assert seen["state"] == "requested" and seen["requested_by"] == "buyer"
    assert client.get(url, headers=seller.headers).get_json()["state"] == "requested"
    assert client.post(url, json={}, headers=broker.headers).status_code == 403


def test_openapi_lists_the_introduction(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/matches/{match_id}/introduction"])


# -- term sheets -------------------------------------------------------------------------------


def _draft(client, match, broker) -> dict:
    made = client.post(
        "/api/v1/termsheets",
        json={"match_id": match.id, "profile_key": "zhuhai-2025", "mode": "use_first"},
        headers=broker.headers,
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def test_draft_edit_and_violation_naming_the_rule(client, match, broker, seller):
    sheet = _draft(client, match, broker)
    assert sheet["terms"]["entry_fee"]["value"] == 0 and sheet["version"] == 1
    url = f"/api/v1/termsheets/{sheet['id']}"
    refused = client.patch(
        url, json={"version": 1, "changes": {"entry_fee": 500_000}}, headers=broker.headers
    )
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["violations"][0]["rule_id"] == "use_first_zero_entry_fee"
    assert "措施7" in body["violations"][0]["citation"] + body["message"]
    assert "entry_fee" in body["errors"]
    edited = client.patch(
        url, json={"version": 1, "changes": {"royalty_rate": 350}}, headers=seller.headers
    )
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["terms"]["royalty_rate"]["value"] == 350
    assert edited.get_json()["sheet_version"] == 2
    stale = client.patch(
        url, json={"version": 1, "changes": {"royalty_rate": 400}}, headers=broker.headers
    )
    assert stale.status_code == 409
    assert db.session.get(TermSheet, sheet["id"]).data["terms"]["royalty_rate"]["value"] == 350


def test_termsheets_are_hidden_from_outsiders(client, match, broker, rival, buyer):
    sheet = _draft(client, match, broker)
    assert client.get(f"/api/v1/termsheets/{sheet['id']}", headers=rival.headers).status_code == 404
    assert client.get("/api/v1/termsheets", headers=rival.headers).get_json()["total"] == 0
    assert client.get("/api/v1/termsheets", headers=buyer.headers).get_json()["total"] == 1
    draft_by_buyer = client.post(
        "/api/v1/termsheets", json={"match_id": match.id}, headers=buyer.headers
    )
    assert draft_by_buyer.status_code == 403
    unknown = client.post(
        "/api/v1/termsheets",
        json={"match_id": match.id, "profile_key": "atlantis"},
        headers=broker.headers,
    )
    assert unknown.status_code == 422 and "profile_key" in unknown.get_json()["errors"]


def test_draft_is_attached_to_the_deal(client, match, broker):
    deal = _deal_at(match, broker.user, "reviewed")
    sheet = _draft(client, match, broker)
    assert db.session.get(Deal, deal.id).term_sheet_id == sheet["id"]


# -- deals -------------------------------------------------------------------------------------


def test_deals_list_detail_and_move(client, match, broker, buyer, rival):
    deal = _deal_at(match, broker.user, "reviewed")
    assert client.get("/api/v1/deals", headers=buyer.headers).get_json()["total"] == 1
    assert client.get("/api/v1/deals", headers=rival.headers).get_json()["total"] == 0
    assert client.get(f"/api/v1/deals/{deal.id}", headers=rival.headers).status_code == 404
    detail = client.get(f"/api/v1/deals/{deal.id}", headers=buyer.headers).get_json()
    assert detail["allowed_moves"] == ["introduced", "lost"]
    assert detail["events"][0]["to_stage"] == "reviewed"
    url = f"/api/v1/deals/{deal.id}/move"
    assert (
        client.post(url, json={"to_stage": "introduced"}, headers=buyer.headers).status_code == 403
    )
    skip = client.post(url, json={"to_stage": "signed"}, headers=broker.headers)
    assert skip.status_code == 422 and "to_stage" in skip.get_json()["errors"]
    moved = client.post(
        url,
        json={"to_stage": "introduced", "note": "已安排见面", "version": detail["version"]},
        headers=broker.headers,
    )
    assert moved.status_code == 200 and moved.get_json()["stage"] == "introduced"
    stale = client.post(
        url, json={"to_stage": "negotiating", "version": detail["version"]}, headers=broker.headers
    )
    assert stale.status_code == 409
    staged = client.get("/api/v1/deals?stage=introduced", headers=broker.headers).get_json()
    assert [d["id"] for d in staged["items"]] == [deal.id]


# -- notices -----------------------------------------------------------------------------------


def test_notices_are_public_and_anyone_may_object(client, match, broker):
    deal = _deal_at(match, broker.user, "notice")
    listed = client.get("/api/v1/notices").get_json()
    assert listed["total"] == 1 and listed["items"][0]["price_fen"] == 50_000_000
    notice_id = listed["items"][0]["id"]
    url = f"/api/v1/notices/{notice_id}/objections"
    short = client.post(url, json={"name": "张三", "contact": "13800000000", "text": "太短"})
    assert short.status_code == 422 and "text" in short.get_json()["errors"]
    filed = client.post(
        url,
        json={
            "name": "张三",
            "contact": "13800000000",
            "text": "成交价格明显低于评估价值，请复核。",
        },
    )
    assert filed.status_code == 201, filed.get_json()
    assert "contact" not in filed.get_json()
    detail = client.get(f"/api/v1/notices/{notice_id}").get_json()
    assert detail["deal_id"] == deal.id
    assert detail["objections"][0]["name"] == "张三" and "contact" not in detail["objections"][0]
    assert db.session.query(Objection).count() == 1


def test_objection_after_the_window_is_refused(client, match, broker):
    _deal_at(match, broker.user, "notice")
    notice = db.session.scalars(db.select(notices.Notice)).one()
    notice.closes_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    late = client.post(
        f"/api/v1/notices/{notice.id}/objections",
        json={"name": "李四", "contact": "li@example.com", "text": "公示期外提交的异议内容。"},
    )
    assert late.status_code == 422
    assert client.get("/api/v1/notices/999999").status_code == 404


def test_new_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/matches",
        "/api/v1/matches/{match_id}/accept",
        "/api/v1/termsheets/{sheet_id}",
        "/api/v1/deals/{deal_id}/move",
        "/api/v1/notices/{notice_id}/objections",
    ):
        assert path in paths
