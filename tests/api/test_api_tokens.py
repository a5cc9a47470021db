"""Token lifecycle: create (CLI and endpoint), use, hashed at rest, revoke."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from models import ApiToken, db


def test_cli_creates_token_printed_once_and_stored_hashed(runner, create_user, client):
    create_user("cli@example.com", "broker")
    db.session.commit()
    result = runner.invoke(args=["api-token", "create", "cli@example.com", "脚本"])
    assert result.exit_code == 0, result.output
    plain = result.stdout.strip().splitlines()[0]
    assert plain.startswith("sbt_")

    stored = db.session.scalar(select(ApiToken).where(ApiToken.name == "脚本"))
    assert stored.secret_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in (stored.secret_hash, stored.prefix, stored.name)

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.status_code == 200
    assert me.json["email"] == "cli@example.com"
    assert me.json["auth"] == "token"


def test_cli_refuses_unknown_email(runner):
    result = runner.invoke(args=["api-token", "create", "nobody@example.com", "x"])
    assert result.exit_code != 0
    assert "nobody@example.com" in result.output


def test_cli_lists_and_revokes(runner, buyer, client):
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == buyer.user.id))
    listed = runner.invoke(args=["api-token", "list", "buyer@example.com"])
    assert token.prefix in listed.output
    assert buyer.token not in listed.output
    revoked = runner.invoke(args=["api-token", "revoke", str(token.id)])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/me", headers=buyer.headers).status_code == 401


def test_endpoint_token_shown_once_then_usable_then_revoked(client, buyer):
    created = client.post("/api/v1/tokens", json={"name": "数据同步"}, headers=buyer.headers)
    assert created.status_code == 201
    plain = created.json["token"]
    headers = {"Authorization": f"Bearer {plain}"}

    listed = client.get("/api/v1/tokens", headers=headers)
    assert listed.status_code == 200
    assert {t["name"] for t in listed.json} == {"测试令牌", "数据同步"}
    assert "token" not in listed.json[0]
    assert plain not in listed.get_data(as_text=True)

    used = db.session.get(ApiToken, created.json["id"])
    db.session.refresh(used)
    assert used.last_used_at is not None

    assert client.delete(f"/api/v1/tokens/{created.json['id']}", headers=headers).status_code == 204
    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert after.json["code"] == "unauthorized"
    assert client.get("/api/v1/me", headers=buyer.headers).status_code == 200


def test_logged_in_user_creates_token_with_session(client, auth, buyer):
    auth.login("buyer@example.com")
    created = client.post("/api/v1/tokens", json={"name": "浏览器创建"})
    assert created.status_code == 201
    assert created.json["token"].startswith("sbt_")
    assert client.get("/api/v1/me").json["auth"] == "session"


def test_session_token_creation_checks_csrf(app, client, auth, buyer, monkeypatch):
    auth.login("buyer@example.com")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    refused = client.post("/api/v1/tokens", json={"name": "跨站伪造"})
    assert refused.status_code == 400
    assert refused.json["code"] == "bad_request"


def test_bearer_write_needs_no_csrf_token(app, client, buyer, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    created = client.post("/api/v1/tokens", json={"name": "令牌写入"}, headers=buyer.headers)
    assert created.status_code == 201


def test_cannot_revoke_someone_elses_token(client, buyer, rival):
    theirs = db.session.scalar(select(ApiToken).where(ApiToken.user_id == rival.user.id))
    answer = client.delete(f"/api/v1/tokens/{theirs.id}", headers=buyer.headers)
    assert answer.status_code == 404
    db.session.refresh(theirs)
    assert theirs.revoked_at is None


def test_malformed_and_unknown_tokens_are_401(client, buyer):
    forged = buyer.token[:-4] + ("AAAA" if not buyer.token.endswith("AAAA") else "BBBB")
    for value in ("Bearer nonsense", "Bearer ", f"Bearer {forged}"):
        answer = client.get("/api/v1/demands", headers={"Authorization": value})
        assert answer.status_code == 401, value
        assert set(answer.json) >= {"code", "message"}


def test_anonymous_me_and_token_list_are_401(client):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/tokens").status_code == 401
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 401


def test_inactive_user_token_is_refused(client, buyer):
    buyer.user.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=buyer.headers).status_code == 401
