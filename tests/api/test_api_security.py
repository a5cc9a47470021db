"""Security headers, cookie settings and rate limits."""

from __future__ import annotations

import pytest

from market.security import CSP, secure_cookies, storage_uri


@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/v1/demands", "/api/v1/nowhere"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP
    assert "frame-ancestors 'none'" in CSP
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # embedded mode serves plain HTTP


def test_production_cookies_are_secure():
    config = {"MODE": "production"}
    secure_cookies(config)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_HTTPONLY"] is True
    embedded = {"MODE": "embedded"}
    secure_cookies(embedded)
    assert "SESSION_COOKIE_SECURE" not in embedded


def test_rate_limit_storage_follows_the_mode():
    assert storage_uri({"CELERY": {"broker_url": "memory://"}}) == "memory://"
    redis = {"CELERY": {"broker_url": "redis://cache:6379/0"}}
    assert storage_uri(redis) == "redis://cache:6379/0"
    assert storage_uri({"RATELIMIT_STORAGE_URI": "memory://", **redis}) == "memory://"


@pytest.fixture
def limits_on(app, monkeypatch):
    limiter = app.extensions["scenebridge.limiter"]
    limiter.reset()
    monkeypatch.setitem(app.config, "RATE_LIMITS_ENABLED", True)
    yield app.config
    limiter.reset()


def test_limits_are_off_in_tests_by_default(app, client):
    assert app.config["RATE_LIMITS_ENABLED"] is False
    for _ in range(15):
        client.post("/auth/login", data={"email": "x@example.com", "password": "wrong-pass"})
    assert client.post("/auth/login", data={"email": "x@example.com"}).status_code != 429


def test_login_is_rate_limited_per_address(client, limits_on):
    # A different address each time: the per-address backoff (tests/security) is not in play.
    form = {"email": "someone@example.com", "password": "not-the-password"}
    codes = [
        client.post("/auth/login", data={**form, "email": f"someone{i}@example.com"}).status_code
        for i in range(10)
    ]
    assert 429 not in codes
    blocked = client.post("/auth/login", data=form, headers={"Accept": "application/json"})
    assert blocked.status_code == 429
    assert blocked.json["code"] == "too_many_requests"
    assert blocked.json["message"] == "请求过于频繁，请稍后再试"
    assert "Retry-After" in blocked.headers
    assert client.get("/auth/login").status_code == 200  # only POST is limited


def test_api_rate_limit_answers_429_json(client, limits_on, monkeypatch):
    monkeypatch.setitem(limits_on, "API_RATE_LIMIT", "3 per minute")
    codes = [client.get("/api/v1/demands").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    blocked = client.get("/api/v1/taxonomies/industries")  # one budget across the whole API
    assert blocked.status_code == 429
    assert blocked.json == {"code": "too_many_requests", "message": "请求过于频繁，请稍后再试"}
    assert blocked.headers["Content-Type"] == "application/json"


def test_api_rate_limit_is_per_token(client, limits_on, monkeypatch, buyer, rival):
    monkeypatch.setitem(limits_on, "API_RATE_LIMIT", "2 per minute")
    for _ in range(2):
        assert client.get("/api/v1/me", headers=buyer.headers).status_code == 200
    assert client.get("/api/v1/me", headers=buyer.headers).status_code == 429
    assert client.get("/api/v1/me", headers=rival.headers).status_code == 200
