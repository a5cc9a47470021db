"""Issue 17: codes suggested where people type, stored and shown; demands that say too little."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from market.services import codes
from models import Demand, db

from .conftest import page
from .test_enterprise import GOOD

NEW = "/workspace/enterprise/demands/new"


@pytest.fixture(autouse=True)
def _taxonomy(app):
    from tests.conftest import taxonomy_loaded

    if not taxonomy_loaded():
        pytest.skip("the GB/T 4754 and IPC taxonomies are not seeded in this test database")


def test_printed_ipc_codes_and_a_sectioned_industry_code_are_stored_normalised(
    client, auth, enterprise_user
):
    auth.login(enterprise_user.email)
    data = {**GOOD, "industry_code": "Ｇ4415", "ipc_codes": "b64c 39/02；G06T"}
    response = client.post(NEW, data={**data, "action": "publish_confirmed"})
    assert response.status_code == 302, page(response)
    demand = db.session.scalars(select(Demand)).one()
    assert (demand.industry_code, demand.ipc_codes) == ("4415", ["B64C39/02", "G06T"])

    shown = page(client.get(f"/demands/{demand.id}"))
    assert re.search(r'data-testid="industry">4415 \S+', shown)
    assert "B64C39/02" in shown and "G06T" in shown


def test_an_unknown_ipc_code_is_named_next_to_its_field(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    response = client.post(NEW, data={**GOOD, "ipc_codes": "H01M 10/48；Q99Z"})
    assert response.status_code == 422
    assert re.search(r'data-field-error="ipc_codes">未知的IPC分类号：Q99Z<', page(response))


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("无人机", "需求描述过于简短"),
        ("We need drones that inspect offshore wind turbine blades automatically.", "请以中文填写"),
        ("   ", "请填写需求描述"),
    ],
)
def test_a_demand_that_says_too_little_is_not_published(
    client, auth, enterprise_user, description, message
):
    auth.login(enterprise_user.email)
    data = {**GOOD, "title": "巡检", "description": description}
    response = client.post(NEW, data=data)
    assert response.status_code == 422
    assert re.search(rf'data-field-error="description">[^<]*{message}', page(response))
    assert db.session.scalars(select(Demand)).all() == []


def test_a_short_draft_may_still_be_saved(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    response = client.post(NEW, data={**GOOD, "description": "无人机", "action": "draft"})
    assert response.status_code == 302
    assert db.session.scalars(select(Demand)).one().status == "draft"


def test_the_form_offers_suggestions_and_renders_them_after_a_submit(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    empty = page(client.get(NEW))
    assert "data-code-suggest" in empty and "/api/v1/taxonomies/suggest" in empty
    assert "js/code_suggest.js" in empty
    response = client.post(NEW, data={**GOOD, "budget_max": "1"})  # fails: budget below minimum
    assert response.status_code == 422
    chips = re.findall(
        r'<button type="button" class="btn btn-sm[^"]*" data-code="([^"]+)"', page(response)
    )
    assert len(chips) >= 2  # IPC subclasses and industries for the text just written


def test_suggest_codes_needs_some_chinese(app):
    assert codes.suggest_codes("AI") == {"ipc": [], "industries": []}
    found = codes.suggest_codes("海上风电叶片无人机自主巡检，缺陷识别")
    assert found["ipc"] and found["industries"]
    assert all(s["name"] for s in found["industries"])
    assert all(re.fullmatch(r"[A-H]\d{2}[A-Z]", s["code"]) for s in found["ipc"])
