"""组合方案 on the demand's proposals page, the bundle page and 组合条款, for the owner and a broker."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from market.services import bundles
from models import AuditLog, MatchBundle, db


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def proposed(drone_market, enterprise, institution, create_user, create_org):
    demand, uni, matches = drone_market
    bundles.propose_bundles(demand)
    stranger = create_org("示例无关大学", "university")
    users = {
        "owner": create_user("owner@test.cn", "enterprise", enterprise),
        "broker": create_user("broker@test.cn", "broker"),
        "tto": create_user("tto@test.cn", "institution", institution),
        "stranger": create_user("stranger@test.cn", "institution", stranger),
    }
    db.session.commit()
    return demand, uni, matches, bundles.bundles_of(demand)[0], users


@pytest.mark.parametrize("who", ["owner", "broker"])
def test_proposals_page_lists_bundles_with_their_coverage(client, auth, proposed, who):
    demand, uni, _, best, _ = proposed
    auth.login(f"{who}@test.cn")
    page = text(client.get(f"/my/demands/{demand.id}/proposals"))
    assert "组合方案" in page and 'data-testid="coverage-table"' in page
    assert f"/my/bundles/{best.id}/terms" in page
    assert "组合满足 3 / 3 项指标；最佳单项成果满足 1 / 3 项" in page
    assert all(o.title in page for o in uni.values())
    assert "跨机构的合作组合暂不推荐" in page
    english = text(client.get(f"/my/demands/{demand.id}/proposals?lang=en"))
    assert "Bundles" in english and "best single outcome meets 1 / 3" in english
    assert "组合方案" not in english


def test_the_owner_reads_the_bundle_and_its_combined_terms(client, auth, proposed):
    demand, uni, _, best, _ = proposed
    auth.login("owner@test.cn")
    page = text(client.get(f"/my/bundles/{best.id}"))
    assert "指标覆盖" in page and "满足" in page and "接受组合方案" not in page
    terms = client.get(f"/my/bundles/{best.id}/terms")
    assert terms.status_code == 200
    body = text(terms)
    assert 'data-testid="combined-terms"' in body and "合同成交额合计" in body
    assert body.count("<tr data-outcome=") == 3
    assert uni["payload"].organization.name in body
    assert 'data-testid="combined-valid"' in body
    assert 'data-testid="combined-warnings"' in body and "提成比例为9%" in body
    english = text(client.get(f"/my/bundles/{best.id}/terms?lang=en"))
    assert "Combined terms" in english and "Contract value total" in english
    assert "9%" in english and "提成比例为" not in english  # the stacked-royalty warning


def test_a_broker_accepts_or_rejects_a_bundle_with_a_reason(client, auth, proposed):
    demand, _, matches, best, _ = proposed
    auth.login("broker@test.cn")
    queue = text(client.get("/broker/"))
    assert 'data-testid="queue-bundles"' in queue and f"/my/bundles/{best.id}" in queue
    page = text(client.get(f"/my/bundles/{best.id}"))
    assert "接受组合方案" in page and "拒绝组合方案" in page
    proposal = text(client.get(f"/broker/proposals/{matches['payload'].id}"))
    assert f"/my/bundles/{best.id}" in proposal  # the member's proposal points to its bundle
    refused = client.post(f"/broker/bundles/{best.id}/reject", data={"reason": "other"})
    assert refused.status_code == 422 and "请写明原因" in text(refused)
    done = client.post(
        f"/broker/bundles/{best.id}/reject",
        data={"reason": "price_gap", "comment": "三项合计超出预算", "version": best.version_id},
    )
    assert done.status_code == 302
    db.session.expire_all()
    stored = db.session.get(MatchBundle, best.id)
    assert stored.stage == "rejected" and stored.rejection_reason == "price_gap"
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "bundle.reject")).one()
    assert entry.after["comment"] == "三项合计超出预算"
    again = client.post(f"/broker/bundles/{best.id}/accept", data={"version": best.version_id})
    assert again.status_code == 409
    assert "已处理" in text(client.get(f"/my/bundles/{best.id}"))


def test_who_may_see_a_bundle(client, auth, proposed):
    demand, _, _, best, _ = proposed
    auth.login("tto@test.cn")  # the outcomes' organisation: a party to the bundle
    assert client.get(f"/my/bundles/{best.id}").status_code == 200
    assert client.post(f"/broker/bundles/{best.id}/accept").status_code == 403
    auth.logout()
    auth.login("stranger@test.cn")
    assert client.get(f"/my/bundles/{best.id}").status_code == 403
    assert client.get(f"/my/bundles/{best.id}/terms").status_code == 403
    demand.confidentiality = "broker_only"
    db.session.commit()
    auth.logout()
    auth.login("tto@test.cn")  # a 仅经纪人可见 demand reaches the outcome side only once accepted
    assert client.get(f"/my/bundles/{best.id}").status_code == 403


def test_an_accepted_bundle_lists_its_projects_for_the_broker(client, auth, proposed):
    _demand, _, _matches, best, _ = proposed
    auth.login("broker@test.cn")
    done = client.post(f"/broker/bundles/{best.id}/accept", data={"version": best.version_id})
    assert done.status_code == 302
    page = text(client.get(f"/my/bundles/{best.id}"))
    assert 'data-testid="bundle-deals"' in page and page.count("/broker/deals/") >= 2
