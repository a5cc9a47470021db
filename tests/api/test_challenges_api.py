"""/api/v1 揭榜挂帅: enter a challenge, list its entries, decide — visibility, errors, locking."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import ChallengeSubmission, Demand, Outcome, db, local_today

PITCH = "检出率实测98%，满足≥95%的指标。"


def make_outcome(org, title: str = "钢结构裂纹智能检测系统", **extra) -> Outcome:
    outcome = Outcome(organization_id=org.id, title=title, abstract="机器视觉裂纹检测。")
    for key, value in extra.items():
        setattr(outcome, key, value)
    outcome.refresh_hash()
    db.session.add(outcome)
    db.session.flush()
    return outcome


@pytest.fixture
def challenge(enterprise) -> Demand:
    demand = Demand(
        organization_id=enterprise.id,
        title="港口起重机裂纹检测揭榜",
        description="需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%。",
        reward_fen=50_000_000,
        challenge_deadline=local_today() + timedelta(days=20),
    )
    demand.refresh_hash()
    db.session.add(demand)
    db.session.commit()
    return demand


@pytest.fixture
def outcomes(institution):
    made = [make_outcome(institution, "成果甲"), make_outcome(institution, "成果乙")]
    db.session.commit()
    return made


def enter(client, member, demand_id, outcome_id, pitch=PITCH):
    return client.post(
        f"/api/v1/demands/{demand_id}/submissions",
        json={"outcome_id": outcome_id, "pitch": pitch},
        headers=member.headers,
    )


def test_round_trip(client, challenge, outcomes, seller, buyer, broker):
    first = enter(client, seller, challenge.id, outcomes[0].id)
    assert first.status_code == 201, first.json
    body = first.json
    assert (body["state"], body["pitch"], body["version"]) == ("submitted", PITCH, 1)
    assert body["demand"]["id"] == challenge.id and body["outcome"]["title"] == "成果甲"
    second = enter(client, seller, challenge.id, outcomes[1].id).json

    listed = client.get(f"/api/v1/demands/{challenge.id}/submissions", headers=buyer.headers)
    assert listed.status_code == 200 and listed.json["total"] == 2
    staff = client.get(f"/api/v1/demands/{challenge.id}/submissions", headers=broker.headers)
    assert staff.json["total"] == 2

    shortlisted = client.post(
        f"/api/v1/submissions/{second['id']}/decision",
        json={"decision": "shortlist", "version": second["version"]},
        headers=buyer.headers,
    )
    assert shortlisted.status_code == 200 and shortlisted.json["state"] == "shortlisted"
    won = client.post(
        f"/api/v1/submissions/{body['id']}/decision",
        json={"decision": "winner", "note": "检出率最高", "version": body["version"]},
        headers=buyer.headers,
    )
    assert won.status_code == 200, won.json
    assert won.json["state"] == "winner" and won.json["match_id"]
    others = client.get(
        f"/api/v1/demands/{challenge.id}/submissions",
        query_string={"state": "not_selected"},
        headers=buyer.headers,
    )
    assert [e["id"] for e in others.json["items"]] == [second["id"]]
    match = client.get(f"/api/v1/matches/{won.json['match_id']}", headers=broker.headers)
    assert match.json["stage"] == "proposed"

    mine = client.get("/api/v1/submissions", headers=seller.headers)
    assert mine.json["total"] == 2
    late = enter(client, seller, challenge.id, make_outcome(seller.user.organization, "成果丙").id)
    assert late.status_code == 422 and late.json["errors"]["demand_id"]


def test_expired_challenge_is_422_naming_the_field(client, challenge, outcomes, seller):
    challenge.challenge_deadline = local_today() - timedelta(days=1)
    db.session.commit()
    answer = enter(client, seller, challenge.id, outcomes[0].id)
    assert answer.status_code == 422
    assert answer.json["code"] == "validation_error"
    assert "截止" in answer.json["errors"]["challenge_deadline"][0]


def test_entering_needs_a_token_and_an_own_outcome(
    client, challenge, outcomes, buyer, member, create_org
):
    anonymous = client.post(
        f"/api/v1/demands/{challenge.id}/submissions",
        json={"outcome_id": outcomes[0].id, "pitch": PITCH},
    )
    assert anonymous.status_code == 401 and anonymous.json["code"] == "unauthorized"
    assert enter(client, buyer, challenge.id, outcomes[0].id).status_code == 403
    stranger = member("lab@example.org", "institution", create_org("另一所研究院", "institute"))
    answer = enter(client, stranger, challenge.id, outcomes[0].id)
    assert answer.status_code == 403 and answer.json["errors"]["outcome_id"]
    assert db.session.query(ChallengeSubmission).count() == 0


def test_bad_bodies_are_422(client, challenge, seller):
    answer = client.post(
        f"/api/v1/demands/{challenge.id}/submissions",
        json={"outcome_id": "x", "pitch": "", "extra": 1},
        headers=seller.headers,
    )
    assert answer.status_code == 422
    assert {"outcome_id", "pitch", "extra"} <= set(answer.json["errors"])


def test_other_enterprise_can_neither_list_nor_decide(client, challenge, outcomes, seller, rival):
    entry = enter(client, seller, challenge.id, outcomes[0].id).json
    listed = client.get(f"/api/v1/demands/{challenge.id}/submissions", headers=rival.headers)
    assert listed.status_code == 403 and listed.json["code"] == "forbidden"
    decided = client.post(
        f"/api/v1/submissions/{entry['id']}/decision",
        json={"decision": "winner"},
        headers=rival.headers,
    )
    assert decided.status_code == 404
    assert client.get("/api/v1/submissions", headers=rival.headers).json["total"] == 0


def test_institution_cannot_pick_a_winner_but_may_withdraw(client, challenge, outcomes, seller):
    entry = enter(client, seller, challenge.id, outcomes[0].id).json
    denied = client.post(
        f"/api/v1/submissions/{entry['id']}/decision",
        json={"decision": "winner"},
        headers=seller.headers,
    )
    assert denied.status_code == 403
    withdrawn = client.post(
        f"/api/v1/submissions/{entry['id']}/decision",
        json={"decision": "withdraw", "version": entry["version"]},
        headers=seller.headers,
    )
    assert withdrawn.status_code == 200 and withdrawn.json["state"] == "withdrawn"


def test_stale_version_is_409(client, challenge, outcomes, seller, buyer):
    entry = enter(client, seller, challenge.id, outcomes[0].id).json
    first = client.post(
        f"/api/v1/submissions/{entry['id']}/decision",
        json={"decision": "shortlist", "version": entry["version"]},
        headers=buyer.headers,
    )
    assert first.status_code == 200 and first.json["version"] == entry["version"] + 1
    stale = client.post(
        f"/api/v1/submissions/{entry['id']}/decision",
        json={"decision": "winner", "version": entry["version"]},
        headers=buyer.headers,
    )
    assert stale.status_code == 409 and stale.json["code"] == "conflict"
    assert db.session.get(ChallengeSubmission, entry["id"]).state == "shortlisted"


def test_unknown_submission_is_404(client, buyer):
    answer = client.post(
        "/api/v1/submissions/999/decision", json={"decision": "winner"}, headers=buyer.headers
    )
    assert answer.status_code == 404 and answer.json["code"] == "not_found"


def test_paths_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/demands/{demand_id}/submissions"])
    assert "post" in paths["/api/v1/submissions/{submission_id}/decision"]
