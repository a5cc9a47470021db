"""Demands, outcomes, patents and taxonomies through the API, with permission checks."""

from __future__ import annotations

import re

import pytest
from flask import g

from models import Demand, db


def post_demand(client, member, body):
    return client.post("/api/v1/demands", json=body, headers=member.headers)


def test_enterprise_posts_reads_edits_and_closes_a_demand(client, buyer, demand_body):
    created = post_demand(client, buyer, demand_body())
    assert created.status_code == 201, created.json
    demand_id = created.json["id"]
    assert created.json["organization"]["name"] == "示例测试科技有限公司"
    assert created.json["indicators"][0]["name"] == "续航"

    read = client.get(f"/api/v1/demands/{demand_id}")
    assert read.status_code == 200
    assert read.json["budget_max_fen"] == 200_000_000

    patched = client.patch(
        f"/api/v1/demands/{demand_id}",
        json={"title": "海上风电巡检（修订）"},
        headers=buyer.headers,
    )
    assert patched.status_code == 200
    assert patched.json["title"] == "海上风电巡检（修订）"
    assert patched.json["description"] == demand_body()["description"]

    closed = client.post(f"/api/v1/demands/{demand_id}/close", headers=buyer.headers)
    assert closed.json["status"] == "closed"
    assert client.get(f"/api/v1/demands/{demand_id}").status_code == 404
    assert client.get("/api/v1/demands").json["total"] == 0


def test_writes_without_token_are_401(client, buyer, demand_body):
    answer = client.post("/api/v1/demands", json=demand_body())
    assert answer.status_code == 401
    assert answer.json["code"] == "unauthorized"
    assert db.session.query(Demand).count() == 0


def test_enterprise_cannot_edit_another_orgs_demand(client, buyer, rival, demand_body):
    demand_id = post_demand(client, buyer, demand_body()).json["id"]
    answer = client.patch(
        f"/api/v1/demands/{demand_id}", json={"title": "篡改"}, headers=rival.headers
    )
    assert answer.status_code == 403
    assert answer.json == {"code": "forbidden", "message": "您没有权限进行此操作"}
    closing = client.post(f"/api/v1/demands/{demand_id}/close", headers=rival.headers)
    assert closing.status_code == 403
    assert db.session.get(Demand, demand_id).title == demand_body()["title"]


def test_institution_cannot_create_demands(client, seller, demand_body):
    answer = post_demand(client, seller, demand_body())
    assert answer.status_code == 403
    assert answer.json["code"] == "forbidden"


def test_unapproved_enterprise_cannot_create_demands(client, member, create_org, demand_body):
    pending = create_org("待审核企业")
    pending.approved = False
    newcomer = member("new@example.com", "enterprise", pending)
    db.session.commit()
    assert post_demand(client, newcomer, demand_body()).status_code == 403


def test_validation_errors_name_the_field_in_chinese(client, buyer, demand_body):
    answer = post_demand(client, buyer, demand_body(title="", budget_min_fen=-1))
    assert answer.status_code == 422
    assert answer.json["code"] == "unprocessable_entity"
    assert answer.json["errors"]["title"] == ["标题不能为空"]
    assert "预算下限" in answer.json["errors"]["budget_min_fen"][0]
    assert answer.json["message"].startswith("提交的内容有误")


def test_missing_required_and_unknown_fields(client, buyer):
    answer = post_demand(client, buyer, {"description": "只有描述", "colour": "red"})
    assert answer.status_code == 422
    assert answer.json["errors"]["title"] == ["请填写标题"]
    assert answer.json["errors"]["colour"] == ["不支持的字段"]


def test_nested_indicator_errors_are_flattened(client, buyer, demand_body):
    body = demand_body(indicators=[{"name": "续航", "value": "很多"}])
    answer = post_demand(client, buyer, body)
    assert answer.status_code == 422
    assert answer.json["errors"]["indicators.0.value"] == ["指标数值必须是数字"]


def test_domain_errors_use_the_same_body(client, buyer, demand_body):
    answer = post_demand(client, buyer, demand_body(industry_code="ZZZZ"))
    assert answer.status_code == 422
    assert answer.json["code"] == "validation_error"
    assert "国民经济行业代码" in answer.json["errors"]["industry_code"][0]


def test_patch_cannot_invert_the_budget(client, buyer, demand_body):
    demand_id = post_demand(client, buyer, demand_body()).json["id"]
    answer = client.patch(
        f"/api/v1/demands/{demand_id}", json={"budget_min_fen": 900_000_000}, headers=buyer.headers
    )
    assert answer.status_code == 422
    assert answer.json["errors"]["budget_min_fen"] == ["预算下限不能高于预算上限"]


def test_pagination_envelope(client, buyer, demand_body):
    for number in range(5):
        assert post_demand(client, buyer, demand_body(title=f"需求{number}")).status_code == 201
    first = client.get("/api/v1/demands?per_page=2").json
    assert (first["total"], first["pages"], first["page"], len(first["items"])) == (5, 3, 1, 2)
    last = client.get("/api/v1/demands?per_page=2&page=3").json
    assert len(last["items"]) == 1
    titles = {i["title"] for i in first["items"]} | {i["title"] for i in last["items"]}
    assert len(titles) == 3
    beyond = client.get("/api/v1/demands?per_page=2&page=9").json
    assert beyond["items"] == [] and beyond["total"] == 5
    bad = client.get("/api/v1/demands?per_page=1000")
    assert bad.status_code == 422
    assert "每页条数" in bad.json["errors"]["per_page"][0]


def test_list_filters(client, buyer, demand_body):
    post_demand(client, buyer, demand_body())
    post_demand(
        client, buyer, demand_body(title="水质监测", field="海洋经济", required_maturity="lab")
    )
    assert client.get("/api/v1/demands?field=海洋经济").json["total"] == 1
    assert client.get("/api/v1/demands?maturity=pilot").json["total"] == 1
    assert client.get("/api/v1/demands?q=水质").json["items"][0]["title"] == "水质监测"
    assert client.get("/api/v1/demands?region=珠海市").json["total"] == 2


@pytest.fixture
def secrets_posted(client, buyer, demand_body):
    hidden = post_demand(
        client, buyer, demand_body(title="保密需求", confidentiality="broker_only")
    )
    masked = post_demand(
        client, buyer, demand_body(title="脱敏需求", confidentiality="desensitized")
    )
    return hidden.json["id"], masked.json["id"]


def test_broker_only_demand_hidden_from_public_and_rivals(client, rival, secrets_posted):
    hidden, _ = secrets_posted
    assert client.get(f"/api/v1/demands/{hidden}").status_code == 404
    assert client.get(f"/api/v1/demands/{hidden}", headers=rival.headers).status_code == 404
    titles = {
        d["title"] for d in client.get("/api/v1/demands", headers=rival.headers).json["items"]
    }
    assert titles == {"脱敏需求"}


def test_broker_and_owner_see_broker_only_demand(client, buyer, broker, secrets_posted):
    hidden, _ = secrets_posted
    for member in (buyer, broker):
        answer = client.get(f"/api/v1/demands/{hidden}", headers=member.headers)
        assert answer.status_code == 200
        assert answer.json["organization"]["name"] == "示例测试科技有限公司"
    listed = client.get("/api/v1/demands", headers=broker.headers).json
    assert listed["total"] == 2


def test_desensitized_demand_hides_the_organisation(client, rival, broker, secrets_posted):
    _, masked = secrets_posted
    assert client.get(f"/api/v1/demands/{masked}").json["organization"] is None
    assert (
        client.get(f"/api/v1/demands/{masked}", headers=rival.headers).json["organization"] is None
    )
    seen = client.get(f"/api/v1/demands/{masked}", headers=broker.headers).json
    assert seen["organization"]["name"] == "示例测试科技有限公司"
    listed = client.get("/api/v1/demands").json["items"]
    assert [d["organization"] for d in listed] == [None]


def test_institution_posts_outcome_with_patent(client, seller, outcome_body):
    created = client.post("/api/v1/outcomes", json=outcome_body(), headers=seller.headers)
    assert created.status_code == 201, created.json
    outcome_id = created.json["id"]
    assert created.json["ipc_codes"] == ["B64C"]
    patent = client.post(
        f"/api/v1/outcomes/{outcome_id}/patents",
        json={"number": "cn 2023 1 0000001.x", "kind": "invention", "applied_on": "2023-01-05"},
        headers=seller.headers,
    )
    assert patent.status_code == 201, patent.json
    assert patent.json["number"] == "CN202310000001.X"

    detail = client.get(f"/api/v1/outcomes/{outcome_id}").json
    assert [p["number"] for p in detail["patents"]] == ["CN202310000001.X"]
    assert client.get(f"/api/v1/outcomes/{outcome_id}/patents").json[0]["kind"] == "invention"
    assert client.get("/api/v1/patents?number=CN202310000001.X").json["total"] == 1
    assert client.get(f"/api/v1/patents/{patent.json['id']}").status_code == 200

    duplicate = client.post(
        f"/api/v1/outcomes/{outcome_id}/patents",
        json={"number": "CN202310000001.X"},
        headers=seller.headers,
    )
    assert duplicate.status_code == 422
    assert "number" in duplicate.json["errors"]


def test_outcome_permissions_and_drafts(client, seller, buyer, outcome_body):
    assert (
        client.post("/api/v1/outcomes", json=outcome_body(), headers=buyer.headers).status_code
        == 403
    )
    draft = client.post(
        "/api/v1/outcomes", json=outcome_body(status="draft"), headers=seller.headers
    ).json
    assert client.get(f"/api/v1/outcomes/{draft['id']}").status_code == 404
    assert client.get(f"/api/v1/outcomes/{draft['id']}", headers=seller.headers).status_code == 200
    edit = client.patch(f"/api/v1/outcomes/{draft['id']}", json={"trl": 6}, headers=buyer.headers)
    assert edit.status_code == 404
    published = client.patch(
        f"/api/v1/outcomes/{draft['id']}",
        json={"status": "published", "trl": 6},
        headers=seller.headers,
    )
    assert published.json["trl"] == 6
    assert client.get("/api/v1/outcomes").json["total"] == 1


def test_outcome_trl_out_of_range(client, seller, outcome_body):
    answer = client.post("/api/v1/outcomes", json=outcome_body(trl=12), headers=seller.headers)
    assert answer.status_code == 422
    assert answer.json["errors"]["trl"] == ["技术就绪度（TRL）须在1到9之间"]


def test_unknown_ids_are_404_json(client):
    for path in (
        "/api/v1/demands/999",
        "/api/v1/outcomes/999",
        "/api/v1/patents/999",
        f"/api/v1/demands/{2**70}",
        "/api/v1/nowhere",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json["code"] == "not_found"


def test_ipc_lookup_by_code_and_prefix(client):
    exact = client.get("/api/v1/taxonomies/ipc?code=a01b").json
    assert [c["code"] for c in exact["items"]] == ["A01B"]
    prefixed = client.get("/api/v1/taxonomies/ipc?prefix=A01B1/&per_page=5").json
    assert prefixed["total"] >= 1
    assert all(c["code"].startswith("A01B1/") for c in prefixed["items"])
    one = client.get("/api/v1/taxonomies/ipc/A01B1/00")
    assert one.status_code == 200 and one.json["parent"] == "A01B"
    assert client.get("/api/v1/taxonomies/ipc/ZZZ9").status_code == 404


def test_industries(client):
    sections = client.get("/api/v1/taxonomies/industries?parent=A").json
    assert sections["total"] >= 1
    assert client.get("/api/v1/taxonomies/industries/0111").json["name"] == "稻谷种植"
    assert client.get("/api/v1/taxonomies/industries?q=稻谷").json["total"] >= 1


def test_search_falls_back_to_keywords_when_index_empty(
    app, client, buyer, demand_body, monkeypatch
):
    from market.services import indexing

    # The write enqueues indexing; keep the index empty to exercise the fallback.
    monkeypatch.setattr("market.tasks.enqueue", lambda *a: None)
    post_demand(client, buyer, demand_body())
    assert len(indexing.get_index("demand")) == 0
    answer = client.get("/api/v1/search?kind=demand&q=巡检").json
    assert answer["method"] == "keyword"
    assert answer["items"][0]["demand"]["title"] == "海上风电无人机巡检"
    assert answer["items"][0]["score"] is None


def test_search_uses_the_index_when_it_has_entries(client, seller, outcome_body):
    client.post("/api/v1/outcomes", json=outcome_body(), headers=seller.headers)
    client.post(
        "/api/v1/outcomes",
        json=outcome_body(title="海水淡化膜材料", abstract="反渗透膜通量提升。"),
        headers=seller.headers,
    )
    answer = client.get("/api/v1/search?kind=outcome&q=长航时巡检无人机&k=5").json
    assert answer["method"] == "semantic"
    assert answer["items"][0]["outcome"]["title"] == "一种长航时巡检无人机"
    assert isinstance(answer["items"][0]["score"], float)


def test_semantic_search_hides_broker_only_demands(client, buyer, broker, demand_body):
    post_demand(client, buyer, demand_body(title="保密巡检需求", confidentiality="broker_only"))
    post_demand(client, buyer, demand_body(title="公开巡检需求"))
    public = client.get("/api/v1/search?kind=demand&q=巡检需求").json
    assert public["method"] == "semantic"
    assert [i["demand"]["title"] for i in public["items"]] == ["公开巡检需求"]
    staff = client.get("/api/v1/search?kind=demand&q=巡检需求", headers=broker.headers).json
    assert len(staff["items"]) == 2


def test_code_suggestions_endpoint(client):
    answer = client.get("/api/v1/taxonomies/suggest", query_string={"text": "锂电池热失控预警"})
    assert answer.status_code == 200
    assert set(answer.json) == {"ipc", "industries"}
    assert answer.json["industries"] and answer.json["industries"][0]["name"]
    few = client.get("/api/v1/taxonomies/suggest", query_string={"text": "AI", "k": 2}).json
    assert few == {"ipc": [], "industries": []}
    assert client.get("/api/v1/taxonomies/suggest").status_code == 422


def test_a_demand_that_says_too_little_is_refused_with_the_field_named(client, buyer, demand_body):
    for text, message in (("无人机", "过于简短"), ("Drone inspection of wind turbines", "中文")):
        answer = post_demand(client, buyer, demand_body(title="巡检", description=text))
        assert answer.status_code == 422, answer.json
        assert message in answer.json["message"]
        assert (
            "description" in answer.json.get("errors", {}) or "需求描述" in answer.json["message"]
        )
    created = post_demand(client, buyer, demand_body(ipc_codes=["g06t", "B64C 39/02"]))
    assert created.status_code == 201, created.json
    assert created.json["ipc_codes"] == ["G06T", "B64C39/02"]
    short = client.patch(
        f"/api/v1/demands/{created.json['id']}",
        json={"description": "无人机"},
        headers=buyer.headers,
    )
    assert short.status_code == 422


def test_outcome_research_type_and_use_right_years(client, seller, outcome_body):
    body = outcome_body(research_type="basic", use_right_years=10, team_share_pct=70)
    created = client.post("/api/v1/outcomes", json=body, headers=seller.headers)
    assert created.status_code == 201, created.json
    assert created.json["research_type"] == "basic" and created.json["use_right_years"] == 10
    assert created.json["research_type_label"] == "基础研究"
    assert created.json["organization"]["state_owned"] is False
    outcome_id = created.json["id"]
    url = f"/api/v1/outcomes/{outcome_id}"
    cleared = client.patch(url, json={"research_type": None}, headers=seller.headers).json
    assert cleared["research_type"] is None and cleared["effective_research_type"] is None
    client.post(f"{url}/patents", json={"number": "CN202310000009.1"}, headers=seller.headers)
    detail = client.get(url).json
    assert detail["research_type"] is None and detail["effective_research_type"] == "applied"

    for years, message in ((0, "长期使用权年限须在1到30之间"), (31, "长期使用权年限须在1到30之间"),
                           (2.5, "长期使用权年限必须是整数"), ("10", "长期使用权年限必须是整数")):  # fmt: skip
        answer = client.patch(url, json={"use_right_years": years}, headers=seller.headers)
        assert answer.status_code == 422, years
        assert answer.json["errors"]["use_right_years"] == [message]
    wrong = client.patch(url, json={"research_type": "theory"}, headers=seller.headers)
    assert wrong.status_code == 422 and "研究类型无效" in wrong.json["errors"]["research_type"][0]
    assert client.get(url).json["use_right_years"] == 10


def test_labels_follow_the_requested_language(client, buyer, demand_body):
    """`?lang=en` gives the *_label fields in English; the codes beside them never change."""
    created = client.post("/api/v1/demands", json=demand_body(), headers=buyer.headers)
    demand_id = created.get_json()["id"]
    chinese = client.get(f"/api/v1/demands/{demand_id}").get_json()
    g.pop("_flask_babel", None)  # a server picks the locale afresh for every request
    english = client.get(f"/api/v1/demands/{demand_id}?lang=en").get_json()
    assert chinese["scenario_type"] == english["scenario_type"]
    assert chinese["scenario_label"] != english["scenario_label"]
    assert re.search(r"[\u4e00-\u9fff]", chinese["scenario_label"])
    assert not re.search(r"[\u4e00-\u9fff]", english["scenario_label"])
