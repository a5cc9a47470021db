"""Regression tests for the security drill of issue 20: each test failed before its fix."""

from __future__ import annotations

import pytest

from market.redirects import safe_target


@pytest.fixture
def member(create_user, enterprise):
    return create_user("member@example.cn", "enterprise", enterprise)


# ---- 1. open redirect after login ---------------------------------------------------------------

HOSTILE_NEXT = [
    "/%09/evil.example/path",
    "/%0A/evil.example",
    "/%0D%0A/evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "%20//evil.example",
    "evil.example",
    "/%00/evil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_redirects_off_site(client, auth, member, target):
    response = client.post(
        f"/auth/login?next={target}",
        data={"email": member.email, "password": "correct-horse-1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, member):
    response = client.post(
        "/auth/login?next=/demands%3Fpage%3D2",
        data={"email": member.email, "password": "correct-horse-1"},
    )
    assert response.headers["Location"] == "/demands?page=2"


@pytest.mark.parametrize(
    "target",
    ["/\t/evil", "/\n/evil", "//evil", "/\\evil", "http:/evil", "https://x", " /x", "/x\u3000"],
)
def test_safe_target_refuses(target):
    assert safe_target(target) is None


# ---- 2. /lang/<code> follows only this site's Referer ----------------------------------------


def test_language_switch_ignores_a_foreign_referer(client):
    response = client.get("/lang/en", headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_ignores_a_protocol_relative_trick(client):
    response = client.get("/lang/en", headers={"Referer": "http://localhost//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_language_switch_returns_to_the_page_it_came_from(client):
    response = client.get("/lang/en", headers={"Referer": "http://localhost/demands?q=1"})
    assert response.headers["Location"] == "/demands?q=1"
