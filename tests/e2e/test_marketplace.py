"""The four journeys of the marketplace in a real browser, through real forms (CSRF on).

1. An enterprise posts a 场景需求 through the guided form and the matcher proposes outcomes.
2. A TTO bulk-imports a CSV with two bad rows: errors by row and column, then a 100% import.
3. A broker reviews a proposal, accepts it, drafts 先用后转 terms and opens a 公示 with a price.
4. The public reads the 公示 with its countdown and files an objection.

Each step is screenshotted to test-output/e2e/; the README's images are copied to
docs/screenshots/. Assertions are on what a person sees, never only on status codes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from .conftest import (
    BLADE_OUTCOME,
    BROKER_EMAIL,
    ENTERPRISE_EMAIL,
    ENTERPRISE_ORG,
    INSTITUTION_EMAIL,
    INSTITUTION_ORG,
    LINE_OUTCOME,
    NOTICE_DEMAND,
    REVIEW_DEMAND,
    login,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
).expect

COUNTDOWN = re.compile(r"剩余 \d+ 天 \d+ 小时")


def flash(page: Page, text: str):
    return page.get_by_role("status").filter(has_text=text)


def queue_row(page: Page, demand: str, outcome: str):
    return page.get_by_role("row").filter(has_text=demand).filter(has_text=outcome)


def expect_explained(page: Page, demand: str, outcome: str) -> None:
    """A proposal page that says why: a sentence, the score breakdown, shared words, indicators."""
    expect(page.get_by_role("heading", name=re.compile(r"推荐 #\d+"))).to_be_visible()
    expect(page.locator("[data-side=demand]")).to_contain_text(demand)
    expect(page.locator("[data-side=outcome]")).to_contain_text(outcome)
    expect(page.locator("p.sb-sentence")).to_have_text(re.compile(r"\S.*。"))
    breakdown = page.get_by_role("region", name="评分构成")
    expect(breakdown.get_by_role("row").nth(1)).to_be_visible()
    expect(breakdown).to_contain_text("语义")
    expect(page.locator("mark").filter(has_text="无人机").first).to_be_visible()
    expect(page.get_by_role("region", name="指标对照")).to_contain_text("续航")


# -- 1 -------------------------------------------------------------------------------------------


def test_enterprise_posts_demand_and_gets_explained_proposals(new_page, shot):
    title = "风电场风机叶片无人机智能巡检"
    page = new_page()
    page.goto("/")
    expect(page.get_by_role("heading", name="让企业的场景需求找到能落地的科技成果")).to_be_visible()
    expect(page.get_by_text(REVIEW_DEMAND).first).to_be_visible()
    shot(page, "home", docs="home.png")

    login(page, ENTERPRISE_EMAIL)
    page.get_by_role("link", name="我的需求").click()
    page.get_by_role("link", name="发布新需求").click()
    expect(page.get_by_role("heading", name="发布场景需求")).to_be_visible()

    page.get_by_label("需求名称").fill(title)
    page.get_by_label("需求描述").fill(
        "目前人工登塔巡检每台风机约需3小时，漏检率约8%。希望用无人机自主巡检风机叶片，"
        "单次续航不少于40分钟，叶片裂纹与雷击损伤识别精度不低于95%。"
        "可开放5台陆上风机作为试点，并提供约2万张已标注的历史叶片图像。"
    )
    page.get_by_label("所属领域").select_option(label="低空经济")
    page.get_by_label("第1项指标名称").fill("续航")
    page.get_by_label("第1项比较方式").select_option(label="≥")
    page.get_by_label("第1项数值").fill("40")
    page.get_by_label("第1项单位").fill("分钟")
    page.get_by_label("第2项指标名称").fill("识别精度")
    page.get_by_label("第2项比较方式").select_option(label="≥")
    page.get_by_label("第2项数值").fill("95")
    page.get_by_label("第2项单位").fill("%")
    page.get_by_label("要求的技术成熟度").select_option(label="中试")
    page.get_by_label("预算下限（万元）").fill("50")
    page.get_by_label("预算上限（万元）").fill("200")
    page.get_by_label("许可", exact=True).check()
    page.get_by_label("先用后转", exact=True).check()
    shot(page, "demand-form", docs="demand-form.png")

    page.get_by_role("button", name="检查并发布").click()
    # The linter asks once before publishing: no deadline was given.
    lint = page.get_by_test_id("lint-warnings")
    expect(lint).to_contain_text("没有截止日期")
    expect(page.get_by_label("需求名称")).to_have_value(title)  # nothing typed is lost
    shot(page, "lint-confirm")
    lint.get_by_role("button", name="仍然发布").click()

    expect(flash(page, "需求已发布")).to_be_visible()
    # publishing lands on the demand's proposals page (matching in progress, then the list)
    expect(page.get_by_role("heading", name=re.compile("推荐的科技成果"))).to_be_visible()
    page.get_by_role("link", name="我的需求").first.click()
    row = page.get_by_role("row").filter(has_text=title)
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "published")
    shot(page, "my-demands")

    # The enterprise workspace has no proposals view yet: the broker cockpit shows them.
    broker = new_page()
    login(broker, BROKER_EMAIL)
    broker.get_by_role("link", name="经纪人工作台").click()
    rows = broker.get_by_role("row").filter(has_text=title)
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text=BLADE_OUTCOME)).to_have_count(1)
    # Best first: the blade-inspection outcome outranks the unrelated herbal-extraction one.
    scores = [score_value(s) for s in rows.locator(".sb-score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    titles = rows.locator("td:nth-child(3)").all_inner_texts()
    assert titles[0].startswith(BLADE_OUTCOME), titles
    broker.get_by_label("领域").select_option("低空经济")
    broker.get_by_role("button", name="筛选").click()
    expect(rows.filter(has_text=BLADE_OUTCOME)).to_be_visible()
    shot(broker, "proposals", docs="proposals.png")

    rows.filter(has_text=BLADE_OUTCOME).get_by_role("link", name="审核").click()
    expect_explained(broker, title, BLADE_OUTCOME)
    shot(broker, "proposal-explained")


# -- 2 -------------------------------------------------------------------------------------------

IMPORT_CSV = "\n".join(
    [
        "成果名称,成果简介,成熟度,TRL,转化方式,报价（万元）,是否支持先用后转,财政资助,团队赋权比例,"
        "专利号,专利类型,申请日,授权日,到期日,法律状态,IPC分类号",
        "光伏板清洁机器人,续航6小时，清洁效率每小时800平方米,中试,6,许可；先用后转,60,是,是,70,"
        "CN202310000011.1,发明专利,2023-01-05,2024-03-01,2043-01-05,有效,B08B",
        "水质在线监测传感器,溶解氧测量精度0.1mg/L,小试,12,转让,,否,否,,,,,,,,",
        "海上风电基础防腐涂层,盐雾试验5000小时无起泡,产业化,8,许可,120,否,是,,,,,,,,",
        "锂电池健康度预测模型,容量预测误差小于2%,试产,5,许可,30,否,否,,,,,,,,",
    ]
)


def test_institution_bulk_import_reports_bad_rows_then_imports_the_rest(page, shot):
    login(page, INSTITUTION_EMAIL)
    page.get_by_role("link", name="我的成果").click()
    page.get_by_role("link", name="从表格批量导入").click()
    expect(page.get_by_role("heading", name="从表格批量导入成果")).to_be_visible()
    page.get_by_label("成果表格文件").set_input_files(
        {"name": "成果清单.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode("utf-8")}
    )
    page.get_by_role("button", name="上传并检查").click()

    expect(page.get_by_test_id("summary")).to_have_text("共4行，其中2行可以导入，2行有错误。")
    errors = page.get_by_test_id("row-errors").get_by_role("listitem")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("第3行「TRL」")
    expect(errors.nth(0)).to_contain_text("须为1到9的整数")
    expect(errors.nth(1)).to_contain_text("第5行「成熟度」")
    expect(errors.nth(1)).to_contain_text("“试产”不是有效的选项")
    expect(page.locator("tr.table-danger")).to_have_count(2)
    shot(page, "import-errors", docs="import-errors.png")

    page.get_by_test_id("confirm").click()
    expect(page.locator("[data-percent]")).to_have_text("100%")
    expect(page.locator("progress[data-bar]")).to_have_attribute("value", "100")
    expect(page.locator("[data-message]")).to_contain_text("已导入2条成果")
    expect(page.locator("[data-message]")).to_contain_text("（2/2）")
    shot(page, "import-done")

    page.get_by_role("link", name="返回我的成果").click()
    for title in ("光伏板清洁机器人", "海上风电基础防腐涂层"):
        expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    expect(page.get_by_text("水质在线监测传感器")).to_have_count(0)
    shot(page, "my-outcomes")


# -- 3 -------------------------------------------------------------------------------------------


def test_broker_takes_a_proposal_to_public_notice(page, shot):
    login(page, BROKER_EMAIL)
    page.get_by_role("link", name="经纪人工作台").click()
    expect(page.get_by_role("heading", name="经纪人工作台")).to_be_visible()
    queue_row(page, REVIEW_DEMAND, BLADE_OUTCOME).get_by_role("link", name="审核").click()

    expect_explained(page, REVIEW_DEMAND, BLADE_OUTCOME)
    preview = page.get_by_role("region", name=re.compile("先用后转条款草案"))
    expect(preview.get_by_role("row").nth(1)).to_be_visible()
    shot(page, "proposal", docs="broker-proposal.png")

    page.get_by_label("备注（可选）").fill("指标匹配，安排双方对接。")
    page.get_by_role("button", name="接受并建立项目").click()
    expect(flash(page, "已接受推荐")).to_be_visible()
    expect(page.get_by_role("heading", name=BLADE_OUTCOME)).to_be_visible()
    expect(page.locator("h1 + .badge")).to_have_text("已审核")
    deal_url = page.url

    terms_card = page.get_by_role("region", name="条款书")
    terms_card.get_by_label("合作方式").select_option(label="先用后转")
    terms_card.get_by_role("button", name="生成条款书").click()
    expect(flash(page, "条款书已生成")).to_be_visible()
    page.get_by_role("link", name="查看和修改条款书").click()
    expect(page.get_by_role("heading", name=f"条款书：{BLADE_OUTCOME}")).to_be_visible()
    expect(page.get_by_text("第 1 版").first).to_be_visible()
    expect(page.get_by_text(f"被许可方：{ENTERPRISE_ORG}")).to_be_visible()
    terms_table = page.get_by_role("region", name="全部条款及依据")
    expect(terms_table).to_contain_text("先用后转")
    expect(terms_table.locator("table.sb-terms").first.get_by_role("row").nth(1)).to_be_visible()
    shot(page, "term-sheet", docs="term-sheet.png")

    page.goto(deal_url)
    for stage in ("已对接", "洽谈中"):
        page.get_by_label("转到阶段").select_option(label=stage)
        page.get_by_role("button", name="更新阶段").click()
        expect(flash(page, "阶段已更新")).to_be_visible()
        expect(page.locator("h1 + .badge")).to_have_text(stage)

    notice_form = page.get_by_role("region", name="发起协议定价公示")
    # the price is left empty: the notice publishes the term sheet's 合同成交额 (they must agree)
    notice_form.get_by_label("定价方式").select_option(label="协议定价")
    shot(page, "negotiating")
    notice_form.get_by_role("button", name="发起公示").click()
    expect(flash(page, "已发起公示")).to_be_visible()
    expect(page.locator("h1 + .badge")).to_have_text("公示中")
    notice_card = page.get_by_role("region", name=re.compile(r"^公示"))
    expect(notice_card).to_contain_text(re.compile(r"协议定价 · [\d,]+\.\d\d 元"))
    price = re.search(r"协议定价 · ([\d,]+\.\d\d 元)", notice_card.inner_text()).group(1)
    expect(notice_card).to_contain_text(COUNTDOWN)
    expect(page.get_by_role("region", name="阶段记录")).to_contain_text("洽谈中 → 公示中")
    shot(page, "deal-in-notice")

    notice_card.get_by_role("link", name="公开页面").click()
    expect(page.get_by_role("heading", name=f"协议定价公示：{BLADE_OUTCOME}")).to_be_visible()
    expect(page.locator("dl.sb-facts")).to_contain_text(price)
    shot(page, "notice-public")


# -- 4 -------------------------------------------------------------------------------------------


@pytest.fixture
def open_notice(live_server):
    """A proposal carried to 公示 by the services (flow 3 does it through the pages)."""
    from market.services import deals, notices
    from models import Demand, Match, Outcome, User, db

    with live_server.ctx():
        broker = db.session.scalar(select(User).where(User.email == BROKER_EMAIL))
        match = db.session.scalar(
            select(Match)
            .join(Demand, Match.demand_id == Demand.id)
            .join(Outcome, Match.outcome_id == Outcome.id)
            .where(Demand.title == NOTICE_DEMAND, Outcome.title == LINE_OUTCOME)
        )
        assert match is not None, "the matcher should propose the line outcome for the demand"
        deal = deals.accept_match(match, broker)
        deals.move_deal(deal, "introduced", broker, "对接")
        deals.move_deal(deal, "negotiating", broker, "洽谈")
        notice = notices.open_notice(deal, 650_000 * 100, "negotiated", broker)
        db.session.commit()
        notice_id = notice.id
        db.session.remove()
    return notice_id


def test_public_reads_notice_with_countdown_and_files_objection(page, shot, open_notice):
    page.goto("/")
    expect(page.get_by_role("button", name="退出")).to_have_count(0)  # logged out
    page.get_by_role("link", name="公示", exact=True).click()
    expect(page.get_by_role("heading", name="协议定价公示")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=LINE_OUTCOME)
    expect(row).to_contain_text("650,000.00 元")
    expect(row).to_contain_text("协议定价")
    expect(row).to_contain_text(f"转让/许可方：{INSTITUTION_ORG}")
    expect(row.locator(".sb-countdown")).to_have_text(COUNTDOWN)
    shot(page, "notices")

    row.get_by_role("link", name=LINE_OUTCOME).click()
    expect(page).to_have_url(re.compile(rf"/notices/{open_notice}$"))
    facts = page.locator("dl.sb-facts")
    expect(facts).to_contain_text("650,000.00 元")
    expect(facts.locator(".sb-countdown")).to_have_text(COUNTDOWN)
    expect(facts).to_contain_text("0 件")
    shot(page, "notice", docs="notice.png")

    objection = page.get_by_role("region", name="提出异议")
    objection.get_by_role("button", name="提交异议").click()  # empty: errors next to fields
    expect(page.locator("[data-field-error=text]")).to_contain_text("请填写异议内容")
    objection = page.get_by_role("region", name="提出异议")
    objection.get_by_label("姓名或单位").fill("张三（示例）")
    objection.get_by_label("联系方式（电话或邮箱）").fill("zhangsan@example.com")
    objection.get_by_label("异议内容").fill(
        "该成果的部分专利权属存在争议，价格低于同类成果评估值，请核实。"
    )
    objection.get_by_role("button", name="提交异议").click()
    expect(flash(page, "异议已提交")).to_be_visible()
    expect(page.locator("dl.sb-facts")).to_contain_text("1 件")
    shot(page, "objection-filed")


def score_value(text: str) -> float:
    """A score badge's number: "强匹配 83%" → 0.83 (relevance bands), "0.83" → 0.83 (older)."""
    number = float(re.search(r"\d+(?:\.\d+)?", text).group())
    return number / 100 if text.strip().endswith("%") else number
