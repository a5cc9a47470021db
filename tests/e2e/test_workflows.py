"""Hand-offs that cross roles, in a real browser, in Chinese at desktop width and in English at
phone width (390 px): the enterprise's 牵线 request reaches the broker's queue and its answer
comes back as a notification; an institution asks to see who posted a 脱敏 demand and the owner
grants it; an admin runs the 到期即转 sweep from the UI and sees the run.

The rows each flow starts from are created through the services (as the marketplace would
have them); every step the people take is a click or a keystroke in the page. The demands made
here are newer than the seeded ones, so this module runs after test_marketplace.py (whose home
page check expects the seeded demands among the latest).
"""

from __future__ import annotations

import re

import pytest
from flask import url_for
from playwright.sync_api import Page, expect

from .conftest import (
    ADMIN_EMAIL,
    BROKER_EMAIL,
    ENTERPRISE_EMAIL,
    ENTERPRISE_ORG,
    INSTITUTION_EMAIL,
    INSTITUTION_ORG,
    login,
)

PHONE = {"width": 390, "height": 844}
VARIANTS = [pytest.param("zh", None, id="zh-desktop"), pytest.param("en", PHONE, id="en-phone")]


def prepare(page: Page, lang: str, viewport: dict | None) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    if lang == "en":  # the language switch in the navigation, as a reader would use it
        page.goto("/")
        menu = page.locator(".navbar-toggler")
        if menu.is_visible():  # at phone width the navigation is folded behind its button
            menu.click()
        page.locator('a[lang="en"]').first.click()
        expect(page.locator("html")).to_have_attribute("lang", re.compile("^en"))


def fits(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
              .slice(-3).map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40))"""
        )
        raise AssertionError(f"{page.url} overflows: {widths}; widest: {wide}")


def path(live_server, endpoint: str, **values) -> str:
    with live_server.app.test_request_context():
        return url_for(endpoint, **values)


def fresh_proposal(live_server, tag: str) -> tuple[int, str]:
    """A demand of the enterprise, matched: its best proposal's id and the demand's title."""
    from market.services import matching
    from market.services.listings import post_demand
    from models import Match, Organization, db

    title = f"风电叶片巡检无人机牵线{tag}"
    with live_server.ctx():
        org = db.session.query(Organization).filter_by(name=ENTERPRISE_ORG).one()
        demand = post_demand(
            org,
            {
                "title": title,
                "description": "需要无人机自主巡检风电叶片，续航≥40分钟，叶片缺陷识别精度≥95%。",
                "field": "低空经济",
                "scenario_type": "industry",
                "required_maturity": "pilot",
                "budget_min_fen": 50 * 10**6,
                "budget_max_fen": 300 * 10**6,
                "cooperation_modes": ["license", "use_first"],
            },
        )
        db.session.commit()
        from market.services import indexing

        indexing.reconcile()
        db.session.commit()
        matching.propose_for_demand(demand.id)
        db.session.commit()
        match = (
            db.session.query(Match)
            .filter_by(demand_id=demand.id, stage="proposed")
            .order_by(Match.score.desc())
            .first()
        )
        assert match is not None, "the seeded catalogue answers this demand"
        return match.id, title


@pytest.mark.parametrize(("lang", "viewport"), VARIANTS)
def test_an_introduction_request_reaches_the_broker_and_the_answer_comes_back(
    new_page, shot, live_server, lang, viewport
):
    match_id, title = fresh_proposal(live_server, lang)

    enterprise = new_page()
    prepare(enterprise, lang, viewport)
    login(enterprise, ENTERPRISE_EMAIL) if lang == "zh" else login_en(enterprise, ENTERPRISE_EMAIL)
    enterprise.goto(path(live_server, "parties.proposal", match_id=match_id))
    enterprise.locator("textarea[name=message]").fill("请尽快安排与成果方面谈。")
    enterprise.locator("form[action$='/introduce'] button[type=submit]").click()
    state = enterprise.locator("[data-intro-state]")
    expect(state).to_have_attribute("data-intro-state", "requested")
    expect(state).to_contain_text("请尽快安排与成果方面谈。")
    if lang == "en":
        expect(state).to_contain_text("asked a broker for an introduction")
    fits(enterprise)
    shot(enterprise, f"intro-requested-{lang}")

    broker = new_page()
    prepare(broker, lang, viewport)
    login(broker, BROKER_EMAIL) if lang == "zh" else login_en(broker, BROKER_EMAIL)
    broker.goto(path(live_server, "broker.queue"))
    broker.locator("#f-intro").check()
    broker.locator("#f-intro").evaluate("box => box.form.requestSubmit()")
    expect(broker).to_have_url(re.compile(r"[?&]intro=1"))
    row = broker.locator("tr").filter(has_text=title)
    expect(row.locator("[data-intro-badge]")).to_be_visible()
    fits(broker)
    shot(broker, f"queue-intro-only-{lang}")
    broker.goto(path(live_server, "broker.proposal", match_id=match_id))
    broker.locator("input[name=decision][value=accepted]").check()
    broker.locator("textarea[name=note]").fill("本周内联系双方。")
    broker.locator("form[action$='/introduction'] button[type=submit]").click()
    expect(broker.locator("[data-intro-state]")).to_have_attribute("data-intro-state", "accepted")
    fits(broker)

    enterprise.goto(path(live_server, "parties.proposal", match_id=match_id))
    expect(enterprise.locator("[data-intro-answer]")).to_contain_text("本周内联系双方。")
    enterprise.goto(path(live_server, "enterprise.index"))
    note = enterprise.get_by_test_id("notifications").locator("[data-notification=intro_accepted]")
    expect(note.filter(has_text=title)).to_be_visible()
    if lang == "en":
        expect(note.filter(has_text=title)).to_contain_text("accepted")
    fits(enterprise)
    shot(enterprise, f"intro-answer-notified-{lang}")


def login_en(page: Page, email: str) -> None:
    """Sign in through the English login form."""
    page.goto("/auth/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill("scenebridge-demo")
    page.locator("form button[type=submit]").first.click()
    expect(page.get_by_role("status").filter(has_text="Welcome back")).to_be_visible()


def desensitized_demand(live_server, tag: str) -> tuple[int, str]:
    from market.services.listings import post_demand
    from models import Organization, db

    title = f"保密巡检需求{tag}"
    with live_server.ctx():
        org = db.session.query(Organization).filter_by(name=ENTERPRISE_ORG).one()
        demand = post_demand(
            org,
            {
                "title": title,
                "description": "需要无人机巡检海上升压站，续航≥40分钟，发布单位暂不公开。",
                "field": "低空经济",
                "scenario_type": "industry",
                "confidentiality": "desensitized",
            },
        )
        db.session.commit()
        return demand.id, title


@pytest.mark.parametrize(("lang", "viewport"), VARIANTS)
def test_an_institution_asks_to_see_a_desensitized_demand_and_the_owner_grants_it(
    new_page, shot, live_server, lang, viewport
):
    demand_id, title = desensitized_demand(live_server, lang)
    demand_path = path(live_server, "public.demand", demand_id=demand_id)

    tto = new_page()
    prepare(tto, lang, viewport)
    login(tto, INSTITUTION_EMAIL) if lang == "zh" else login_en(tto, INSTITUTION_EMAIL)
    tto.goto(demand_path)
    expect(tto.locator("main")).not_to_contain_text(ENTERPRISE_ORG)
    form = tto.get_by_test_id("access-form")
    form.locator("textarea[name=purpose]").fill("本校有风电叶片巡检成果，希望与发布方直接洽谈。")
    form.locator("input[name=nda]").check()
    form.locator("button[type=submit]").click()
    expect(tto.get_by_test_id("access-state")).to_be_visible()
    fits(tto)
    shot(tto, f"access-requested-{lang}")

    owner = new_page()
    prepare(owner, lang, viewport)
    login(owner, ENTERPRISE_EMAIL) if lang == "zh" else login_en(owner, ENTERPRISE_EMAIL)
    owner.goto(path(live_server, "enterprise.access_requests"))
    request = owner.locator("article[data-access]").filter(has_text=title)
    expect(request.get_by_test_id("purpose")).to_contain_text("风电叶片巡检成果")
    expect(request).to_contain_text(INSTITUTION_ORG)
    request.locator("button[name=decision][value=grant]").click()
    granted = owner.locator("article[data-access]").filter(has_text=title)
    expect(granted.locator("[data-state]")).to_have_attribute("data-state", "granted")
    fits(owner)
    shot(owner, f"access-granted-{lang}")

    tto.goto(demand_path)
    expect(tto.locator("main")).to_contain_text(ENTERPRISE_ORG)
    fits(tto)


@pytest.mark.parametrize(("lang", "viewport"), VARIANTS)
def test_an_admin_runs_the_use_first_sweep_and_sees_the_run(
    new_page, shot, live_server, lang, viewport
):
    admin = new_page()
    prepare(admin, lang, viewport)
    login(admin, ADMIN_EMAIL) if lang == "zh" else login_en(admin, ADMIN_EMAIL)
    admin.goto(path(live_server, "admin.use_first_sweep"))
    before = admin.get_by_test_id("sweeps").locator("tbody tr").count()
    admin.get_by_test_id("sweep-form").locator("button[type=submit]").click()
    expect(admin.get_by_test_id("sweeps").locator("tbody tr")).to_have_count(before + 1)
    first = admin.get_by_test_id("sweeps").locator("tbody tr").first
    expect(first).to_contain_text("示例运营管理员")  # who ran it (the admin's own name)
    fits(admin)
    shot(admin, f"use-first-sweep-{lang}")


def drafted_sheet(live_server, tag: str) -> int:
    """A proposal accepted by the broker with 先用后转 terms drafted, through the services."""
    from market.services import deals, terms
    from models import Match, User, db

    match_id, _title = fresh_proposal(live_server, tag)
    with live_server.ctx():
        broker = db.session.query(User).filter_by(email=BROKER_EMAIL).one()
        match = db.session.get(Match, match_id)
        deals.accept_match(match, broker)
        row = terms.draft_for_match(match, None, "use_first", broker)
        db.session.commit()
        return row.id


def test_a_broker_edits_terms_in_english_on_a_phone(new_page, shot, live_server):
    """Every invalid term named at once, nothing saved; a valid edit logged with the sheet's
    own English label; the revenue simulation runs. At 390 px, in English."""
    sheet_id = drafted_sheet(live_server, "terms-en")
    broker = new_page()
    prepare(broker, "en", PHONE)
    login_en(broker, BROKER_EMAIL)
    broker.goto(path(live_server, "terms.view", sheet_id=sheet_id))
    fits(broker)

    edit = broker.locator("form[method=post]").filter(has=broker.locator("input[name=territory]"))
    edit.locator("input[name=free_window_months]").fill("-5")
    edit.locator("input[name=termination_notice_days]").fill("-1")
    edit.locator("button[type=submit]").click()
    summary = broker.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    assert summary.locator("li").count() >= 2, summary.inner_text()
    # Only the policy profile's own words (rule names, citations) stay Chinese, marked as such.
    own_words = summary.evaluate(
        """box => { const copy = box.cloneNode(true);
                    copy.querySelectorAll('[lang^=zh]').forEach(e => e.remove());
                    return copy.textContent; }"""
    )
    assert not re.search(r"[\u4e00-\u9fff]", own_words), own_words
    expect(summary).to_contain_text("Free-use period cannot be negative")
    expect(broker.locator("section[aria-labelledby=hist-h]")).to_contain_text("no changes yet")
    fits(broker)
    shot(broker, "terms-errors-en-phone")

    broker.goto(path(live_server, "terms.view", sheet_id=sheet_id))
    edit = broker.locator("form[method=post]").filter(has=broker.locator("input[name=territory]"))
    edit.locator("input[name=territory]").fill("Guangdong Province")
    edit.locator("button[type=submit]").click()
    history = broker.locator("table.sb-history")
    expect(history.locator("tbody tr").first).to_contain_text("Licensed territory")
    expect(history.locator("[data-change=new]").first).to_contain_text("Guangdong Province")
    fits(broker)

    simulate = broker.locator("form[method=get]").filter(has=broker.locator("input[name=base]"))
    for name, wan in (("low", "100"), ("base", "500"), ("high", "2000")):
        simulate.locator(f"input[name={name}]").fill(wan)
    simulate.locator("button[type=submit]").click()
    expect(broker.locator("table.sb-years").first).to_be_visible()
    fits(broker)
    shot(broker, "terms-simulated-en-phone")
