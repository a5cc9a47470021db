"""The demo catalogue: only technology outcomes, titled like titles, held by plausible owners."""

import json

import pytest

from market.formatting import first_sentence
from market.services import catalogue
from market.services.seed import PAPER_ORG, PAPERS, REJECTED_REPORT, paper_catalogue, seed_all
from models import Organization, Outcome, db


@pytest.fixture(scope="module")
def papers() -> list[dict]:
    return paper_catalogue()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("［本刊讯］为进一步提高刊物的国内外影响力，《测绘学报》近日申请加入了开放获取平台。", "期刊消息与致辞"),
        ("我国临床听力学奠基人之一顾瑞教授因病医治无效，于2014年3月29日在北京逝世。", "人物与纪念"),
        ("两宋时期，中国园林继唐代全胜之后，持续发展而臻于完全成熟的境地。", "史学与人文"),
        ("口腔修复学是主要专业课程之一，本文探讨了适合该课程的教学方法。", "教学与课程改革"),
        ("第十届中国国际铅酸蓄电池博览会于5月20日在北京国际会议中心盛大召开。", "展会与活动通知"),
        ("患者女,38岁.因左腋背部多发性丘疹及斑块5年余就诊.", "个案病例报告"),
        ("海岛国家是特殊的经济地理单元，文章比较了42个海岛国家的经济增长速度。", "宏观经济与政策评论"),
        ("2007年11月,全国平均气温为3.1℃,较常年同期偏高1.0℃.全国平均降水量为10.1mm.", "无研究或技术内容"),
    ],
)  # fmt: skip
def test_records_that_are_not_technology_are_left_out_with_their_rule(text, rule):
    found = catalogue.verdict(text)
    assert not found.keep and found.rule == rule
    assert found.evidence in text or found.evidence == "—"  # the catch-all quotes no words


def test_technology_work_overrules_a_humanities_or_economics_word():
    text = "“丹法鲆”是“十一五”863计划课题之一，选育出生长快、抗病的大菱鲆新品种。"
    assert catalogue.verdict(text).keep
    assert catalogue.verdict("提出了一种基于深度学习的锂电池热失控预警方法。").keep


def test_the_committed_report_lists_what_the_rules_leave_out(papers):
    assert REJECTED_REPORT.read_text("utf-8") == catalogue.report(papers), (
        "run `flask --app market catalogue-report` and commit seed_data/catalogue/REJECTED.md"
    )
    dropped = [r for r in papers if not catalogue.verdict(r["text"], r["title"]).keep]
    assert 0 < len(dropped) < len(papers) // 20  # a cleaning, not a cull
    assert all(r["_id"] in REJECTED_REPORT.read_text("utf-8") for r in dropped)


@pytest.mark.parametrize(
    "fragment",
    [
        "［本刊讯］为进一步提高刊物的国内外影响力",
        "＞r0.01,38说明线形相关关系高度显著",
        "随着科技的发展,化学与物理电源",
        "基于GPRS的农村配电网馈线自动化系统的",
        "与校核等方面进行了详细的论述，",
        "硼掺杂对Eu2+",
        "溶解氧及其对水产养殖的意义(下",
    ],
)
def test_sentence_fragments_do_not_read_as_titles(fragment):
    assert not catalogue.reads_as_title(fragment)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "针对锂电池储能电站的安全问题,提出了一种基于多传感器融合的热失控预警方法.实验表明……",
            "基于多传感器融合的热失控预警方法",
        ),
        ("采用先进的传感器技术,设计了一种经济型的智能大棚监控系统.通过自适应算法……", "经济型的智能大棚监控系统"),
        ("对坎尔其水库坝面溢洪道进行水工模型试验,测得局部负压.", "坎尔其水库坝面溢洪道水工模型试验"),
        ("目的 观察疏风解毒胶囊治疗慢性阻塞性肺疾病急性加重期的临床疗效.方法 将80例患者分组.", "疏风解毒胶囊治疗慢性阻塞性肺疾病急性加重期的临床疗效研究"),
        ("制备了多层结构的白光有机电致发光器件,通过加入空穴阻挡层提高光谱稳定性.", "多层结构的白光有机电致发光器件的制备"),
    ],
)  # fmt: skip
def test_titles_state_the_object_and_method(text, title):
    assert catalogue.title_for({"title": "", "text": text})[0] == title


def test_a_source_title_is_kept_and_a_cut_one_repaired():
    assert catalogue.title_for({"title": "公路隧道火灾事故调查分析", "text": "x"}) == (
        "公路隧道火灾事故调查分析",
        "来源标题",
    )
    cut = {"title": "基于GPRS的农村配电网馈线自动化系统的", "text": "针对配电网……"}
    assert catalogue.title_for(cut)[0] == "基于GPRS的农村配电网馈线自动化系统"


def test_every_kept_paper_gets_a_title_that_reads_as_one(papers):
    titles = [
        catalogue.title_for(r) for r in papers if catalogue.verdict(r["text"], r["title"]).keep
    ]
    bad = [t for t, _ in titles if not catalogue.reads_as_title(t)]
    assert not bad, bad[:10]
    with_source = sum(1 for r in papers if r["title"])
    kept_source = sum(1 for _, source in titles if source == "来源标题")
    assert kept_source >= with_source * 0.9  # the real titles the sources carry stay
    assert len({t for t, _ in titles}) > len(titles) * 0.97  # titles tell listings apart


def test_owners_follow_the_field():
    assert catalogue.owner_for("目的 观察患者的临床疗效,治疗组与对照组", PAPER_ORG) == "org-i-002"
    assert catalogue.owner_for("制备了纳米复合涂层材料,考察其耐磨性", PAPER_ORG) == "org-i-001"
    assert catalogue.owner_for("研究了养殖池塘水质与水产病害的关系", PAPER_ORG) == "org-u-001"
    assert catalogue.owner_for("提出了配电网电压控制算法", PAPER_ORG) == "org-u-002"
    assert catalogue.owner_for("讨论了一个代数结构的性质", PAPER_ORG) == PAPER_ORG


def test_first_sentence_is_the_summary():
    long = "目的：观察某中药方剂治疗慢性胃炎的临床疗效。方法：随机分组。"
    assert first_sentence(long) == "目的：观察某中药方剂治疗慢性胃炎的临床疗效。"
    assert first_sentence("目的：观察疗效。方法：随机分组。") == "目的：观察疗效。方法：随机分组。"
    assert first_sentence("测量精度0.5mm,误差小.结果表明可行.") == "测量精度0.5mm,误差小."
    assert first_sentence("甲" * 200).endswith("…") and len(first_sentence("甲" * 200)) == 121
    assert first_sentence(None) == ""


def test_seeded_papers_are_technology_under_titles_with_plausible_owners(app, client):
    seed_all(outcome_limit=300)
    db.session.commit()
    kept_ids = {
        r["_id"] for r in paper_catalogue()[:300] if catalogue.verdict(r["text"], r["title"]).keep
    }
    rows = db.session.query(Outcome).filter(Outcome.key.like("demo-o-csl%")).all()
    assert {o.source_ref for o in rows} == kept_ids
    assert all(catalogue.reads_as_title(o.title) for o in rows)
    owners = {o.organization.key for o in rows}
    assert {PAPER_ORG, "org-i-002", "org-u-001"} <= owners
    assert all(o.province == o.organization.province for o in rows)
    one = next(o for o in rows if o.abstract and len(o.abstract) > 150)
    answer = client.get(f"/api/v1/outcomes/{one.id}").get_json()
    assert answer["summary"] == first_sentence(one.abstract)
    page = client.get("/outcomes?q=" + one.title[:6]).get_data(as_text=True)
    assert first_sentence(one.abstract) in page or one.title in page


def test_the_catalogue_file_is_unchanged_by_cleaning():
    # the benchmarks read their own corpora; the demo keeps every source record on disk
    with PAPERS.open(encoding="utf-8") as f:
        lines = f.readlines()
    assert len(lines) == 5677 and json.loads(lines[0])["_id"] == "csl00007"
    assert db is not None and Organization is not None
