"""TRUSTED_PROXIES: behind N reverse proxies the app sees the real client; by default, no one."""

from __future__ import annotations

import pytest
from flask import request, url_for

from market import create_app
from market.config import ConfigError
from models import db

FORWARDED = {"X-Forwarded-For": "203.0.113.7, 198.51.100.2", "X-Forwarded-Proto": "https, https"}


@pytest.fixture
def make_app(app, app_config):
    apps = []

    def make(**config):
        built = create_app({**app_config, **config})
        apps.append(built)

        @built.route("/_whoami")
        def whoami():
            return {"addr": request.remote_addr, "scheme": request.scheme}

        @built.route("/_secure")
        def secure():
            return {"secure": request.is_secure, "url": url_for("public.home", _external=True)}

        return built

    yield make
    for built in apps:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


def test_headers_are_ignored_by_default(make_app):
    app = make_app()
    assert app.config["TRUSTED_PROXIES"] == 0
    seen = app.test_client().get("/_whoami", headers=FORWARDED).get_json()
    assert seen == {"addr": "127.0.0.1", "scheme": "http"}  # a client cannot claim an address


@pytest.mark.parametrize(("count", "addr"), [(1, "198.51.100.2"), (2, "203.0.113.7")])
def test_trusted_proxies_give_the_real_client(make_app, count, addr):
    app = make_app(TRUSTED_PROXIES=count)
    seen = app.test_client().get("/_whoami", headers=FORWARDED).get_json()
    assert seen == {"addr": addr, "scheme": "https"}


def test_rate_limit_counts_the_forwarded_client(make_app):
    app = make_app(TRUSTED_PROXIES=1, RATE_LIMITS_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()

    def login(addr: str) -> int:
        headers = {"X-Forwarded-For": addr}
        data = {"email": "nobody@example.com", "password": "wrong-password"}
        return client.post("/auth/login", data=data, headers=headers).status_code

    with app.app_context():
        assert [login("203.0.113.7") for _ in range(3)][-1] == 429
        assert login("203.0.113.8") != 429  # another client behind the same proxy


def test_https_at_the_proxy_is_https_to_the_app(make_app):
    seen = make_app(TRUSTED_PROXIES=1).test_client().get("/_secure", headers=FORWARDED).get_json()
    assert seen["secure"] and seen["url"].startswith("https://")
    plain = make_app().test_client().get("/_secure", headers=FORWARDED).get_json()
    assert not plain["secure"] and plain["url"].startswith("http://")


def test_negative_count_is_refused(make_app):
    with pytest.raises(ConfigError):
        make_app(TRUSTED_PROXIES=-1)


def test_environment_variable_sets_the_count(monkeypatch):
    from market.security import trust_proxies

    class App:
        def __init__(self):
            self.config = {}
            self.wsgi_app = object()

    monkeypatch.setenv("MARKET_TRUSTED_PROXIES", "1")
    from flask import Config

    app = App()
    app.config = Config(".")
    app.config.from_prefixed_env("MARKET")
    trust_proxies(app)
    assert app.wsgi_app.x_for == 1 and app.wsgi_app.x_proto == 1 and app.wsgi_app.x_host == 0
