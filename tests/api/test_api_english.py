"""API refusals in English: with ``?lang=en`` the ``message`` and every ``errors`` entry are
free of Chinese; the ``code`` and field names are the same as in Chinese, and without the
parameter the API answers in Chinese as before."""

from __future__ import annotations

import re

import pytest
from flask import g

HAN = re.compile(r"[\u4e00-\u9fff]")


def ask(client, method: str, path: str, lang: str | None = "en", **kwargs):
    g.pop("_flask_babel", None)  # a server picks the locale afresh for every request
    sep = "&" if "?" in path else "?"
    url = f"{path}{sep}lang={lang}" if lang else path
    response = getattr(client, method)(url, **kwargs)
    return response.status_code, response.get_json()


def chinese_left(body: dict) -> list[str]:
    texts = [body.get("message") or ""]
    for messages in (body.get("errors") or {}).values():
        texts.extend(messages)
    return [t for t in texts if HAN.search(t)]


BAD_DEMANDS = [
    ("empty body", {}),
    ("title too long", {"title": "x" * 300}),
    ("unknown scenario type", {"scenario_type": "bogus"}),
    ("budget not an integer", {"budget_min_fen": "abc"}),
    ("budget out of range", {"budget_min_fen": -5}),
    ("date in the wrong form", {"deadline": "2027/06/30"}),
    ("indicators not a list", {"indicators": "fast"}),
    ("indicator value not a number", {"indicators": [{"name": "x", "op": ">=", "value": "a"}]}),
    ("unknown field", {"colour": "blue"}),
    ("too many cooperation modes", {"cooperation_modes": ["license"] * 20}),
    ("budget minimum above maximum", {"budget_min_fen": 900, "budget_max_fen": 100}),
]


@pytest.mark.parametrize(("case", "changes"), BAD_DEMANDS, ids=[c for c, _ in BAD_DEMANDS])
def test_a_refused_demand_is_explained_in_english(client, buyer, demand_body, case, changes):
    body = {} if case == "empty body" else {**demand_body(), **changes}
    status, english = ask(client, "post", "/api/v1/demands", json=body, headers=buyer.headers)
    assert status in (400, 422), (case, english)
    assert not chinese_left(english), (case, english)
    status_zh, chinese = ask(
        client, "post", "/api/v1/demands", None, json=body, headers=buyer.headers
    )
    assert status_zh == status and chinese["code"] == english["code"]
    assert set(chinese.get("errors") or {}) == set(english.get("errors") or {})
    assert HAN.search(chinese["message"]), chinese  # Chinese stays the default


def test_choices_are_listed_with_english_labels(client, buyer, demand_body):
    body = demand_body(scenario_type="bogus")
    _status, english = ask(client, "post", "/api/v1/demands", json=body, headers=buyer.headers)
    (message,) = english["errors"]["scenario_type"]
    assert message.startswith("Scenario type is invalid; choose from: industry (")


def test_not_found_and_unauthorised_answers_are_in_english(client, buyer):
    cases = [
        ("get", "/api/v1/demands/999999", buyer.headers, 404),
        ("get", "/api/v1/outcomes/999999", buyer.headers, 404),
        ("get", "/api/v1/matches/999999", buyer.headers, 404),
        ("get", "/api/v1/me", {}, 401),
        ("get", "/api/v1/me", {"Authorization": "Bearer sbt_00000000_" + "x" * 30}, 401),
        ("get", "/api/v1/demands?page=0", buyer.headers, 422),
        ("get", "/api/v1/nowhere", buyer.headers, 404),
    ]
    for method, path, headers, expected in cases:
        status, body = ask(client, method, path, headers=headers)
        assert status == expected, (path, body)
        assert not chinese_left(body), (path, body)


def test_a_bad_idempotency_key_and_a_non_object_body_are_explained_in_english(
    client, buyer, demand_body
):
    headers = {**buyer.headers, "Idempotency-Key": "é" * 3}
    status, body = ask(client, "post", "/api/v1/demands", json=demand_body(), headers=headers)
    assert status == 422 and not chinese_left(body), body
    status, body = ask(client, "post", "/api/v1/demands", json=[1, 2], headers=buyer.headers)
    assert status == 422 and not chinese_left(body), body
