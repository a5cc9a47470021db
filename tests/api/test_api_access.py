"""分级保密 through the API: ask with the undertaking, the owner decides, the grant names the
organisation in the demand resource, a revocation hides it again."""

from __future__ import annotations

from market.services.listings import post_demand
from models import db

PURPOSE = "本单位有相关成果，希望与发布方直接洽谈。"


def masked_demand(enterprise):
    demand = post_demand(
        enterprise,
        {
            "title": "港口起重机裂纹检测（脱敏）",
            "scenario_type": "industry",
            "description": "需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%。",
            "confidentiality": "desensitized",
        },
    )
    db.session.commit()
    return demand


def test_ask_grant_revoke(client, enterprise, buyer, seller, rival):
    demand = masked_demand(enterprise)
    url = f"/api/v1/demands/{demand.id}/access-requests"
    assert client.post(url, json={"purpose": PURPOSE, "nda_accepted": True}).status_code == 401
    refused = client.post(url, json={"purpose": PURPOSE}, headers=seller.headers)
    assert refused.status_code == 422 and "nda_accepted" in refused.get_json()["errors"]
    declined = client.post(
        url, json={"purpose": PURPOSE, "nda_accepted": False}, headers=seller.headers
    )
    assert declined.status_code == 422 and "保密承诺" in declined.get_json()["message"]
    assert (
        client.post(
            url, json={"purpose": PURPOSE, "nda_accepted": True}, headers=rival.headers
        ).status_code
        == 403
    )  # enterprises do not ask
    created = client.post(
        url, json={"purpose": PURPOSE, "nda_accepted": True}, headers=seller.headers
    )
    assert created.status_code == 201
    access = created.get_json()
    assert access["state"] == "requested" and access["nda_version"]
    mine = client.get(url, headers=seller.headers).get_json()
    assert [a["id"] for a in mine["items"]] == [access["id"]] and "不向第三方披露" in mine[
        "nda_text"
    ]
    assert client.get(url, headers=rival.headers).get_json()["items"] == []
    assert (
        client.get(f"/api/v1/demands/{demand.id}", headers=seller.headers).get_json()[
            "organization"
        ]
        is None
    )

    decision = f"/api/v1/access-requests/{access['id']}/decision"
    assert (
        client.post(decision, json={"decision": "grant"}, headers=seller.headers).status_code == 403
    )
    assert (
        client.post(decision, json={"decision": "grant"}, headers=rival.headers).status_code == 404
    )
    granted = client.post(decision, json={"decision": "grant"}, headers=buyer.headers)
    assert granted.status_code == 200 and granted.get_json()["state"] == "granted"
    body = client.get(f"/api/v1/demands/{demand.id}", headers=seller.headers).get_json()
    assert body["organization"]["name"] == enterprise.name
    revoked = client.post(decision, json={"decision": "revoke"}, headers=buyer.headers)
    assert revoked.get_json()["state"] == "revoked"
    body = client.get(f"/api/v1/demands/{demand.id}", headers=seller.headers).get_json()
    assert body["organization"] is None
