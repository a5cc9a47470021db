"""/api/v1 组合方案: list per demand, read with coverage and combined terms, broker decisions."""

from __future__ import annotations

import pytest
from flask import g

from market.api.auth import issue_token
from market.services import bundles
from models import db


@pytest.fixture
def tokens(drone_market, enterprise, institution, create_user, create_org):
    demand, *_ = drone_market
    bundles.propose_bundles(demand)
    people = {
        "owner": create_user("owner@test.cn", "enterprise", enterprise),
        "broker": create_user("broker@test.cn", "broker"),
        "tto": create_user("tto@test.cn", "institution", institution),
        "stranger": create_user(
            "stranger@test.cn", "institution", create_org("示例无关大学", "university")
        ),
    }
    found = {name: issue_token(user, "测试令牌")[1] for name, user in people.items()}
    db.session.commit()
    return {name: {"Authorization": f"Bearer {token}"} for name, token in found.items()}


def test_the_owner_lists_and_reads_bundles(client, drone_market, tokens):
    demand, uni, _ = drone_market
    listed = client.get(f"/api/v1/demands/{demand.id}/bundles", headers=tokens["owner"])
    assert listed.status_code == 200
    body = listed.get_json()
    assert body["total"] == len(body["items"]) >= 1
    best = body["items"][0]
    assert [m["outcome"]["id"] for m in best["members"]] == sorted(o.id for o in uni.values())
    assert (best["covered"], best["best_single"], best["indicator_count"]) == (3, 1, 3)
    assert [row["combined"] for row in best["coverage"]] == ["met"] * 3
    assert best["stage_label"] == "系统推荐"
    detail = client.get(f"/api/v1/bundles/{best['id']}", headers=tokens["owner"]).get_json()
    terms = detail["terms"]
    assert len(terms["rows"]) == 3 and terms["valid"] is True
    assert terms["totals"]["contract_amount"] == sum(_contract(r) for r in terms["rows"])
    assert terms["licensors"] == [uni["payload"].organization.name]
    g.pop("_flask_babel", None)
    english = client.get(f"/api/v1/bundles/{best['id']}?lang=en", headers=tokens["owner"])
    assert english.get_json()["stage_label"] == "Proposed by the system"


def _contract(row: dict) -> int:
    sheet = row["sheet"]
    fixed = sheet["terms"]["entry_fee"]["value"]
    fixed += sum(m["amount"]["value"] for m in sheet["milestones"])
    fixed += sum(i["amount"]["value"] for i in sheet["deferred_schedule"])
    return fixed + (sheet["terms"]["conversion_price"]["value"] or 0)


def test_visibility_follows_the_demands_proposals(client, drone_market, tokens):
    demand, *_ = drone_market
    url = f"/api/v1/demands/{demand.id}/bundles"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=tokens["tto"]).get_json()["total"] >= 1  # its outcomes
    assert client.get(url, headers=tokens["stranger"]).get_json()["total"] == 0
    bundle_id = bundles.bundles_of(demand)[0].id
    assert client.get(f"/api/v1/bundles/{bundle_id}", headers=tokens["stranger"]).status_code == 404
    demand.confidentiality = "broker_only"
    db.session.commit()
    assert client.get(url, headers=tokens["stranger"]).status_code == 404  # the demand is hidden
    assert client.get(url, headers=tokens["tto"]).status_code == 404
    assert client.get(f"/api/v1/bundles/{bundle_id}", headers=tokens["tto"]).status_code == 404
    assert client.get(url, headers=tokens["owner"]).get_json()["total"] >= 1
    assert client.get(url, headers=tokens["broker"]).get_json()["total"] >= 1


def test_only_brokers_decide_with_a_reason_and_the_version(client, drone_market, tokens):
    demand, *_ = drone_market
    bundle = bundles.bundles_of(demand)[0]
    url = f"/api/v1/bundles/{bundle.id}/decision"
    owner = client.post(url, json={"decision": "accepted"}, headers=tokens["owner"])
    assert owner.status_code == 403
    no_reason = client.post(url, json={"decision": "rejected"}, headers=tokens["broker"])
    assert no_reason.status_code == 422
    done = client.post(
        url,
        json={"decision": "accepted", "comment": "一并许可", "version": bundle.version_id},
        headers=tokens["broker"],
    )
    assert done.status_code == 200 and done.get_json()["stage"] == "accepted"
    assert len(done.get_json()["deal_ids"]) == len(bundle.match_ids)  # a project per outcome
    late = client.post(
        url,
        json={"decision": "rejected", "reason": "price_gap", "version": bundle.version_id},
        headers=tokens["broker"],
    )
    assert late.status_code == 409


def test_the_openapi_document_lists_the_bundle_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/demands/{demand_id}/bundles",
        "/api/v1/bundles/{bundle_id}",
        "/api/v1/bundles/{bundle_id}/decision",
    } <= set(paths)
