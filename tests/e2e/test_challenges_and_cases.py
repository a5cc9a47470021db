"""揭榜挂帅 and 标杆案例 in a real browser, through real forms (CSRF on).

5. An enterprise posts a challenge (揭榜奖励, 揭榜截止日期) through the demand form; two
   institutions enter outcomes (揭榜) from the public demand page; the enterprise shortlists
   (入围) and picks the winner (选定揭榜方), after which the challenge takes no more entries.
6. A signed deal leaves a 标杆案例 draft; the admin edits and publishes it to the public
   /cases list, then takes it down again.

Both challenge pages are also checked at phone width. Screenshots go to test-output/e2e/;
three are copied to docs/screenshots/.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from .conftest import (
    ADMIN_EMAIL,
    BLADE_OUTCOME,
    BROKER_EMAIL,
    ENTERPRISE_EMAIL,
    ENTERPRISE_ORG,
    INSTITUTION_EMAIL,
    INSTITUTION_ORG,
    LINE_OUTCOME,
    PASSWORD,
    login,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
).expect

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BEIJING = ZoneInfo("Asia/Shanghai")

CHALLENGE = "海上风机塔筒与叶片无人机巡检揭榜"
CHALLENGE_DAYS = 20
LAB_EMAIL = "lab@demo.scenebridge.cn"
LAB_ORG = "示例智能装备研究院"
LAB_OUTCOME = "塔筒螺栓无人机视觉巡检装置"
BLADE_PITCH = "续航实测52分钟，叶片缺陷识别精度97%，已在2个海上风电场完成中试，满足全部指标。"
LAB_PITCH = "塔筒螺栓松动识别准确率96%，续航42分钟，已在1个陆上风电场试用。"

CASE_DEMAND = "港口岸桥钢结构裂纹智能巡检"
CASE_OUTCOME = "岸桥钢结构裂纹视觉检测系统"
CASE_TITLE = "岸桥钢结构裂纹检测在珠海港落地"
CASE_SUMMARY = (
    "示例海洋大学的岸桥钢结构裂纹视觉检测系统以许可方式在珠海港岸桥上应用，"
    "裂纹检出率98%，单台岸桥巡检时间由4小时缩短到40分钟。"
)


def flash(page: Page, text: str):
    return page.get_by_role("status").filter(has_text=text)


def utc_today() -> date:
    # What the challenge service calls today (services/challenges.py: the UTC date).
    return datetime.now(UTC).date()


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


def expect_fits_phone(page: Page, shot, step: str) -> None:
    """At 390×844 the page scrolls only vertically; a screenshot records how it looks."""
    page.set_viewport_size(PHONE)
    page.reload()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} overflows at phone width: {widths}"
    shot(page, step)
    page.set_viewport_size(DESKTOP)


# -- 5 -------------------------------------------------------------------------------------------


@pytest.fixture
def second_institution(live_server):
    """Another approved research institute with a user and one published outcome."""
    from market.services import indexing
    from market.services.listings import post_outcome
    from models import Organization, User, db

    with live_server.ctx():
        lab = Organization(
            name=LAB_ORG, kind="institute", province="广东省", city="广州市", approved=True
        )
        db.session.add(lab)
        db.session.flush()
        user = User(email=LAB_EMAIL, name="示例研究院转化部", role="institution")
        user.organization = lab
        user.set_password(PASSWORD)
        db.session.add(user)
        outcome = post_outcome(
            lab,
            {
                "title": LAB_OUTCOME,
                "abstract": "无人机视觉识别风机塔筒螺栓松动与锈蚀，识别准确率96%，续航42分钟。",
                "field": "低空经济",
                "maturity": "pilot",
                "trl": 6,
                "transfer_modes": ["license"],
            },
        )
        db.session.commit()
        # Indexed like a listing posted through the pages, so no 建立索引 banner shows.
        indexing.index_listings("outcome", [outcome.id])
        db.session.commit()
        db.session.remove()
    return LAB_EMAIL


def post_challenge(page: Page, shot) -> str:
    """The enterprise posts the challenge through the guided form; returns its public URL."""
    deadline = utc_today() + timedelta(days=CHALLENGE_DAYS)
    login(page, ENTERPRISE_EMAIL)
    page.get_by_role("link", name="我的需求").click()
    page.get_by_role("link", name="发布新需求").click()
    page.get_by_label("需求名称").fill(CHALLENGE)
    page.get_by_label("需求描述").fill(
        "目前海上风机塔筒和叶片靠人工绳索作业巡检，每台约需4小时，受风浪影响大。"
        "希望无人机自主完成塔筒与叶片巡检，续航不少于40分钟，缺陷识别精度不低于95%，"
        "可开放3台海上风机作为试点。"
    )
    page.get_by_label("所属领域").select_option(label="低空经济")
    page.get_by_label("第1项指标名称").fill("续航")
    page.get_by_label("第1项比较方式").select_option(label="≥")
    page.get_by_label("第1项数值").fill("40")
    page.get_by_label("第1项单位").fill("分钟")
    page.get_by_label("第2项指标名称").fill("缺陷识别精度")
    page.get_by_label("第2项比较方式").select_option(label="≥")
    page.get_by_label("第2项数值").fill("95")
    page.get_by_label("第2项单位").fill("%")
    page.get_by_label("预算下限（万元）").fill("80")
    page.get_by_label("预算上限（万元）").fill("300")
    page.get_by_label("许可", exact=True).check()
    page.get_by_label("征集截止日期").fill((deadline + timedelta(days=30)).isoformat())
    page.get_by_label("揭榜挂帅奖励（万元，可选）").fill("30")
    page.get_by_label("揭榜截止日期（可选）").fill(deadline.isoformat())
    shot(page, "challenge-form")

    # Deadline, budget, numbers and indicators are all there: the linter has nothing to ask.
    page.get_by_role("button", name="检查并发布").click()
    expect(flash(page, "需求已发布")).to_be_visible()
    page.get_by_role("link", name="我的需求").first.click()
    row = page.get_by_role("row").filter(has_text=CHALLENGE)
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "published")
    expect(row.get_by_text("揭榜挂帅", exact=True)).to_be_visible()
    row.get_by_role("link", name=CHALLENGE, exact=True).click()
    expect(page.get_by_role("heading", name=CHALLENGE)).to_be_visible()
    return page.url


def expect_open_challenge(page: Page, entries: int) -> None:
    section = page.get_by_test_id("challenge")
    expect(section.get_by_role("heading", name="揭榜挂帅")).to_be_visible()
    facts = section.get_by_test_id("challenge-facts")
    expect(facts).to_contain_text("揭榜奖励")
    expect(facts).to_contain_text("30 万元")
    deadline = utc_today() + timedelta(days=CHALLENGE_DAYS)
    expect(facts.locator("time")).to_have_attribute("datetime", deadline.isoformat())
    expect(facts.locator("time")).to_have_text(deadline.isoformat())
    countdown = section.get_by_test_id("challenge-countdown")
    # The service counts on the UTC date, the page shows Beijing time: between 00:00 and 08:00
    # Beijing time the two dates differ by one day, so either count is accepted here.
    beijing = (deadline - beijing_today()).days
    expect(countdown).to_have_text(re.compile(rf"^还剩 ({CHALLENGE_DAYS}|{beijing}) 天$"))
    expect(countdown).to_have_attribute("data-state", "open")
    expect(section.get_by_test_id("challenge-entries")).to_have_text(f"{entries} 项成果已揭榜")


def test_challenge_entries_shortlist_and_winner(new_page, shot, second_institution):
    enterprise = new_page()
    demand_url = post_challenge(enterprise, shot)

    # An institution reads the challenge and enters (揭榜) with an empty pitch first.
    tto = new_page()
    login(tto, INSTITUTION_EMAIL)
    tto.goto(demand_url)
    expect(tto.get_by_role("heading", name=CHALLENGE)).to_contain_text("揭榜挂帅")
    expect_open_challenge(tto, entries=0)
    form = tto.get_by_test_id("entry-form")
    form.get_by_label("用于揭榜的成果").select_option(label=BLADE_OUTCOME)
    shot(tto, "challenge-public")
    form.get_by_role("button", name="揭榜", exact=True).click()

    expect(tto).to_have_url(re.compile(r"/workspace/institution/challenges/\d+/enter$"))
    pitch = tto.get_by_label("揭榜说明")
    error = tto.locator("[data-field-error=pitch]")
    expect(error).to_have_text("请填写揭榜说明")
    expect(pitch).to_have_attribute("aria-invalid", "true")
    expect(pitch).to_have_attribute("aria-describedby", re.compile(r"\bpitch-error\b"))
    # The error sits in the field's own group, right under the textarea.
    expect(pitch.locator("xpath=..").locator("[data-field-error=pitch]")).to_be_visible()
    expect(tto.get_by_label("用于揭榜的成果").locator("option:checked")).to_have_text(BLADE_OUTCOME)
    expect(tto.get_by_role("alert").filter(has_text="提交的内容有误")).to_be_visible()
    shot(tto, "entry-empty-pitch")

    pitch.fill(BLADE_PITCH)
    tto.get_by_role("button", name="揭榜", exact=True).click()
    expect(flash(tto, f"已揭榜“{CHALLENGE}”")).to_be_visible()
    mine = tto.get_by_role("row").filter(has_text=CHALLENGE)
    expect(mine).to_contain_text(BLADE_OUTCOME)
    expect(mine.locator("[data-state]")).to_have_text("已揭榜")
    shot(tto, "my-entries")

    tto.goto(demand_url)
    expect_open_challenge(tto, entries=1)
    expect(tto.get_by_test_id("my-entries")).to_contain_text(BLADE_OUTCOME)
    # An outcome already entered is no longer offered.
    options = tto.get_by_label("用于揭榜的成果").locator("option")
    expect(options.filter(has_text=BLADE_OUTCOME)).to_have_count(0)
    expect(options.filter(has_text=LINE_OUTCOME)).to_have_count(1)
    expect_fits_phone(tto, shot, "challenge-public-phone")

    # A second institution enters its own outcome.
    lab = new_page()
    login(lab, second_institution)
    lab.goto(demand_url)
    expect_open_challenge(lab, entries=1)
    form = lab.get_by_test_id("entry-form")
    form.get_by_label("用于揭榜的成果").select_option(label=LAB_OUTCOME)
    form.get_by_label("揭榜说明").fill(LAB_PITCH)
    shot(lab, "challenge-entry", docs="challenge-entry.png")
    form.get_by_role("button", name="揭榜", exact=True).click()
    expect(flash(lab, f"已揭榜“{CHALLENGE}”")).to_be_visible()

    # The enterprise sees both entries with their pitches.
    enterprise.get_by_role("link", name="我的需求").click()
    enterprise.get_by_role("row").filter(has_text=CHALLENGE).get_by_role(
        "link", name=re.compile("^揭榜情况")
    ).click()
    expect(enterprise).to_have_url(re.compile(r"/workspace/enterprise/challenges/\d+$"))
    expect(enterprise.get_by_role("heading", name=CHALLENGE)).to_be_visible()
    entries = enterprise.locator("article[data-entry]")
    expect(entries).to_have_count(2)
    blade = entries.filter(has_text=BLADE_OUTCOME)
    other = entries.filter(has_text=LAB_OUTCOME)
    expect(blade.get_by_test_id("pitch")).to_have_text(BLADE_PITCH)
    expect(blade).to_contain_text(INSTITUTION_ORG)
    expect(other.get_by_test_id("pitch")).to_have_text(LAB_PITCH)
    expect(other).to_contain_text(LAB_ORG)
    expect(enterprise.get_by_test_id("challenge-entries")).to_have_text("2 项成果已揭榜")
    expect_fits_phone(enterprise, shot, "challenge-entries-phone")

    blade.get_by_label("决定说明（可选）").fill("续航与识别精度均满足指标，进入现场测试。")
    blade.get_by_role("button", name=re.compile("^入围")).click()
    expect(flash(enterprise, f"“{BLADE_OUTCOME}”已入围。")).to_be_visible()
    expect(blade.locator("h3 [data-state]")).to_have_text("已入围")
    expect(blade.get_by_role("button", name=re.compile("^入围"))).to_have_count(0)
    expect(other.locator("h3 [data-state]")).to_have_text("已揭榜")
    shot(enterprise, "shortlisted")

    blade.get_by_label("决定说明（可选）").fill("现场测试通过，选定为揭榜方。")
    blade.get_by_label(re.compile("^我确认选定该揭榜方")).check()
    blade.get_by_role("button", name=re.compile("^选定揭榜方")).click()
    expect(flash(enterprise, f"已选定“{BLADE_OUTCOME}”为揭榜方")).to_be_visible()
    expect(entries.first).to_contain_text(BLADE_OUTCOME)  # the winner comes first
    expect(blade.locator("h3 [data-state]")).to_have_text("揭榜方")
    expect(blade).to_contain_text("决定说明：现场测试通过，选定为揭榜方。")
    expect(blade).to_contain_text("已推荐给平台技术经纪人")
    expect(other.locator("h3 [data-state]")).to_have_text("未入选")
    expect(enterprise.locator("article form")).to_have_count(0)  # nothing left to decide
    countdown = enterprise.get_by_test_id("challenge-countdown")
    expect(countdown).to_have_text("已选定揭榜方")
    shot(enterprise, "winner", docs="challenge-winner.png")

    # The public page shows the decision and no longer takes entries.
    tto.goto(demand_url)
    section = tto.get_by_test_id("challenge")
    expect(section.get_by_test_id("challenge-countdown")).to_have_text("已选定揭榜方")
    expect(section.get_by_test_id("challenge-countdown")).to_have_attribute("data-state", "decided")
    expect(section.get_by_test_id("my-entries").locator("[data-state]")).to_have_text("揭榜方")
    expect(section.get_by_test_id("entry-form")).to_have_count(0)
    expect(section.get_by_role("heading", name="我要揭榜")).to_have_count(0)
    expect(section.get_by_role("button", name="揭榜", exact=True)).to_have_count(0)
    shot(tto, "challenge-decided")

    lab.goto(demand_url)
    expect(lab.get_by_test_id("my-entries").locator("[data-state]")).to_have_text("未入选")
    expect(lab.get_by_test_id("entry-form")).to_have_count(0)


# -- 6 -------------------------------------------------------------------------------------------


@pytest.fixture
def signed_case(live_server):
    """A deal carried to 签约 by the services after a 公示 that ran its window: a case draft."""
    from market.services import deals, indexing, notices
    from market.services.listings import post_demand, post_outcome
    from models import BenchmarkCase, Match, Organization, User, db

    with live_server.ctx():
        broker = db.session.scalar(select(User).where(User.email == BROKER_EMAIL))
        enterprise = db.session.scalar(
            select(Organization).where(Organization.name == ENTERPRISE_ORG)
        )
        university = db.session.scalar(
            select(Organization).where(Organization.name == INSTITUTION_ORG)
        )
        demand = post_demand(
            enterprise,
            {
                "title": CASE_DEMAND,
                "description": "目前岸桥钢结构靠人工登高检查，每台约4小时。需要裂纹智能检测，"
                "检出率≥95%。",
                "field": "智能制造",
                "budget_max_fen": 200 * 10**6,
                "cooperation_modes": ["license"],
            },
        )
        outcome = post_outcome(
            university,
            {
                "title": CASE_OUTCOME,
                "abstract": "基于机器视觉的钢结构裂纹检测，检出率98%，已在码头中试。",
                "field": "智能制造",
                "maturity": "pilot",
                "trl": 6,
                "transfer_modes": ["license"],
            },
        )
        match = Match(
            demand_id=demand.id,
            outcome_id=outcome.id,
            score=0.8,
            components={"semantic": 0.8},
            explanation={"sentence": "双方文本均涉及“钢结构裂纹检测”。"},
        )
        db.session.add(match)
        db.session.flush()
        now = datetime.now(UTC)
        deal = deals.accept_match(match, broker)
        deals.move_deal(deal, "introduced", broker, "对接", now=now - timedelta(days=45))
        deals.move_deal(deal, "negotiating", broker, "洽谈", now=now - timedelta(days=44))
        notices.open_notice(deal, 500_000 * 100, "negotiated", broker, now=now - timedelta(days=40))
        deals.move_deal(deal, "signed", broker, "签约")
        db.session.commit()
        indexing.index_listings("demand", [demand.id])
        indexing.index_listings("outcome", [outcome.id])
        db.session.commit()
        case = db.session.scalar(select(BenchmarkCase).where(BenchmarkCase.deal_id == deal.id))
        assert case is not None and not case.published
        case_id, draft_title = case.id, case.title
        db.session.remove()
    return case_id, draft_title


def test_admin_edits_and_publishes_benchmark_case(new_page, shot, signed_case):
    case_id, draft_title = signed_case
    assert draft_title == f"{CASE_OUTCOME}落地应用"

    admin = new_page()
    login(admin, ADMIN_EMAIL)
    admin.get_by_role("link", name="管理", exact=True).click()
    expect(admin.get_by_role("heading", name="标杆案例", exact=True)).to_be_visible()
    row = admin.locator(f"#case-{case_id}")
    expect(row).to_contain_text(draft_title)
    expect(row).to_contain_text(f"{CASE_OUTCOME} → {CASE_DEMAND}")
    expect(row.locator(".badge")).to_have_text("草稿")
    shot(admin, "case-draft")

    row.get_by_role("link", name="编辑").click()
    expect(admin.get_by_role("heading", name="编辑标杆案例")).to_be_visible()
    expect(admin.get_by_label("案例标题")).to_have_value(draft_title)
    admin.get_by_label("案例标题").fill(CASE_TITLE)
    admin.get_by_label("案例摘要").fill("太短")
    admin.get_by_role("button", name="保存").click()
    expect(admin.locator("[data-field-error=summary]")).to_have_text("案例摘要须为10到2000个字")
    expect(admin.get_by_label("案例标题")).to_have_value(CASE_TITLE)  # nothing typed is lost
    expect(admin.get_by_label("案例摘要")).to_have_value("太短")
    shot(admin, "case-edit-error")

    admin.get_by_label("案例摘要").fill(CASE_SUMMARY)
    admin.get_by_role("button", name="保存").click()
    expect(flash(admin, "案例已保存")).to_be_visible()
    row = admin.locator(f"#case-{case_id}")
    expect(row).to_contain_text(CASE_TITLE)
    row.get_by_role("button", name="发布").click()
    expect(flash(admin, "案例已发布到标杆案例清单")).to_be_visible()
    expect(row.locator(".badge")).to_have_text("已发布")
    expect(row.get_by_role("button", name="撤下")).to_be_visible()
    shot(admin, "case-published", docs="admin-cases.png")

    public = new_page()
    public.goto("/")
    public.get_by_role("navigation").get_by_role("link", name="标杆案例清单").click()
    expect(public.get_by_role("heading", name="标杆案例清单")).to_be_visible()
    card = public.get_by_role("article").filter(has_text=CASE_TITLE)
    expect(card.get_by_role("heading", name=CASE_TITLE)).to_be_visible()
    expect(card).to_contain_text(CASE_SUMMARY)
    expect(card).to_contain_text(CASE_OUTCOME)
    expect(card).to_contain_text(CASE_DEMAND)
    expect(card.locator("dd").last).to_have_text(
        beijing_today().isoformat()
    )  # 签约日期, in Beijing time
    shot(public, "cases-public")

    row.get_by_role("button", name="撤下").click()
    expect(flash(admin, "案例已撤下，转为草稿")).to_be_visible()
    expect(row.locator(".badge")).to_have_text("草稿")
    public.reload()
    expect(public.get_by_text(CASE_TITLE)).to_have_count(0)
    shot(public, "cases-unpublished")
