"""组合方案 in a real browser, in Chinese at desktop width and in English at phone width (390 px):
the enterprise finds a bundle of one institution's two outcomes on its demand's proposals page,
with the coverage table and the combined terms; a broker finds it in the queue and rejects it
with a reason.

The demand and the outcomes are made through the services and matched by the real matcher, as
the marketplace would have them; every step the people take is a click in the page. The module
is named to run after test_marketplace.py, whose home page check expects the seeded demands
among the latest.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import BROKER_EMAIL, ENTERPRISE_EMAIL, ENTERPRISE_ORG, INSTITUTION_ORG, login
from .test_workflows import PHONE, fits, login_en, path, prepare

VARIANTS = [pytest.param("zh", None, id="zh-desktop"), pytest.param("en", PHONE, id="en-phone")]


def bundled_demand(live_server, tag: str) -> tuple[int, int, str]:
    """A demand two outcomes of one institution answer only together, matched: (demand id,
    bundle id, demand title)."""
    from market.services import bundles, indexing, matching
    from market.services.listings import post_demand, post_outcome
    from models import Organization, db

    title = f"海岛无人机巡检耐盐雾与远距图传{tag}"
    with live_server.ctx():
        enterprise = db.session.query(Organization).filter_by(name=ENTERPRISE_ORG).one()
        institution = db.session.query(Organization).filter_by(name=INSTITUTION_ORG).one()
        demand = post_demand(
            enterprise,
            {
                "title": title,
                "description": "海岛巡检无人机需要在高盐雾环境中长期使用，并把巡检图像远距离回传。",
                "field": "低空经济",
                "scenario_type": "infrastructure",
                "required_maturity": "pilot",
                "budget_max_fen": 300 * 10**6,
                "cooperation_modes": ["license", "use_first"],
                "indicators": [
                    {"name": "盐雾耐受时间", "op": ">=", "value": 500, "unit": "小时"},
                    {"name": "图传距离", "op": ">=", "value": 10, "unit": "km"},
                ],
            },
        )
        for name, abstract, row in (
            (
                f"海岛巡检无人机耐盐雾防护涂层{tag}",
                "海岛巡检无人机机体的耐盐雾防护涂层，适用于高盐雾环境长期使用。",
                {"name": "盐雾耐受时间", "op": ">=", "value": 720, "unit": "小时"},
            ),
            (
                f"海岛巡检无人机远距离图传链路{tag}",
                "海岛巡检无人机的远距离图像回传链路，巡检图像稳定远距离回传。",
                {"name": "图传距离", "op": ">=", "value": 15, "unit": "km"},
            ),
        ):
            post_outcome(
                institution,
                {
                    "title": name,
                    "abstract": abstract,
                    "maturity": "pilot",
                    "trl": 6,
                    "asking_price_fen": 50 * 10**6,
                    "transfer_modes": ["license", "use_first"],
                    "use_first_eligible": True,
                    "status": "published",
                    "indicators": [row],
                },
            )
        db.session.commit()
        indexing.reconcile()
        db.session.commit()
        matching.propose_for_demand(demand.id)
        db.session.commit()
        found = bundles.bundles_of(demand)
        assert found, "the matcher proposes both outcomes, and they are bundled"
        return demand.id, found[0].id, title


@pytest.mark.parametrize(("lang", "viewport"), VARIANTS)
def test_an_enterprise_sees_a_bundle_and_a_broker_rejects_it(
    new_page, shot, live_server, lang, viewport
):
    demand_id, bundle_id, title = bundled_demand(live_server, lang)

    enterprise = new_page()
    prepare(enterprise, lang, viewport)
    login(enterprise, ENTERPRISE_EMAIL) if lang == "zh" else login_en(enterprise, ENTERPRISE_EMAIL)
    enterprise.goto(path(live_server, "parties.demand_proposals", demand_id=demand_id))
    section = enterprise.get_by_test_id("bundles").locator(f"[data-bundle='{bundle_id}']")
    expect(section.get_by_test_id("coverage-table")).to_be_visible()
    summary = "最佳单项成果满足 1 / 2 项" if lang == "zh" else "best single outcome meets 1 / 2"
    expect(section.get_by_test_id("bundle-summary")).to_contain_text(summary)
    fits(enterprise)
    shot(enterprise, f"bundle-proposals-{lang}")
    section.locator(f"a[href$='/bundles/{bundle_id}/terms']").click()
    expect(enterprise.get_by_test_id("combined-terms").locator("tr[data-outcome]")).to_have_count(2)
    expect(enterprise.get_by_test_id("combined-totals")).to_be_visible()
    fits(enterprise)
    shot(enterprise, f"bundle-terms-{lang}")

    broker = new_page()
    prepare(broker, lang, viewport)
    login(broker, BROKER_EMAIL) if lang == "zh" else login_en(broker, BROKER_EMAIL)
    broker.goto(path(live_server, "broker.queue"))
    broker.get_by_test_id("queue-bundles").locator(f"a[href$='/bundles/{bundle_id}']").click()
    expect(broker).to_have_url(re.compile(rf"/my/bundles/{bundle_id}$"))
    broker.locator("select[name=reason]").select_option("price_gap")
    broker.locator("form[action$='/reject'] textarea[name=comment]").fill("两项合计超出预算")
    broker.locator("form[action$='/reject'] button[type=submit]").click()
    decision = broker.get_by_test_id("bundle-decision")
    expect(decision).to_contain_text("两项合计超出预算")
    expect(broker.locator("[data-stage]")).to_have_attribute("data-stage", "rejected")
    fits(broker)
    shot(broker, f"bundle-rejected-{lang}")
    assert title  # the demand the flow started from
