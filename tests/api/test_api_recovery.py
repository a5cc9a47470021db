"""Writes that committed answer success, and Idempotency-Key makes a retried write safe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from market.services import accounts
from models import Demand, IdempotencyKey, Outcome, Patent, db, utcnow


@pytest.fixture
def database_gone_after_commit(app):
    """From the commit of a listing write on, every statement fails as if PostgreSQL had just
    restarted (the token check's own commit, before the write, is let through)."""
    gone = {"after": False, "refused": 0}
    listings = (Demand, Outcome, Patent)

    def on_commit(session) -> None:
        if any(isinstance(item, listings) for item in session.identity_map.values()):
            gone["after"] = True

    def refuse(*_args, **_kwargs) -> None:
        if gone["after"]:
            gone["refused"] += 1
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    event.listen(db.session, "after_commit", on_commit)
    event.listen(db.engine, "before_cursor_execute", refuse)
    yield gone
    event.remove(db.engine, "before_cursor_execute", refuse)
    event.remove(db.session, "after_commit", on_commit)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_stored_demand_answers_201_though_the_database_goes_away_after_commit(
    client, buyer, demand_body, database_gone_after_commit
):
    answer = client.post("/api/v1/demands", json=demand_body(), headers=buyer.headers)
    assert answer.status_code == 201, answer.json
    assert answer.json["title"] == "海上风电无人机巡检"
    assert answer.json["organization"]["name"] == "示例测试科技有限公司"
    assert database_gone_after_commit["refused"] >= 1  # the indexing task did meet the outage
    database_gone_after_commit["after"] = False
    assert db.session.get(Demand, answer.json["id"]) is not None


def test_stored_outcome_writes_answer_success_though_the_database_goes_away(
    client, seller, outcome_body, database_gone_after_commit
):
    created = client.post("/api/v1/outcomes", json=outcome_body(), headers=seller.headers)
    assert created.status_code == 201, created.json
    assert created.json["ipc_codes"] == ["B64C"]
    outcome_id = created.json["id"]
    database_gone_after_commit["after"] = False
    patent = client.post(
        f"/api/v1/outcomes/{outcome_id}/patents",
        json={"number": "CN2024100001A", "title": "长航时无人机"},
        headers=seller.headers,
    )
    assert patent.status_code == 201, patent.json
    assert patent.json["number"] == "CN2024100001A"
    database_gone_after_commit["after"] = False
    edited = client.patch(f"/api/v1/outcomes/{outcome_id}", json={"trl": 6}, headers=seller.headers)
    assert edited.status_code == 200, edited.json
    assert edited.json["trl"] == 6
    assert [p["number"] for p in edited.json["patents"]] == ["CN2024100001A"]


def test_the_same_key_and_body_replay_the_first_answer_and_store_one_row(
    client, buyer, demand_body
):
    headers = {**buyer.headers, "Idempotency-Key": "3f1c9a52-demand-1"}
    first = client.post("/api/v1/demands", json=demand_body(), headers=headers)
    again = client.post("/api/v1/demands", json=demand_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(Demand) == 1


def test_the_same_key_with_another_body_is_refused(client, seller, outcome_body):
    headers = {**seller.headers, "Idempotency-Key": "outcome-key-7"}
    first = client.post("/api/v1/outcomes", json=outcome_body(), headers=headers)
    other = client.post("/api/v1/outcomes", json=outcome_body(trl=7), headers=headers)
    assert first.status_code == 201
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json["message"]
    assert _count(Outcome) == 1


def test_keys_belong_to_one_user_and_expire(client, buyer, rival, demand_body):
    key = {"Idempotency-Key": "shared-key"}
    mine = client.post("/api/v1/demands", json=demand_body(), headers={**buyer.headers, **key})
    theirs = client.post("/api/v1/demands", json=demand_body(), headers={**rival.headers, **key})
    assert mine.json["id"] != theirs.json["id"]
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == buyer.user.id))
    row.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    later = client.post("/api/v1/demands", json=demand_body(), headers={**buyer.headers, **key})
    assert later.status_code == 201
    assert later.json["id"] not in (mine.json["id"], theirs.json["id"])
    assert _count(Demand) == 3


def test_old_keys_are_forgotten(client, buyer, demand_body):
    for key in ("a-1", "a-2"):
        client.post(
            "/api/v1/demands", json=demand_body(), headers={**buyer.headers, "Idempotency-Key": key}
        )
    old = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "a-1"))
    old.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    assert accounts.forget_idempotency_keys() == 1
    db.session.commit()
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["a-2"]


def test_a_patent_retried_with_its_key_is_added_once(client, seller, outcome_body):
    outcome_id = client.post("/api/v1/outcomes", json=outcome_body(), headers=seller.headers).json[
        "id"
    ]
    headers = {**seller.headers, "Idempotency-Key": "patent-1"}
    body = {"number": "CN2024100002A"}
    answers = [
        client.post(f"/api/v1/outcomes/{outcome_id}/patents", json=body, headers=headers)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json["id"] == answers[1].json["id"]
    assert _count(Patent) == 1


def test_an_unusable_key_is_refused(client, buyer, demand_body):
    headers = {**buyer.headers, "Idempotency-Key": "x" * 256}
    answer = client.post("/api/v1/demands", json=demand_body(), headers=headers)
    assert answer.status_code == 422
    assert _count(Demand) == 0


def test_openapi_documents_the_header_on_creates(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/demands", "/api/v1/outcomes", "/api/v1/outcomes/{outcome_id}/patents"):
        names = [p.get("name") for p in spec["paths"][path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path
